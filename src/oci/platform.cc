// Platforms ("linux/arm64/v8"): the host's, --platform parsing with Docker's normalisation of
// architecture names, and matching a wanted platform against an index entry.
#include <sys/utsname.h>

#include "base/strings.h"
#include "oci/image_spec.h"

namespace berth::oci {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A component as containerd accepts it: letters, digits, '_' and '-'.
bool valid_component(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool known_os(std::string_view os) {
  for (std::string_view k : {"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios",
                             "js", "linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1",
                             "windows"})
    if (os == k) return true;
  return false;
}

// Go's architecture name for arch and the variant it implies (Docker's normalisation); the
// given variant is normalised too ("8" → "v8"). Unknown architectures pass through lowercased.
void normalize_arch(std::string& arch, std::string& variant) {
  arch = lower(arch);
  variant = lower(variant);
  if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "i386" || arch == "i686" || arch == "386") {
    arch = "386";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant.empty() || variant == "8" || variant == "v8") variant = "v8";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm" || arch == "armv7l" || arch == "armv6l" || arch == "armv5l") {
    if (arch != "arm") variant = std::string("v") + arch[4];
    arch = "arm";
    if (variant.empty() || variant == "7") variant = "v7";
    if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  }
}

bool is_known_arch(std::string_view arch) {
  std::string a(arch), v;
  normalize_arch(a, v);
  for (std::string_view k : {"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64",
                             "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"})
    if (a == k) return true;
  return false;
}

}  // namespace

std::string Platform::to_string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform host_platform() {
  Platform p;
  p.os = "linux";
  struct utsname u {};
  std::string machine = ::uname(&u) == 0 ? u.machine : "";
  if (machine.empty()) {
#if defined(__x86_64__)
    p.architecture = "amd64";
#elif defined(__aarch64__)
    p.architecture = "arm64";
#endif
  } else {
    p.architecture = machine;
  }
  normalize_arch(p.architecture, p.variant);
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::InvalidArgument, "invalid platform {}: {}", quote(text), why);
  };
  std::vector<std::string> parts = split(text, '/');
  if (text.empty()) return bad("empty");
  if (parts.size() > 3) return bad("expected os[/arch[/variant]]");
  for (size_t i = 0; i < parts.size(); ++i) {
    static constexpr const char* kWhat[] = {"operating system", "architecture", "variant"};
    if (parts[i].empty()) return bad(fmt::format("empty {}", kWhat[i]));
    if (!valid_component(parts[i]))
      return bad(fmt::format("{} {} has characters other than letters, digits, '_' and '-'",
                             kWhat[i], quote(parts[i])));
  }
  Platform p;
  if (parts.size() == 1) {
    std::string only = lower(parts[0]);
    Platform host = host_platform();
    if (known_os(only)) {
      p = host;
      p.os = only;
    } else if (is_known_arch(only)) {
      p.os = host.os;
      p.architecture = only;
      normalize_arch(p.architecture, p.variant);
    } else {
      return bad("unknown operating system or architecture");
    }
    return p;
  }
  p.os = lower(parts[0]);
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  normalize_arch(p.architecture, p.variant);
  return p;
}

bool platform_matches(const Platform& wanted, const Platform& have) {
  if (wanted.os != have.os || wanted.architecture != have.architecture) return false;
  if (wanted.variant.empty()) return true;
  std::string have_variant = have.variant;
  if (have.architecture == "arm64" && have_variant.empty()) have_variant = "v8";
  if (have.architecture == "arm" && have_variant.empty()) have_variant = "v7";
  return wanted.variant == have_variant;
}

Platform ImageConfig::platform() const {
  Platform p;
  p.architecture = architecture;
  p.os = os;
  p.variant = variant;
  p.os_version = os_version;
  return p;
}

}  // namespace berth::oci
