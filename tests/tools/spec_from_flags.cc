// spec_from_flags: writes the config.json berth would run for a set of `docker run` flags,
// so system tests can run it with `berth runtime run` and check from inside the container.
//
//   spec_from_flags --bundle DIR --image-config FILE --id ID --init-binary PATH
//                   [--volumes-dir DIR] [--secrets-dir DIR] [RUN FLAGS...] IMAGE [CMD...]
//
// The rootfs is DIR/rootfs; named and anonymous volumes become directories under
// --volumes-dir. Errors are printed as berth prints them ("Error: ...") with exit 125.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "engine/container_spec.h"
#include "engine/run_options.h"
#include "oci/image_spec.h"

using namespace berth;
using namespace berth::engine;

namespace {

int fail(const Error& e) {
  std::cerr << "Error: " << e.what() << "\n";
  return 125;
}

// Flags that take a value.
bool takes_value(std::string_view f) {
  static constexpr std::string_view kFlags[] = {
      "-e", "--env", "--env-file", "-v", "--volume", "--mount", "--tmpfs", "-u", "--user",
      "--group-add", "--cap-add", "--cap-drop", "--security-opt", "-m", "--memory",
      "--memory-swap", "--cpus", "--cpuset-cpus", "--pids-limit", "--ulimit", "-w", "--workdir",
      "--entrypoint", "-h", "--hostname", "--security-profile", "--secret", "-l", "--label",
      "--log-opt", "--restart", "--name", "--stop-signal", "--stop-timeout", "--health-cmd",
      "--health-interval", "--health-timeout", "--health-retries", "--health-start-period",
      "--bundle", "--image-config", "--id", "--init-binary", "--volumes-dir", "--secrets-dir"};
  for (auto k : kFlags) {
    if (k == f) return true;
  }
  return false;
}

struct Tool {
  std::string bundle, image_config, id = "0123456789abcdef", init_binary, volumes_dir,
      secrets_dir;
};

Result<void> apply(Tool& t, RunOptions& o, const std::string& f, const std::string& v) {
  if (f == "--bundle") t.bundle = v;
  else if (f == "--image-config") t.image_config = v;
  else if (f == "--id") t.id = v;
  else if (f == "--init-binary") t.init_binary = v;
  else if (f == "--volumes-dir") t.volumes_dir = v;
  else if (f == "--secrets-dir") t.secrets_dir = v;
  else if (f == "-e" || f == "--env") {
    if (auto kv = TRY(parse_env_flag(v))) o.env.push_back(*kv);
  } else if (f == "--env-file") {
    for (auto& kv : TRY(parse_env_file(v))) o.env.push_back(kv);
  } else if (f == "-v" || f == "--volume") o.mounts.push_back(TRY(parse_volume_flag(v)));
  else if (f == "--mount") o.mounts.push_back(TRY(parse_mount_flag(v)));
  else if (f == "--tmpfs") o.mounts.push_back(TRY(parse_tmpfs_flag(v)));
  else if (f == "-u" || f == "--user") {
    TRY(parse_user(v));
    o.user = v;
  } else if (f == "--group-add") o.group_add.push_back(v);
  else if (f == "--cap-add") o.cap_add.push_back(v);
  else if (f == "--cap-drop") o.cap_drop.push_back(v);
  else if (f == "--security-opt") TRY(parse_security_opt(v, o));
  else if (f == "-m" || f == "--memory") o.memory = TRY(parse_memory_size(v, "-m, --memory"));
  else if (f == "--memory-swap") {
    o.memory_swap = v == "-1" ? -1 : TRY(parse_memory_size(v, "--memory-swap"));
  } else if (f == "--cpus") o.nano_cpus = TRY(parse_cpus(v));
  else if (f == "--cpuset-cpus") o.cpuset_cpus = v;
  else if (f == "--pids-limit") o.pids_limit = TRY(parse_int(v, "--pids-limit"));
  else if (f == "--ulimit") o.ulimits.push_back(TRY(parse_ulimit(v)));
  else if (f == "-w" || f == "--workdir") o.workdir = v;
  else if (f == "--entrypoint") o.entrypoint = v;
  else if (f == "-h" || f == "--hostname") o.hostname = v;
  else if (f == "--security-profile") o.security_profile = TRY(parse_security_profile(v));
  else if (f == "--secret") o.secrets.push_back(TRY(parse_secret_flag(v)));
  else if (f == "-l" || f == "--label") TRY(parse_label(v, o.labels));
  else if (f == "--log-opt") TRY(parse_log_opt(v, o.log));
  else if (f == "--restart") o.restart = TRY(parse_restart(v));
  else if (f == "--name") o.name = v;
  else if (f == "--stop-signal") o.stop_signal = v;
  else if (f == "--stop-timeout") o.stop_timeout = static_cast<int>(TRY(parse_int(v, "--stop-timeout")));
  else if (f == "--health-cmd") o.health.cmd = v;
  else if (f == "--health-interval") o.health.interval = TRY(parse_duration(v, f));
  else if (f == "--health-timeout") o.health.timeout = TRY(parse_duration(v, f));
  else if (f == "--health-start-period") o.health.start_period = TRY(parse_duration(v, f));
  else if (f == "--health-retries") o.health.retries = static_cast<int>(TRY(parse_int(v, f)));
  else return Fail(ErrorCode::InvalidArgument, "unknown flag: {}", f);
  return {};
}

Result<void> run(int argc, char** argv) {
  Tool t;
  RunOptions o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a[0] != '-') break;
    std::string f = a, v;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos && a.starts_with("--")) {
      f = a.substr(0, eq);
      v = a.substr(eq + 1);
      has_value = true;
    }
    if (f == "-t" || f == "--tty") o.tty = true;
    else if (f == "-i" || f == "--interactive") o.interactive = true;
    else if (f == "--read-only") o.read_only = true;
    else if (f == "--privileged") o.privileged = true;
    else if (f == "--no-healthcheck") o.health.none = true;
    else if (f == "--init") o.init = !has_value || v == "true";
    else if (takes_value(f)) {
      if (!has_value) {
        if (i + 1 >= argc) return Fail(ErrorCode::InvalidArgument, "flag needs an argument: {}", f);
        v = argv[++i];
      }
      TRY(apply(t, o, f, v));
    } else {
      return Fail(ErrorCode::InvalidArgument, "unknown flag: {}", f);
    }
  }
  if (i >= argc) return Fail(ErrorCode::InvalidArgument, "an image name is required");
  o.image = argv[i++];
  for (; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (t.bundle.empty()) return Fail(ErrorCode::InvalidArgument, "--bundle is required");

  oci::ImageConfig image;
  if (!t.image_config.empty()) image = TRY(oci::parse_image_config(TRY(read_file(t.image_config))));

  ContainerSpecInputs in;
  in.id = t.id;
  in.rootfs = absolute_path(t.bundle + "/rootfs");
  in.init_binary = t.init_binary;
  in.secrets_dir = t.secrets_dir;
  int anon = 0;
  for (const auto& m : o.mounts) {
    std::string src;
    if (m.kind == MountKind::Bind) {
      src = m.source;
    } else if (m.kind == MountKind::Volume) {
      if (t.volumes_dir.empty()) return Fail(ErrorCode::InvalidArgument, "--volumes-dir is required for volumes");
      src = t.volumes_dir + "/" + (m.source.empty() ? "anon-" + std::to_string(anon++) : m.source);
      TRY(make_dirs(src));
    }
    in.mount_sources.push_back(src);
  }
  oci::Spec spec = TRY(build_container_spec(o, image, in));
  TRY(write_file_atomic(t.bundle + "/config.json", oci::spec_to_json(spec)));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto r = run(argc, argv);
  if (!r) return fail(r.error());
  return 0;
}
