// libFuzzer target for the `run`/`create` flag value parsers (engine/run_options.h): the first
// byte picks the parser, the rest is the flag's text. No input may crash one; a value that is
// accepted must hold the invariants the engine relies on (absolute mount targets, sane sizes).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/run_options.h"

using namespace berth::engine;

namespace {

void require(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(text.size()), text.data());
  std::abort();
}

void check_mount(const berth::Result<MountSpec>& m, std::string_view text) {
  if (!m) return;
  require(!m->target.empty() && m->target.front() == '/', "accepted a relative mount target", text);
  require(!m->tmpfs_size || *m->tmpfs_size >= 0, "accepted a negative tmpfs size", text);
}

// --env-file reads a file: give it the text through a memfd.
void env_file(std::string_view text) {
  int fd = ::memfd_create("env-file", MFD_CLOEXEC);
  if (fd < 0) return;
  if (::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
    auto env = parse_env_file("/proc/self/fd/" + std::to_string(fd));
    if (env) {
      for (const auto& kv : *env) require(kv.find('=') != std::string::npos, "env entry without '='", text);
    }
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 17) {
    case 0: check_mount(parse_volume_flag(text), text); break;
    case 1: check_mount(parse_mount_flag(text), text); break;
    case 2: check_mount(parse_tmpfs_flag(text), text); break;
    case 3: {
      auto n = parse_memory_size(text);
      require(!n || *n >= 0, "accepted a negative size", text);
      break;
    }
    case 4: {
      auto n = parse_cpus(text);
      require(!n || *n >= 0, "accepted negative cpus", text);
      break;
    }
    case 5: {
      auto u = parse_ulimit(text);
      require(!u || u->soft <= u->hard, "accepted soft above hard", text);
      break;
    }
    case 6: {
      auto r = parse_restart(text);
      require(!r || r->max_retries >= 0, "accepted negative retries", text);
      break;
    }
    case 7: (void)parse_duration(text, "--health-interval"); break;
    case 8: (void)parse_user(text); break;
    case 9: {
      auto s = parse_secret_flag(text);
      require(!s || !s->name.empty(), "accepted a secret without a name", text);
      break;
    }
    case 10: {
      LogOptions log;
      (void)parse_log_opt(text, log);
      break;
    }
    case 11: {
      RunOptions opts;
      (void)parse_security_opt(text, opts);
      break;
    }
    case 12: {
      std::map<std::string, std::string> labels;
      (void)parse_label(text, labels);
      break;
    }
    case 13: env_file(text); break;
    case 14: {
      std::map<std::string, std::string> sysctls;
      if (parse_sysctl(text, sysctls)) {
        for (const auto& [key, value] : sysctls)
          require(key.find('/') == std::string::npos, "accepted a sysctl key with a '/'", text);
      }
      break;
    }
    case 16: {
      auto d = parse_device_rate(text, "--device-read-bps", (size & 1) != 0);
      require(!d || (d->rate > 0 && !d->path.empty() && d->path.front() == '/'),
              "accepted a device rate without an absolute path and a positive rate", text);
      break;
    }
    case 15: {
      auto n = parse_oom_score_adj(text);
      require(!n || (*n >= -1000 && *n <= 1000), "accepted an oom score outside the range", text);
      break;
    }
  }
  return 0;
}
