// libFuzzer target for the Dockerfile parser, stage splitting and every typed decoder
// (build/dockerfile.h, build/instructions.h): no input may crash them, and what is accepted
// must hold the invariants the builder relies on.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "build/dockerfile.h"
#include "build/instructions.h"
#include "build/shell_words.h"

using namespace berth::build;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

std::optional<std::string> lookup(std::string_view name) {
  if (name == "A") return std::string("a b");
  if (name == "E") return std::string();
  if (name == "P") return std::string("80");
  return std::nullopt;
}

void decode(const Instruction& ins, char escape) {
  EnvLookup env = lookup;
  const std::vector<std::string> sh = {"/bin/sh", "-c"};
  const std::string& k = ins.keyword;
  require(ins.start.line >= 1 && ins.start.column >= 1 && ins.end.line >= ins.start.line, "bad position");
  if (k == "ENV") (void)decode_env(ins, env, escape);
  else if (k == "LABEL") (void)decode_label(ins, env, escape);
  else if (k == "ARG") (void)decode_arg(ins, env, escape);
  else if (k == "EXPOSE") {
    auto r = decode_expose(ins, env, escape);
    if (r) require(r->size() <= 65536 * 3, "too many ports");
  } else if (k == "COPY" || k == "ADD") (void)decode_copy(ins, env, escape);
  else if (k == "RUN") {
    auto r = decode_run(ins, env, escape, sh);
    if (r) require(!r->cmd.empty(), "RUN accepted without a command");
  } else if (k == "CMD" || k == "ENTRYPOINT") (void)decode_command(ins, sh);
  else if (k == "SHELL") (void)decode_shell(ins);
  else if (k == "HEALTHCHECK") (void)decode_healthcheck(ins);
  else if (k == "USER") (void)decode_user(ins, env, escape);
  else if (k == "WORKDIR") (void)decode_workdir(ins, env, escape);
  else if (k == "STOPSIGNAL") (void)decode_stopsignal(ins, env, escape);
  else if (k == "MAINTAINER") (void)decode_maintainer(ins);
  else if (k == "VOLUME") (void)decode_volume(ins, env, escape);
  else if (k == "ONBUILD") {
    (void)decode_onbuild(ins);
    for (const auto& inner : ins.onbuild) decode(inner, escape);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  EnvLookup env = lookup;
  (void)expand_words(text, env, '\\');
  (void)expand_word(text, env, '`');
  auto df = parse_dockerfile(text);
  if (!df) {
    require(df.error().message().rfind("Dockerfile:", 0) == 0, "error without a position");
    return 0;
  }
  require(!df->instructions.empty(), "accepted a file with no instructions");
  std::vector<ArgDecl> metas;
  auto stages = split_stages(*df, {{"TAG", "1"}}, &metas);
  if (stages) {
    for (const auto& st : *stages) require(!st.base.empty(), "stage without a base");
  }
  for (const auto& ins : df->instructions) decode(ins, df->escape);
  return 0;
}
