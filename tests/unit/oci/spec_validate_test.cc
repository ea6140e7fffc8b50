#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "oci/runtime_spec.h"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

// A small valid spec each test breaks in one place.
Spec valid_spec() {
  Spec s;
  s.oci_version = "1.1.0";
  s.process = Process{};
  s.process->args = {"sh"};
  s.process->cwd = "/";
  s.root = Root{"rootfs", false};
  s.linux = Linux{};
  s.linux->namespaces = {{NamespaceType::Pid, ""}, {NamespaceType::Mount, ""}};
  return s;
}

std::string error_of(const std::function<void(Spec&)>& change) {
  Spec s = valid_spec();
  change(s);
  auto r = validate_spec(s);
  if (r.has_value()) return "valid";
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  return r.error().what();
}

TEST(SpecValidate, ValidSpecPasses) {
  auto r = validate_spec(valid_spec());
  EXPECT_TRUE(r.has_value()) << r.error().what();
}

TEST(SpecValidate, Version) {
  EXPECT_EQ(error_of([](Spec& s) { s.oci_version.clear(); }),
            "config.json: ociVersion: must be set");
  EXPECT_EQ(error_of([](Spec& s) { s.oci_version = "2.0.0"; }),
            R"(config.json: ociVersion: unsupported version "2.0.0" (berth supports 1.x))");
  EXPECT_EQ(error_of([](Spec& s) { s.oci_version = "10.0"; }),
            R"(config.json: ociVersion: unsupported version "10.0" (berth supports 1.x))");
  EXPECT_EQ(error_of([](Spec& s) { s.oci_version = "1.0.2-dev"; }), "valid");
}

TEST(SpecValidate, Root) {
  EXPECT_EQ(error_of([](Spec& s) { s.root.reset(); }), "config.json: root.path: must be set");
  EXPECT_EQ(error_of([](Spec& s) { s.root->path.clear(); }), "config.json: root.path: must be set");
}

TEST(SpecValidate, Process) {
  EXPECT_EQ(error_of([](Spec& s) { s.process.reset(); }), "config.json: process: must be set");
  EXPECT_EQ(error_of([](Spec& s) { s.process->args.clear(); }),
            "config.json: process.args: must not be empty");
  EXPECT_EQ(error_of([](Spec& s) { s.process->cwd = "work"; }),
            R"(config.json: process.cwd: must be an absolute path, got "work")");
  EXPECT_EQ(error_of([](Spec& s) { s.process->cwd.clear(); }),
            "config.json: process.cwd: must be set to an absolute path");
}

TEST(SpecValidate, SeveralErrorsAreReportedTogether) {
  std::string e = error_of([](Spec& s) {
    s.process->args.clear();
    s.root.reset();
  });
  EXPECT_EQ(e, "config.json: root.path: must be set; process.args: must not be empty");
  e = error_of([](Spec& s) {
    s.process->env.clear();
    s.mounts.resize(50);
  });
  EXPECT_THAT(e, HasSubstr("mounts[19].destination"));
  EXPECT_THAT(e, HasSubstr("; and 30 more"));
}

TEST(SpecValidate, Mounts) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.mounts = {{"/proc", "proc", "proc", {}, {}, {}}, {"tmp", "tmpfs", "tmpfs", {}, {}, {}}};
      }),
      R"(config.json: mounts[1].destination: must be an absolute path, got "tmp" (berth does not accept relative destinations))");
  EXPECT_EQ(error_of([](Spec& s) {
              s.mounts = {{"", "tmpfs", "tmpfs", {}, {}, {}}};
            }),
            "config.json: mounts[0].destination: must be set to an absolute path");
  EXPECT_EQ(error_of([](Spec& s) {
              s.mounts = {{"/a", "bind", "/b", {"bind"}, {{0, 1000, 1}}, {}}};
            }),
            "config.json: mounts[0]: uidMappings and gidMappings must be given together");
  EXPECT_EQ(error_of([](Spec& s) {
              s.mounts = {{"/a", "bind", "/b", {"bind"}, {{0, 1000, 0}}, {{0, 1000, 1}}}};
            }),
            "config.json: mounts[0].uidMappings[0].size: must be greater than 0");
}

TEST(SpecValidate, Namespaces) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->namespaces.push_back({NamespaceType::Pid, ""});
      }),
      R"(config.json: linux.namespaces[2].type: duplicate namespace "pid" (also at linux.namespaces[0]))");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->namespaces.push_back({NamespaceType::Network, "proc/1/ns/net"});
      }),
      R"(config.json: linux.namespaces[2].path: must be an absolute path, got "proc/1/ns/net")");
}

TEST(SpecValidate, UserNamespaceMappings) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->namespaces.push_back({NamespaceType::User, ""});
        s.linux->gid_mappings = {{0, 1000, 1}};
      }),
      "config.json: linux.uidMappings: must not be empty when a new user namespace is created");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->namespaces.push_back({NamespaceType::User, ""});
        s.linux->uid_mappings = {{0, 1000, 1}};
      }),
      "config.json: linux.gidMappings: must not be empty when a new user namespace is created");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->uid_mappings = {{0, 1000, 1}};
            }),
            "config.json: linux.uidMappings: set but linux.namespaces has no user namespace");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->gid_mappings = {{0, 1000, 1}};
            }),
            "config.json: linux.gidMappings: set but linux.namespaces has no user namespace");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->namespaces.push_back({NamespaceType::User, "/proc/1/ns/user"});
            }),
            "valid");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->namespaces.push_back({NamespaceType::User, ""});
              s.linux->uid_mappings = {{0, 4294967295u, 2}};
              s.linux->gid_mappings = {{0, 1000, 1}};
            }),
            "config.json: linux.uidMappings[0]: range of 2 ids starting at containerID 0 / hostID "
            "4294967295 "
            "goes past 4294967295");
}

TEST(SpecValidate, TimeOffsets) {
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->time_offsets["boottime"] = {1, 0};
            }),
            "config.json: linux.timeOffsets: set but linux.namespaces has no time namespace");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->namespaces.push_back({NamespaceType::Time, "/proc/1/ns/time"});
              s.linux->time_offsets["boottime"] = {1, 0};
            }),
            "config.json: linux.timeOffsets: can only be set for a new time namespace, not one "
            "joined by path");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->namespaces.push_back({NamespaceType::Time, ""});
        s.linux->time_offsets["realtime"] = {1, 0};
      }),
      R"(config.json: linux.timeOffsets.realtime: unknown clock "realtime" (expected boottime or monotonic))");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->namespaces.push_back({NamespaceType::Time, ""});
              s.linux->time_offsets["monotonic"] = {-5, 1000000000};
            }),
            "config.json: linux.timeOffsets.monotonic.nanosecs: must be less than 1000000000, got "
            "1000000000");
}

TEST(SpecValidate, Rlimits) {
  EXPECT_EQ(error_of([](Spec& s) {
              s.process->rlimits = {{"RLIMIT_NOFILE", 10, 10}, {"RLIMIT_FOO", 1, 1}};
            }),
            R"(config.json: process.rlimits[1].type: unknown rlimit "RLIMIT_FOO")");
  EXPECT_EQ(error_of([](Spec& s) {
              s.process->rlimits = {{"RLIMIT_NOFILE", 1024, 2048}};
            }),
            "config.json: process.rlimits[0]: soft limit 2048 is greater than hard limit 1024");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.process->rlimits = {
            {"RLIMIT_NOFILE", 10, 10}, {"RLIMIT_CORE", 0, 0}, {"RLIMIT_NOFILE", 5, 5}};
      }),
      R"(config.json: process.rlimits[2].type: duplicate "RLIMIT_NOFILE" (also at process.rlimits[0]))");
  EXPECT_EQ(error_of([](Spec& s) {
              for (const char* r :
                   {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
                    "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                    "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
                    "RLIMIT_SIGPENDING", "RLIMIT_STACK"}) {
                s.process->rlimits.push_back({r, 1, 1});
              }
            }),
            "valid");
}

TEST(SpecValidate, Hooks) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.hooks = Hooks{};
        s.hooks->create_runtime = {{"/bin/ok", {}, {}, std::nullopt},
                                   {"bin/hook", {}, {}, std::nullopt}};
      }),
      R"(config.json: hooks.createRuntime[1].path: must be an absolute path, got "bin/hook")");
  EXPECT_EQ(error_of([](Spec& s) {
              s.hooks = Hooks{};
              s.hooks->poststop = {{"/bin/hook", {}, {}, 0}};
            }),
            "config.json: hooks.poststop[0].timeout: must be greater than 0, got 0");
}

TEST(SpecValidate, Devices) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->devices = {{"/dev/x", "x", 1, 2, {}, {}, {}}};
      }),
      R"(config.json: linux.devices[0].type: unknown device type "x" (expected c, b, u or p))");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->devices = {{"dev/x", "c", 1, 2, {}, {}, {}}};
            }),
            R"(config.json: linux.devices[0].path: must be an absolute path, got "dev/x")");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->resources = Resources{};
        s.linux->resources->devices = {{false, "", {}, {}, "rwm"}, {true, "c", 1, 3, "rwx"}};
      }),
      R"(config.json: linux.resources.devices[1].access: "rwx" may contain only the letters r, w and m)");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->resources = Resources{};
        s.linux->resources->devices = {{true, "u", 1, 3, "r"}};
      }),
      R"(config.json: linux.resources.devices[0].type: unknown device type "u" (expected a, c or b))");
}

TEST(SpecValidate, RootfsPropagation) {
  for (const char* p : {"", "shared", "slave", "private", "unbindable", "rshared", "rslave",
                        "rprivate", "runbindable"}) {
    EXPECT_EQ(error_of([&](Spec& s) { s.linux->rootfs_propagation = p; }), "valid") << p;
  }
  EXPECT_THAT(error_of([](Spec& s) { s.linux->rootfs_propagation = "rshare"; }),
              HasSubstr(R"(config.json: linux.rootfsPropagation: unknown propagation "rshare")"));
}

TEST(SpecValidate, Sysctl) {
  auto with = [](const char* key, std::initializer_list<NamespaceType> extra = {}) {
    return error_of([&](Spec& s) {
      for (auto t : extra) s.linux->namespaces.push_back({t, ""});
      s.linux->sysctl[key] = "1";
    });
  };
  EXPECT_EQ(
      with("kernel.shmmax"),
      R"(config.json: linux.sysctl["kernel.shmmax"]: needs an ipc namespace in linux.namespaces)");
  EXPECT_EQ(with("kernel.shmmax", {NamespaceType::Ipc}), "valid");
  EXPECT_EQ(with("fs.mqueue.msg_max", {NamespaceType::Ipc}), "valid");
  EXPECT_EQ(
      with("net.ipv4.ip_forward"),
      R"(config.json: linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace in linux.namespaces)");
  EXPECT_EQ(with("net/ipv4/ip_forward", {NamespaceType::Network}), "valid");
  EXPECT_EQ(
      with("kernel.domainname"),
      R"(config.json: linux.sysctl["kernel.domainname"]: needs a uts namespace in linux.namespaces)");
  EXPECT_EQ(with("kernel.domainname", {NamespaceType::Uts}), "valid");
  EXPECT_EQ(
      with("kernel.pid_max", {NamespaceType::Ipc, NamespaceType::Network, NamespaceType::Uts}),
      R"(config.json: linux.sysctl["kernel.pid_max"]: is not namespaced: a container cannot set it without changing the host)");
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->namespaces.push_back({NamespaceType::Uts, ""});
              s.hostname = "a";
              s.linux->sysctl["kernel.hostname"] = "b";
            }),
            R"(config.json: linux.sysctl["kernel.hostname"]: conflicts with the hostname field)");
}

TEST(SpecValidate, HostnameNeedsUtsNamespace) {
  EXPECT_EQ(
      error_of([](Spec& s) { s.hostname = "box"; }),
      "config.json: hostname: setting a hostname requires a uts namespace in linux.namespaces");
  EXPECT_EQ(
      error_of([](Spec& s) { s.domainname = "example.test"; }),
      "config.json: domainname: setting a domainname requires a uts namespace in linux.namespaces");
  EXPECT_EQ(error_of([](Spec& s) {
              s.hostname = "box";
              s.linux->namespaces.push_back({NamespaceType::Uts, ""});
            }),
            "valid");
}

TEST(SpecValidate, CapabilityNames) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.process->capabilities = Capabilities{{"CAP_KILL", "NET_RAW"}, {}, {}, {}, {}};
      }),
      R"(config.json: process.capabilities.bounding[1]: "NET_RAW" is not a capability name (names start with CAP_))");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.process->capabilities = Capabilities{{}, {}, {}, {}, {"chown"}};
      }),
      R"(config.json: process.capabilities.ambient[0]: "chown" is not a capability name (names start with CAP_))");
}

TEST(SpecValidate, Seccomp) {
  auto with = [](const std::function<void(Seccomp&)>& change) {
    return error_of([&](Spec& s) {
      Seccomp sc;
      sc.default_action = "SCMP_ACT_ERRNO";
      sc.syscalls = {{{"read"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 1, 0, "SCMP_CMP_EQ"}}}};
      change(sc);
      s.linux->seccomp = sc;
    });
  };
  EXPECT_EQ(with([](Seccomp&) {}), "valid");
  for (const char* a :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}) {
    EXPECT_EQ(with([&](Seccomp& sc) { sc.default_action = a; }), "valid") << a;
  }
  EXPECT_EQ(with([](Seccomp& sc) { sc.default_action = "SCMP_ACT_NOPE"; }),
            R"(config.json: linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE")");
  EXPECT_EQ(with([](Seccomp& sc) { sc.syscalls[0].action = "ALLOW"; }),
            R"(config.json: linux.seccomp.syscalls[0].action: unknown action "ALLOW")");
  EXPECT_EQ(
      with([](Seccomp& sc) { sc.syscalls[0].args[0].op = "SCMP_CMP_XOR"; }),
      R"(config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XOR")");
  EXPECT_EQ(with([](Seccomp& sc) { sc.syscalls[0].args[0].index = 6; }),
            "config.json: linux.seccomp.syscalls[0].args[0].index: must be less than 6, got 6");
  EXPECT_EQ(with([](Seccomp& sc) { sc.syscalls[0].names.clear(); }),
            "config.json: linux.seccomp.syscalls[0].names: must not be empty");
  EXPECT_EQ(with([](Seccomp& sc) {
              sc.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_NEW"};
            }),
            R"(config.json: linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_NEW")");
  EXPECT_EQ(with([](Seccomp& sc) {
              sc.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                          "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
            }),
            "valid");
  EXPECT_EQ(with([](Seccomp& sc) { sc.syscalls[0].action = "SCMP_ACT_NOTIFY"; }),
            "config.json: linux.seccomp.listenerPath: must be set when SCMP_ACT_NOTIFY is used");
  EXPECT_EQ(with([](Seccomp& sc) { sc.default_action = "SCMP_ACT_NOTIFY"; }),
            "config.json: linux.seccomp.listenerPath: must be set when SCMP_ACT_NOTIFY is used");
  EXPECT_EQ(with([](Seccomp& sc) {
              sc.syscalls[0].action = "SCMP_ACT_NOTIFY";
              sc.listener_path = "/run/agent.sock";
            }),
            "valid");
  EXPECT_EQ(with([](Seccomp& sc) { sc.syscalls[0].errno_ret = 1; }),
            "config.json: linux.seccomp.syscalls[0].errnoRet: only applies to SCMP_ACT_ERRNO and "
            "SCMP_ACT_TRACE");
  EXPECT_EQ(with([](Seccomp& sc) { sc.architectures = {"x86_64"}; }),
            R"(config.json: linux.seccomp.architectures[0]: unknown architecture "x86_64")");
}

TEST(SpecValidate, ProcessRanges) {
  EXPECT_EQ(error_of([](Spec& s) { s.process->oom_score_adj = 1001; }),
            "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001");
  EXPECT_EQ(error_of([](Spec& s) { s.process->oom_score_adj = -1000; }), "valid");
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.process->io_priority = IoPriority{"IOPRIO_CLASS_NONE", 0};
      }),
      R"(config.json: process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE" (expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE))");
  EXPECT_EQ(error_of([](Spec& s) {
              s.process->io_priority = IoPriority{"IOPRIO_CLASS_IDLE", 8};
            }),
            "config.json: process.ioPriority.priority: must be between 0 and 7, got 8");
  EXPECT_EQ(error_of([](Spec& s) {
              s.process->io_priority = IoPriority{"IOPRIO_CLASS_RT", 7};
            }),
            "valid");
  EXPECT_EQ(
      error_of([](Spec& s) { s.process->scheduler = Scheduler{"SCHED_FAST", 0, 0, {}, 0, 0, 0}; }),
      R"(config.json: process.scheduler.policy: unknown policy "SCHED_FAST")");
}

TEST(SpecValidate, Personality) {
  EXPECT_EQ(
      error_of([](Spec& s) {
        s.linux->personality = Personality{"LINUX64", {}};
      }),
      R"(config.json: linux.personality.domain: unknown domain "LINUX64" (expected LINUX or LINUX32))");
  EXPECT_EQ(error_of([](Spec& s) { s.linux->personality = Personality{"LINUX32", {}}; }), "valid");
}

TEST(SpecValidate, MaskedAndReadonlyPaths) {
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->masked_paths = {"/proc/kcore", "proc/keys"};
            }),
            R"(config.json: linux.maskedPaths[1]: must be an absolute path, got "proc/keys")");
  EXPECT_EQ(error_of([](Spec& s) { s.linux->readonly_paths = {"sys"}; }),
            R"(config.json: linux.readonlyPaths[0]: must be an absolute path, got "sys")");
}

TEST(SpecValidate, BlockIoWeights) {
  EXPECT_EQ(error_of([](Spec& s) {
              s.linux->resources = Resources{};
              s.linux->resources->block_io = BlockIo{};
              s.linux->resources->block_io->weight_device = {{8, 0, 5, std::nullopt}};
            }),
            "config.json: linux.resources.blockIO.weightDevice[0].weight: must be between 10 and "
            "1000, got 5");
}

}  // namespace
}  // namespace berth::oci
