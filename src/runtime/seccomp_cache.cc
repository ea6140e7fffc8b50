#include "runtime/seccomp_cache.h"

#include <seccomp.h>
#include <sys/utsname.h>

#include <cstring>

#include "base/digest.h"
#include "base/fs.h"
#include "base/log.h"

namespace berth::runtime {
namespace {

// A cached program: this header, then `count` sock_filter instructions.
constexpr char kMagic[8] = {'b', 'e', 'r', 't', 'h', 'b', 'p', '1'};
struct Header {
  char magic[8];
  uint32_t flags;
  uint32_t use_listener;
  uint32_t count;
  uint32_t reserved;
};

// What decides the program: the profile (through the spec's own serialiser, so that no field
// can be left out), libseccomp's version, the kernel, and how compile_seccomp drives
// libseccomp (the number after "berth-seccomp-", raised whenever that changes: 3 is the
// binary tree). The JSON comes last, after lines that hold no newline.
std::string cache_key_text(const oci::Seccomp& c) {
  const scmp_version* v = seccomp_version();
  utsname u{};
  (void)::uname(&u);
  return fmt::format("berth-seccomp-3\nlibseccomp {}.{}.{}\n{} {} {}\n{}", v->major, v->minor,
                     v->micro, u.release, u.version, u.machine, oci::seccomp_to_json(c));
}

std::optional<SeccompProgram> decode(std::string_view bytes) {
  Header h;
  if (bytes.size() < sizeof(h)) return std::nullopt;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0 || h.count == 0 || h.count > BPF_MAXINSNS ||
      h.use_listener > 1 || bytes.size() != sizeof(h) + h.count * sizeof(sock_filter))
    return std::nullopt;
  SeccompProgram prog;
  prog.flags = h.flags;
  prog.use_listener = h.use_listener == 1;
  prog.filter.resize(h.count);
  std::memcpy(prog.filter.data(), bytes.data() + sizeof(h), h.count * sizeof(sock_filter));
  return prog;
}

std::string encode(const SeccompProgram& prog) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.flags = prog.flags;
  h.use_listener = prog.use_listener ? 1 : 0;
  h.count = static_cast<uint32_t>(prog.filter.size());
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  out.append(reinterpret_cast<const char*>(prog.filter.data()), prog.filter.size() * sizeof(sock_filter));
  return out;
}

}  // namespace

std::string seccomp_cache_name(const oci::Seccomp& config) { return sha256_of(cache_key_text(config)).hex + ".bpf"; }

Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& config, const std::string& dir) {
  if (dir.empty()) return compile_seccomp(config);
  std::string path = dir + "/" + seccomp_cache_name(config);
  if (auto bytes = read_file(path)) {
    if (auto prog = decode(*bytes)) return std::move(*prog);
  }
  SeccompProgram prog = TRY(compile_seccomp(config));
  auto saved = [&]() -> Result<void> {
    TRY(make_dirs(dir, 0700));
    return write_file_atomic(path, encode(prog), 0600);
  }();
  if (!saved) log::debug("seccomp cache: {}", saved.error().what());
  return prog;
}

}  // namespace berth::runtime
