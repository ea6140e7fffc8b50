// build_container_spec: berth's defaults, flag overrides, --privileged, the strict profile,
// seccomp profiles, and user resolution inside a temp rootfs (a symlinked /etc/passwd must
// not lead out of it).
#include "engine/container_spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/seccomp_profile.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const oci::Mount* find_mount(const oci::Spec& s, std::string_view dest) {
  for (const auto& m : s.mounts) {
    if (m.destination == dest) return &m;
  }
  return nullptr;
}

// Whether the seccomp filter lets name through unconditionally.
bool allows(const oci::Seccomp& sc, std::string_view name) {
  for (const auto& r : sc.syscalls) {
    if (r.action == "SCMP_ACT_ALLOW" && r.args.empty() && has(r.names, name)) return true;
  }
  return false;
}

class ContainerSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-spec-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    rootfs_ = dir_ / "rootfs";
    fs::create_directories(rootfs_ / "etc");
    write(rootfs_ / "etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "app:x:1000:1000:App:/home/app:/bin/sh\n"
          "svc:x:2000:2000::/srv:/bin/false\n");
    write(rootfs_ / "etc/group",
          "root:x:0:\n"
          "app:x:1000:\n"
          "audio:x:29:app,svc\n"
          "video:x:44:app\n"
          "staff:x:50:\n");
    in_.id = "0123456789abcdef0123";
    in_.rootfs = rootfs_.string();
    in_.init_binary = "/usr/bin/berth";
    image_.config.entrypoint = {"/docker-entrypoint.sh"};
    image_.config.cmd = {"serve", "--port", "80"};
    image_.config.env = {"PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8"};
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  Result<oci::Spec> build() { return build_container_spec(opts_, image_, in_); }

  fs::path dir_, rootfs_;
  RunOptions opts_;
  oci::ImageConfig image_;
  ContainerSpecInputs in_;
};

TEST_F(ContainerSpecTest, SecureDefaults) {
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Process& p = *s->process;
  EXPECT_EQ(p.args, (std::vector<std::string>{"/run/berth-init", "--",
                                              "/docker-entrypoint.sh", "serve", "--port", "80"}));
  EXPECT_EQ(p.cwd, "/");
  EXPECT_FALSE(p.terminal);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.user.gid, 0u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_FALSE(p.oom_score_adj.has_value());
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/opt/bin:/usr/bin", "HOSTNAME=0123456789ab",
                                             "LANG=C.UTF-8", "HOME=/root"}));
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, default_capabilities());
  EXPECT_EQ(p.capabilities->effective, default_capabilities());
  EXPECT_EQ(p.capabilities->permitted, default_capabilities());
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_TRUE(p.capabilities->ambient.empty());
  EXPECT_EQ(default_capabilities().size(), 13u);
  EXPECT_FALSE(has(default_capabilities(), "CAP_NET_RAW"));
  EXPECT_TRUE(has(default_capabilities(), "CAP_NET_BIND_SERVICE"));

  EXPECT_EQ(s->hostname, "0123456789ab");
  EXPECT_EQ(s->root->path, rootfs_.string());
  EXPECT_FALSE(s->root->readonly);
  const oci::Linux& l = *s->linux;
  for (auto t : {oci::NamespaceType::Pid, oci::NamespaceType::Network, oci::NamespaceType::Ipc,
                 oci::NamespaceType::Uts, oci::NamespaceType::Mount, oci::NamespaceType::Cgroup}) {
    EXPECT_TRUE(l.has_namespace(t)) << oci::to_string(t);
  }
  EXPECT_FALSE(l.has_namespace(oci::NamespaceType::User));
  EXPECT_TRUE(has(l.masked_paths, "/proc/kcore"));
  EXPECT_TRUE(has(l.masked_paths, "/proc/keys"));
  EXPECT_TRUE(has(l.masked_paths, "/sys/firmware"));
  EXPECT_TRUE(has(l.readonly_paths, "/proc/sys"));
  EXPECT_TRUE(has(l.readonly_paths, "/proc/sysrq-trigger"));
  ASSERT_TRUE(l.resources && l.resources->pids);
  EXPECT_EQ(l.resources->pids->limit, 4096);
  EXPECT_FALSE(l.resources->memory.has_value());
  ASSERT_TRUE(l.seccomp.has_value());
  EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(l.seccomp->default_errno_ret, 1u);

  const oci::Mount* shm = find_mount(*s, "/dev/shm");
  ASSERT_NE(shm, nullptr);
  EXPECT_TRUE(has(shm->options, "size=67108864"));
  const oci::Mount* sys = find_mount(*s, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_TRUE(has(sys->options, "ro"));
  for (auto d : {"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys/fs/cgroup"}) {
    EXPECT_NE(find_mount(*s, d), nullptr) << d;
  }
  const oci::Mount* init = find_mount(*s, "/run/berth-init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->source, "/usr/bin/berth");
  EXPECT_TRUE(has(init->options, "ro"));
}

TEST_F(ContainerSpecTest, SeccompDefaultBlocksAdministrativeSyscalls) {
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Seccomp& sc = *s->linux->seccomp;
  EXPECT_TRUE(allows(sc, "read"));
  EXPECT_TRUE(allows(sc, "execve"));
  for (auto blocked : {"unshare", "mount", "umount2", "bpf", "perf_event_open", "keyctl",
                       "add_key", "request_key", "userfaultfd", "kexec_load", "init_module",
                       "reboot", "swapon", "ptrace", "setns", "clone3"}) {
    EXPECT_FALSE(allows(sc, blocked)) << blocked;
  }
  // clone only without namespace flags; personality only with the standard personas.
  bool clone_masked = false;
  int personas = 0;
  for (const auto& r : sc.syscalls) {
    if (has(r.names, "clone")) {
      ASSERT_EQ(r.args.size(), 1u);
      EXPECT_EQ(r.args[0].op, "SCMP_CMP_MASKED_EQ");
      EXPECT_EQ(r.args[0].value, 0x7E020000u);
      clone_masked = true;
    }
    if (has(r.names, "personality")) ++personas;
    if (has(r.names, "clone3")) {
      EXPECT_EQ(r.action, "SCMP_ACT_ERRNO");
      EXPECT_EQ(r.errno_ret, 38u);
    }
  }
  EXPECT_TRUE(clone_masked);
  EXPECT_EQ(personas, 5);

  // A capability opens what it governs.
  opts_.cap_add = {"SYS_ADMIN", "sys_ptrace"};
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(allows(*s->linux->seccomp, "unshare"));
  EXPECT_TRUE(allows(*s->linux->seccomp, "mount"));
  EXPECT_TRUE(allows(*s->linux->seccomp, "ptrace"));
  EXPECT_TRUE(allows(*s->linux->seccomp, "clone"));
}

TEST_F(ContainerSpecTest, CommandEnvWorkdirOverrides) {
  opts_.entrypoint = "/bin/sh";
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  // --entrypoint resets the image CMD.
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"/run/berth-init", "--", "/bin/sh"}));

  opts_.entrypoint.reset();
  opts_.command = {"echo", "hi"};
  opts_.init = false;
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"/docker-entrypoint.sh", "echo", "hi"}));
  EXPECT_EQ(find_mount(*s, "/run/berth-init"), nullptr);

  opts_.entrypoint = "";
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"echo", "hi"}));

  opts_.command.clear();
  EXPECT_EQ(err(build()),
            "no command specified: the image has no ENTRYPOINT or CMD; give a command after the "
            "image or --entrypoint");

  opts_.command = {"true"};
  opts_.env = {"LANG=en_US", "EXTRA=1", "HOME=/data"};
  opts_.tty = true;
  opts_.hostname = "web";
  image_.config.working_dir = "/srv";
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(s->process->terminal);
  EXPECT_EQ(s->process->cwd, "/srv");
  EXPECT_EQ(s->hostname, "web");
  EXPECT_EQ(s->process->env,
            (std::vector<std::string>{"PATH=/opt/bin:/usr/bin", "HOSTNAME=web", "TERM=xterm",
                                      "LANG=en_US", "EXTRA=1", "HOME=/data"}));
  opts_.workdir = "/tmp";
  EXPECT_EQ(build()->process->cwd, "/tmp");
  opts_.workdir = "tmp";
  EXPECT_EQ(err(build()),
            "-w, --workdir: the working directory 'tmp' is invalid, it needs to be an absolute path");
  opts_.workdir.clear();
  image_.config.env.clear();
  EXPECT_EQ(build()->process->env[0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST_F(ContainerSpecTest, CapabilityFlags) {
  opts_.cap_add = {"NET_RAW"};
  opts_.cap_drop = {"CAP_CHOWN", "mknod"};
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const auto& eff = s->process->capabilities->effective;
  EXPECT_TRUE(has(eff, "CAP_NET_RAW"));
  EXPECT_FALSE(has(eff, "CAP_CHOWN"));
  EXPECT_FALSE(has(eff, "CAP_MKNOD"));
  EXPECT_EQ(eff.size(), 12u);

  opts_.cap_add = {"chown"};
  opts_.cap_drop = {"ALL"};
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->capabilities->bounding, std::vector<std::string>{"CAP_CHOWN"});

  opts_.cap_add = {"ALL"};
  opts_.cap_drop = {"SYS_ADMIN"};
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(has(s->process->capabilities->bounding, "CAP_SYS_MODULE"));
  EXPECT_FALSE(has(s->process->capabilities->bounding, "CAP_SYS_ADMIN"));

  opts_.cap_add = {"FLY"};
  opts_.cap_drop.clear();
  EXPECT_EQ(err(build()),
            "invalid argument \"FLY\" for \"--cap-add\" flag: unknown capability: \"CAP_FLY\"");
}

TEST_F(ContainerSpecTest, Privileged) {
  opts_.privileged = true;
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(has(s->process->capabilities->effective, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(has(s->process->capabilities->effective, "CAP_NET_RAW"));
  EXPECT_GE(s->process->capabilities->effective.size(), 38u);
  EXPECT_FALSE(s->linux->seccomp.has_value());
  EXPECT_TRUE(s->linux->masked_paths.empty());
  EXPECT_TRUE(s->linux->readonly_paths.empty());
  ASSERT_EQ(s->linux->resources->devices.size(), 1u);
  EXPECT_TRUE(s->linux->resources->devices[0].allow);
  EXPECT_TRUE(has(find_mount(*s, "/sys")->options, "rw"));
}

TEST_F(ContainerSpecTest, SecurityOptions) {
  opts_.no_new_privileges = false;
  opts_.seccomp_profile = "unconfined";
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_FALSE(s->process->no_new_privileges);
  EXPECT_FALSE(s->linux->seccomp.has_value());

  std::string profile = (dir_ / "profile.json").string();
  write(profile, R"({"defaultAction": "SCMP_ACT_ALLOW",
                    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                                 {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                                  "excludes": {"caps": ["CAP_FOWNER"]}}]})");
  opts_.seccomp_profile = profile;
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Seccomp& sc = *s->linux->seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ALLOW");
  EXPECT_EQ(sc.architectures.size(), 2u);
  ASSERT_EQ(sc.syscalls.size(), 1u);  // chmod is excluded: the container holds CAP_FOWNER
  EXPECT_EQ(sc.syscalls[0].names, std::vector<std::string>{"mkdir"});
  EXPECT_EQ(sc.syscalls[0].errno_ret, 13u);

  write(profile, R"({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                                 {"names": ["rmdir"], "action": "SCMP_ACT_MAYBE"}]})");
  EXPECT_EQ(err(build()), "--security-opt seccomp=" + profile +
                              ": syscalls[1].action: unknown action \"SCMP_ACT_MAYBE\"");
  write(profile, R"({"syscalls": []})");
  EXPECT_EQ(err(build()), "--security-opt seccomp=" + profile + ": defaultAction: must be set");
  write(profile, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"],
                    "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]})");
  EXPECT_EQ(err(build()), "--security-opt seccomp=" + profile +
                              ": syscalls[0].args[0].op: unknown operator \"EQ\"");
}

TEST_F(ContainerSpecTest, UserResolution) {
  opts_.user = "app";
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->user.uid, 1000u);
  EXPECT_EQ(s->process->user.gid, 1000u);
  EXPECT_EQ(s->process->user.additional_gids, (std::vector<uint32_t>{29, 44}));
  EXPECT_TRUE(has(s->process->env, "HOME=/home/app"));

  opts_.user = "1000:staff";
  opts_.group_add = {"video", "4242"};
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->user.gid, 50u);
  EXPECT_EQ(s->process->user.additional_gids, (std::vector<uint32_t>{44, 4242}));

  opts_.user = "4321:4321";  // numeric: no passwd entry needed
  opts_.group_add.clear();
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->user.uid, 4321u);
  EXPECT_EQ(s->process->user.gid, 4321u);
  EXPECT_TRUE(s->process->user.additional_gids.empty());

  opts_.user = "nobody";
  EXPECT_EQ(err(build()), "unable to find user nobody: no matching entries in passwd file");
  opts_.user = "app:wheel";
  EXPECT_EQ(err(build()), "unable to find group wheel: no matching entries in group file");
  opts_.user = "app";
  opts_.group_add = {"wheel"};
  EXPECT_EQ(err(build()), "--group-add \"wheel\": unable to find group wheel");

  // The image's USER applies when -u is not given.
  opts_.user.reset();
  opts_.group_add.clear();
  image_.config.user = "svc";
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->user.uid, 2000u);
  EXPECT_EQ(s->process->user.additional_gids, std::vector<uint32_t>{29});
}

TEST_F(ContainerSpecTest, SymlinkedPasswdStaysInsideTheRoot) {
  // /etc/passwd points at a file outside the rootfs by its host path: resolved inside the
  // root, the link leads to <rootfs>/<host path>, which does not exist.
  fs::create_directories(dir_ / "outside");
  write(dir_ / "outside/passwd", "evil:x:4242:4242::/:/bin/sh\n");
  fs::remove(rootfs_ / "etc/passwd");
  fs::create_symlink(dir_ / "outside/passwd", rootfs_ / "etc/passwd");
  opts_.user = "evil";
  EXPECT_EQ(err(build()), "unable to find user evil: no matching entries in passwd file");

  // A relative link climbing out is clamped at the root as well.
  fs::remove(rootfs_ / "etc/passwd");
  fs::create_symlink("../../../../../../../../" + (dir_ / "outside/passwd").string(),
                     rootfs_ / "etc/passwd");
  EXPECT_FALSE(build().has_value());

  // A link that stays inside the root is followed.
  fs::remove(rootfs_ / "etc/passwd");
  write(rootfs_ / "etc/passwd.real", "evil:x:4242:4242::/:/bin/sh\n");
  fs::create_symlink("/etc/passwd.real", rootfs_ / "etc/passwd");
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->process->user.uid, 4242u);
}

TEST_F(ContainerSpecTest, StrictProfile) {
  opts_.security_profile = SecurityProfile::Strict;
  EXPECT_EQ(err(build()), "strict profile: a memory limit is required; add --memory (e.g. --memory 512m)");
  opts_.memory = 256 << 20;
  EXPECT_EQ(err(build()),
            "strict profile: a pids limit is required; add --pids-limit (e.g. --pids-limit 256)");
  opts_.pids_limit = 100;
  EXPECT_EQ(err(build()),
            "strict profile: the container would run as root; add USER to the image or pass --user");
  opts_.user = "app";
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(s->root->readonly);
  EXPECT_TRUE(s->process->capabilities->bounding.empty());
  EXPECT_TRUE(s->process->capabilities->effective.empty());
  const oci::Mount* tmp = find_mount(*s, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->type, "tmpfs");
  EXPECT_EQ(s->linux->resources->pids->limit, 100);

  opts_.cap_add = {"NET_ADMIN"};
  EXPECT_EQ(err(build()), "strict profile: the container runs without capabilities; remove --cap-add");
  opts_.cap_add.clear();
  opts_.privileged = true;
  EXPECT_NE(err(build()).find("strict profile: --privileged"), std::string::npos);
}

TEST_F(ContainerSpecTest, MountsAndSecrets) {
  opts_.mounts = {*parse_volume_flag("/host/data:/data/sub:ro"), *parse_volume_flag("cache:/data"),
                  *parse_tmpfs_flag("/scratch:size=1m,exec"), *parse_mount_flag("type=tmpfs,dst=/dev/shm")};
  in_.mount_sources = {"/host/data", "/var/lib/berth/volumes/cache/_data", "", ""};
  opts_.secrets = {*parse_secret_flag("db"), *parse_secret_flag("tls,target=/etc/tls.key")};
  in_.secrets_dir = "/run/berth/secrets/c1";
  in_.hosts_path = "/var/lib/berth/containers/c1/hosts";
  opts_.read_only = true;
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_TRUE(s->root->readonly);
  EXPECT_EQ(find_mount(*s, "/tmp"), nullptr);  // only the strict profile adds one

  const oci::Mount* sub = find_mount(*s, "/data/sub");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->source, "/host/data");
  EXPECT_EQ(sub->options, (std::vector<std::string>{"rbind", "ro", "rprivate"}));
  const oci::Mount* data = find_mount(*s, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->source, "/var/lib/berth/volumes/cache/_data");
  // Parents are mounted before children.
  EXPECT_LT(data - s->mounts.data(), sub - s->mounts.data());
  const oci::Mount* scratch = find_mount(*s, "/scratch");
  ASSERT_NE(scratch, nullptr);
  EXPECT_EQ(scratch->options, (std::vector<std::string>{"rw", "nosuid", "nodev", "exec", "size=1048576"}));
  // The user's /dev/shm replaces the default one.
  int shm = 0;
  for (const auto& m : s->mounts) shm += m.destination == "/dev/shm";
  EXPECT_EQ(shm, 1);
  EXPECT_EQ(find_mount(*s, "/dev/shm")->source, "tmpfs");

  const oci::Mount* db = find_mount(*s, "/run/secrets/db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->source, "/run/berth/secrets/c1/db");
  EXPECT_TRUE(has(db->options, "ro"));
  ASSERT_NE(find_mount(*s, "/etc/tls.key"), nullptr);
  ASSERT_NE(find_mount(*s, "/etc/hosts"), nullptr);
  EXPECT_EQ(find_mount(*s, "/etc/resolv.conf"), nullptr);

  opts_.mounts.push_back(*parse_volume_flag("/other:/data"));
  in_.mount_sources.push_back("/other");
  EXPECT_EQ(err(build()), "duplicate mount point: /data");
}

TEST_F(ContainerSpecTest, Resources) {
  opts_.memory = 512 << 20;
  opts_.memory_swap = 1 << 30;
  opts_.nano_cpus = *parse_cpus("1.5");
  opts_.cpuset_cpus = "0-1";
  opts_.pids_limit = -1;
  opts_.ulimits = {*parse_ulimit("nofile=1024:2048"), *parse_ulimit("nproc=100")};
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Resources& r = *s->linux->resources;
  EXPECT_EQ(r.memory->limit, 512 << 20);
  EXPECT_EQ(r.memory->swap, 1 << 30);
  EXPECT_EQ(r.cpu->quota, 150000);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  EXPECT_EQ(r.pids->limit, -1);
  EXPECT_EQ(s->process->rlimits,
            (std::vector<oci::Rlimit>{{"RLIMIT_NOFILE", 2048, 1024}, {"RLIMIT_NPROC", 100, 100}}));

  opts_.memory = 1024;
  EXPECT_EQ(err(build()), "--memory: the minimum memory limit allowed is 6MB");
  opts_.memory = 512 << 20;
  opts_.memory_swap = 1 << 20;
  EXPECT_EQ(err(build()),
            "--memory-swap: the memory+swap limit must be larger than the memory limit (--memory)");
  opts_.memory_swap.reset();
  opts_.cpuset_cpus = "0-a";
  EXPECT_EQ(err(build()),
            "invalid argument \"0-a\" for \"--cpuset-cpus\" flag: expected a list like 0-3,5");
  opts_.cpuset_cpus.clear();
  opts_.ulimits = {*parse_ulimit("nofile=1"), *parse_ulimit("nofile=2")};
  EXPECT_EQ(err(build()), "invalid argument \"nofile\" for \"--ulimit\" flag: nofile is given twice");
}

TEST_F(ContainerSpecTest, SharesReservationShmSysctlsOomScoreAndDomainname) {
  auto s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Mount* shm = find_mount(*s, "/dev/shm");
  ASSERT_NE(shm, nullptr);
  EXPECT_NE(std::find(shm->options.begin(), shm->options.end(), "size=67108864"),
            shm->options.end());
  EXPECT_FALSE(s->process->oom_score_adj.has_value());

  opts_.cpu_shares = 512;
  opts_.cpu_period = 50000;
  opts_.cpu_quota = 25000;
  opts_.memory_reservation = 32 << 20;
  opts_.cpuset_mems = "0";
  opts_.shm_size = 16 << 20;
  ASSERT_TRUE(parse_sysctl("net.core.somaxconn=1024", opts_.sysctls).has_value());
  opts_.oom_score_adj = 500;
  opts_.domainname = "example.org";
  s = build();
  ASSERT_TRUE(s.has_value()) << err(s);
  const oci::Resources& r = *s->linux->resources;
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->period, 50000u);
  EXPECT_EQ(r.cpu->quota, 25000);
  EXPECT_EQ(r.cpu->mems, "0");
  EXPECT_EQ(r.memory->reservation, 32 << 20);
  EXPECT_FALSE(r.memory->limit.has_value());
  shm = find_mount(*s, "/dev/shm");
  ASSERT_NE(shm, nullptr);
  EXPECT_NE(std::find(shm->options.begin(), shm->options.end(), "size=16777216"),
            shm->options.end());
  EXPECT_EQ(s->linux->sysctl, (std::map<std::string, std::string>{{"net.core.somaxconn", "1024"}}));
  EXPECT_EQ(s->process->oom_score_adj, 500);
  EXPECT_EQ(s->domainname, "example.org");

  opts_.nano_cpus = 1000000000;
  EXPECT_EQ(err(build()), "Conflicting options: --cpus and --cpu-period cannot both be set");
  opts_.cpu_period.reset();
  EXPECT_EQ(err(build()), "Conflicting options: --cpus and --cpu-quota cannot both be set");
  opts_.nano_cpus.reset();
  for (int64_t quota : {999, -2}) {
    opts_.cpu_quota = quota;
    EXPECT_EQ(err(build()),
              "--cpu-quota: the CFS quota cannot be less than 1ms (1000); -1 is no limit");
  }
  opts_.cpu_quota.reset();
  opts_.network.mode = "host";
  EXPECT_EQ(err(build()),
            "invalid argument \"net.core.somaxconn=1024\" for \"--sysctl\" flag: the container "
            "shares another network namespace (--network host); net.* sysctls would change it");
  opts_.network.mode = "bridge";
  opts_.memory = 16 << 20;
  EXPECT_EQ(err(build()),
            "--memory-reservation: the memory limit (--memory) cannot be less than "
            "the memory reservation");
  opts_.memory.reset();
  opts_.shm_size = 0;
  EXPECT_EQ(err(build()), "--shm-size must be greater than 0");
}

TEST_F(ContainerSpecTest, HealthValidation) {
  opts_.health.none = true;
  opts_.health.cmd = "true";
  EXPECT_EQ(err(build()), "--no-healthcheck conflicts with --health-* options");
  opts_.health = {};
  opts_.health.interval = -1;
  EXPECT_EQ(err(build()), "--health-interval cannot be negative");
  opts_.health.interval = 10;
  EXPECT_EQ(err(build()), "--health-interval cannot be less than 1ms");
  opts_.health.interval.reset();
  opts_.health.retries = -2;
  EXPECT_EQ(err(build()), "--health-retries cannot be negative");
}

TEST(SeccompProfile, ResolveByArchAndKernel) {
  SeccompProfile p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.arch_map = {{"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86"}}, {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}}};
  SeccompProfileRule amd;
  amd.names = {"arch_prctl"};
  amd.action = "SCMP_ACT_ALLOW";
  amd.include_arches = {"amd64"};
  SeccompProfileRule newk;
  newk.names = {"fancy"};
  newk.action = "SCMP_ACT_ALLOW";
  newk.min_kernel = "5.10";
  p.rules = {amd, newk};
  auto x = resolve_seccomp_profile(p, {}, "amd64", "6.1.0-18-amd64");
  EXPECT_EQ(x.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  EXPECT_EQ(x.syscalls.size(), 2u);
  auto a = resolve_seccomp_profile(p, {}, "arm64", "4.19.0");
  EXPECT_EQ(a.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(a.syscalls.empty());
}

}  // namespace
}  // namespace berth::engine
