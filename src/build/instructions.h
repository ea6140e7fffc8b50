// Typed Dockerfile instructions, decoded from the syntax tree with the variables in effect at
// that step (the builder supplies them through an EnvLookup). Follows BuildKit's
// instructions/parse.go and which instructions it expands. Every error is InvalidArgument
// "Dockerfile:LINE:COL: KEYWORD: reason".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "build/dockerfile.h"
#include "build/shell_words.h"

namespace berth::build {

// ARG name[=default]; `value` is what it resolves to (build arg, else default), if anything.
struct ArgDecl {
  std::string name;
  std::optional<std::string> default_value;
  std::optional<std::string> value;
  Position pos;
};

// One build stage: FROM and the instructions up to the next FROM.
struct Stage {
  std::string base;      // FROM's image text, meta args expanded
  std::string name;      // AS name, lower-cased; empty when unnamed
  std::string platform;  // --platform, meta args expanded
  std::vector<Instruction> raw;
  int index = 0;
  Instruction from;
};

// Splits the file into stages. ARGs before the first FROM are meta args (returned through
// meta_args when given): build_args override their defaults, and FROM's base and --platform
// are expanded with them (plus BUILDPLATFORM/TARGETPLATFORM... when build_args holds them).
Result<std::vector<Stage>> split_stages(const Dockerfile& df, const std::map<std::string, std::string>& build_args,
                                        std::vector<ArgDecl>* meta_args);

struct KeyValue {
  std::string key, value;
};
// ENV or LABEL pairs, expanded, in order.
struct EnvKv {
  std::vector<KeyValue> pairs;
};
Result<EnvKv> decode_env(const Instruction& ins, const EnvLookup& lookup, char escape);
Result<EnvKv> decode_label(const Instruction& ins, const EnvLookup& lookup, char escape);
// ARG name[=default] ... (names and defaults expanded; `value` left unset).
Result<std::vector<ArgDecl>> decode_arg(const Instruction& ins, const EnvLookup& lookup, char escape);
// EXPOSE: "80/tcp" each, ranges expanded to single ports, sorted and unique.
Result<std::vector<std::string>> decode_expose(const Instruction& ins, const EnvLookup& lookup, char escape);

// An inline file written by a heredoc.
struct InlineFile {
  std::string name;  // the delimiter
  std::string data;  // tabs stripped for <<-; expanded for COPY/ADD when the delimiter was unquoted
  bool expand = true;
};

// COPY or ADD.
struct CopyInstr {
  std::vector<std::string> sources;
  std::vector<InlineFile> inline_sources;  // COPY <<EOF /dst
  std::string dest, from, chown, chmod, checksum;
  bool link = false;
  bool keep_git_dir = false;  // accepted, ignored
};
Result<CopyInstr> decode_copy(const Instruction& ins, const EnvLookup& lookup, char escape);

// RUN --mount=...
struct RunMount {
  enum class Type { Bind, Cache, Tmpfs, Secret, Ssh } type = Type::Bind;
  std::string from, source, target, id;
  std::string sharing;  // cache: shared (default) | private | locked
  bool read_only = true;
  bool required = false;
  std::optional<uint32_t> mode, uid, gid;
  std::optional<std::string> env;  // secret: also expose as this env variable
  int64_t size = 0;  // tmpfs bytes, 0 = unlimited
};
enum class RunNetwork { Default, None, Host };
struct RunInstr {
  std::vector<std::string> cmd;  // shell form: the shell in effect plus the script
  bool shell_form = true;
  std::vector<InlineFile> files;  // heredocs, tabs stripped, never expanded
  std::vector<RunMount> mounts;
  RunNetwork network = RunNetwork::Default;
};
// `shell` is the SHELL in effect (["/bin/sh", "-c"] by default).
Result<RunInstr> decode_run(const Instruction& ins, const EnvLookup& lookup, char escape,
                            const std::vector<std::string>& shell);
// One --mount value (BuildKit's parseMount), values expanded with lookup.
Result<RunMount> parse_run_mount(std::string_view value, const EnvLookup& lookup, char escape);

// CMD or ENTRYPOINT as an exec vector; shell form wraps the text with `shell`.
Result<std::vector<std::string>> decode_command(const Instruction& ins, const std::vector<std::string>& shell);
// SHELL: JSON form only.
Result<std::vector<std::string>> decode_shell(const Instruction& ins);

// HEALTHCHECK as in the image config: test ["NONE"], ["CMD", ...] or ["CMD-SHELL", text].
struct Healthcheck {
  std::vector<std::string> test;
  int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
  int retries = 0;
};
Result<Healthcheck> decode_healthcheck(const Instruction& ins);

// USER, WORKDIR, STOPSIGNAL, MAINTAINER: exactly one argument, expanded (not MAINTAINER).
Result<std::string> decode_user(const Instruction& ins, const EnvLookup& lookup, char escape);
Result<std::string> decode_workdir(const Instruction& ins, const EnvLookup& lookup, char escape);
Result<std::string> decode_stopsignal(const Instruction& ins, const EnvLookup& lookup, char escape);
Result<std::string> decode_maintainer(const Instruction& ins);
// VOLUME: JSON or words, each expanded.
Result<std::vector<std::string>> decode_volume(const Instruction& ins, const EnvLookup& lookup, char escape);
// ONBUILD: the trigger's text as the image config keeps it (heredocs appended).
Result<std::string> decode_onbuild(const Instruction& ins);

// Go's time.ParseDuration ("1m30s", "1.5h", "300ms") in nanoseconds.
Result<int64_t> parse_go_duration(std::string_view text);

}  // namespace berth::build
