#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/fs.h"
#include "oci/runtime_spec.h"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

// A spec with every field of the model set to something other than its default.
Spec full_spec() {
  Spec s;
  s.oci_version = "1.1.0";
  Process p;
  p.terminal = true;
  p.console_size = ConsoleSize{24, 80};
  p.user = User{1000, 1001, 022u, {10, 20}};
  p.args = {"/bin/sh", "-c", "echo \"hi\"\n\t\\"};
  p.env = {"PATH=/bin", "UNICODE=h\xc3\xa9llo"};
  p.cwd = "/work";
  p.capabilities =
      Capabilities{{"CAP_KILL"}, {"CAP_CHOWN"}, {"CAP_FOWNER"}, {"CAP_SETUID"}, {"CAP_NET_RAW"}};
  p.rlimits = {{"RLIMIT_NOFILE", 2048, 1024}, {"RLIMIT_CORE", UINT64_MAX, 0}};
  p.no_new_privileges = true;
  p.apparmor_profile = "berth-default";
  p.oom_score_adj = -500;
  p.selinux_label = "system_u:system_r:container_t:s0";
  p.io_priority = IoPriority{"IOPRIO_CLASS_BE", 4};
  p.scheduler = Scheduler{"SCHED_DEADLINE", -5, 3, {"SCHED_FLAG_RECLAIM"}, 1000, 2000, 3000};
  s.process = p;
  s.root = Root{"rootfs", true};
  s.hostname = "box";
  s.domainname = "example.test";
  s.mounts = {
      {"/proc", "proc", "proc", {}, {}, {}},
      {"/data", "bind", "/srv/data", {"rbind", "ro"}, {{0, 100000, 65536}}, {{0, 200000, 65536}}},
  };
  Hooks h;
  h.prestart = {{"/usr/bin/pre", {"pre", "a"}, {"X=1"}, 5}};
  h.create_runtime = {{"/usr/bin/cr", {}, {}, std::nullopt}};
  h.create_container = {{"/usr/bin/cc", {}, {}, 1}};
  h.start_container = {{"/usr/bin/sc", {}, {}, std::nullopt}};
  h.poststart = {{"/usr/bin/ps", {}, {}, std::nullopt}};
  h.poststop = {{"/usr/bin/pst", {"x"}, {}, 30}};
  s.hooks = h;
  s.annotations = {{"org.example.key", "value"}, {"plain", ""}};

  Linux l;
  l.namespaces = {{NamespaceType::Pid, ""},    {NamespaceType::Network, "/var/run/netns/x"},
                  {NamespaceType::Mount, ""},  {NamespaceType::Ipc, ""},
                  {NamespaceType::Uts, ""},    {NamespaceType::User, ""},
                  {NamespaceType::Cgroup, ""}, {NamespaceType::Time, ""}};
  l.uid_mappings = {{0, 1000, 1}, {1, 100000, 65536}};
  l.gid_mappings = {{0, 1000, 1}};
  l.time_offsets = {{"boottime", {-3600, 5}}, {"monotonic", {INT64_MAX, 999999999}}};
  l.devices = {{"/dev/fuse", "c", 10, 229, 0666u, 0u, 0u},
               {"/dev/fifo", "p", 0, 0, std::nullopt, std::nullopt, std::nullopt}};
  l.cgroups_path = "/berth/abc";
  Resources r;
  r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
               {true, "c", 10, 229, "rw"},
               {true, "b", 8, -1, "r"}};
  r.memory = Memory{1 << 30, 1 << 29, -1, 0, 64 << 20, 60u, true, false, true};
  r.cpu = Cpu{1024u, 50000, 1000u, 100000u, 950000, 1000000u, "0-1", "0", false};
  r.pids = Pids{-1};
  BlockIo b;
  b.weight = 500;
  b.leaf_weight = 300;
  b.weight_device = {{8, 0, 600, std::nullopt}, {8, 16, std::nullopt, 200}};
  b.throttle_read_bps_device = {{8, 0, 1048576}};
  b.throttle_write_bps_device = {{8, 0, 2097152}};
  b.throttle_read_iops_device = {{8, 0, 100}};
  b.throttle_write_iops_device = {{8, 0, 200}};
  r.block_io = b;
  r.hugepage_limits = {{"2MB", 1 << 21}, {"1GB", 0}};
  r.network = NetworkResources{0x100001u, {{"eth0", 5}, {"lo", 0}}};
  r.rdma = {{"mlx5_1", {3u, std::nullopt}}, {"mlx4_0", {std::nullopt, 10000u}}};
  r.unified = {{"memory.high", "1G"}, {"io.weight", "default 100"}};
  l.resources = r;
  l.rootfs_propagation = "rslave";
  Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = 1;
  sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  sc.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  sc.listener_path = "/run/seccomp.sock";
  sc.listener_metadata = "meta";
  sc.syscalls = {{{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
                 {{"personality"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 8, 0, "SCMP_CMP_EQ"}}},
                 {{"clone"}, "SCMP_ACT_ERRNO", 38u, {{0, 0x7e020000, 7, "SCMP_CMP_MASKED_EQ"}}}};
  l.seccomp = sc;
  l.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "1024"}};
  l.masked_paths = {"/proc/kcore"};
  l.readonly_paths = {"/proc/sys"};
  l.mount_label = "system_u:object_r:container_file_t:s0";
  l.personality = Personality{"LINUX32", {"ADDR_NO_RANDOMIZE"}};
  s.linux = l;
  return s;
}

TEST(RuntimeSpecJson, FullRoundTrip) {
  Spec s = full_spec();
  std::string text = spec_to_json(s);
  auto back = parse_spec(text);
  ASSERT_TRUE(back.has_value()) << back.error().what() << "\n" << text;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(spec_to_json(*back), text);
}

TEST(RuntimeSpecJson, WritesSpecFieldNamesWithTwoSpaceIndent) {
  std::string text = spec_to_json(full_spec());
  EXPECT_EQ(text.rfind("{\n  \"ociVersion\": \"1.1.0\",\n  \"process\": {", 0), 0u) << text;
  for (const char* key : {"\"consoleSize\"",       "\"additionalGids\"",
                          "\"noNewPrivileges\"",   "\"oomScoreAdj\"",
                          "\"ioPriority\"",        "\"createRuntime\"",
                          "\"containerID\"",       "\"hostID\"",
                          "\"timeOffsets\"",       "\"fileMode\"",
                          "\"kernelTCP\"",         "\"disableOOMKiller\"",
                          "\"realtimeRuntime\"",   "\"blockIO\"",
                          "\"leafWeight\"",        "\"throttleReadIOPSDevice\"",
                          "\"hugepageLimits\"",    "\"pageSize\"",
                          "\"classID\"",           "\"hcaHandles\"",
                          "\"rootfsPropagation\"", "\"defaultErrnoRet\"",
                          "\"listenerPath\"",      "\"valueTwo\"",
                          "\"errnoRet\"",          "\"maskedPaths\"",
                          "\"readonlyPaths\"",     "\"mountLabel\""}) {
    EXPECT_THAT(text, HasSubstr(key));
  }
}

TEST(RuntimeSpecJson, OmitsAbsentFields) {
  Spec s;
  s.oci_version = "1.1.0";
  s.root = Root{"rootfs", false};
  EXPECT_EQ(spec_to_json(s),
            "{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\n    \"path\": \"rootfs\"\n  }\n}\n");
}

TEST(RuntimeSpecJson, EmptyOptionalObjectsSurviveRoundTrip) {
  Spec s;
  s.oci_version = "1.0.0";
  s.process = Process{};
  s.process->capabilities = Capabilities{};
  s.hooks = Hooks{};
  s.linux = Linux{};
  s.linux->resources = Resources{};
  s.linux->resources->memory = Memory{};
  auto back = parse_spec(spec_to_json(s));
  ASSERT_TRUE(back.has_value()) << back.error().what();
  EXPECT_EQ(*back, s);
}

TEST(RuntimeSpecJson, IgnoresUnknownFieldsAndNulls) {
  auto s = parse_spec(R"({"ociVersion": "1.0.0", "future": {"x": [1, 2]}, "process": {"args": null,
      "cwd": "/", "newThing": true}, "linux": {"namespaces": [{"type": "pid", "extra": 1}]}})");
  ASSERT_TRUE(s.has_value()) << s.error().what();
  EXPECT_TRUE(s->process->args.empty());
  ASSERT_EQ(s->linux->namespaces.size(), 1u);
  EXPECT_EQ(s->linux->namespaces[0].type, NamespaceType::Pid);
}

void expect_error(std::string_view json, const std::string& message) {
  auto s = parse_spec(json);
  ASSERT_FALSE(s.has_value()) << json;
  EXPECT_EQ(s.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(s.error().what(), message);
}

TEST(RuntimeSpecJson, UnknownNamespaceNamesItsPath) {
  expect_error(R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "foo"}]}})",
               R"(config.json: linux.namespaces[2].type: unknown namespace "foo")");
}

TEST(RuntimeSpecJson, NamespaceWithoutType) {
  expect_error(R"({"linux": {"namespaces": [{"path": "/proc/1/ns/net"}]}})",
               "config.json: linux.namespaces[0].type: must be set");
}

TEST(RuntimeSpecJson, IntegerRanges) {
  expect_error(R"({"process": {"user": {"uid": -1}}})",
               "config.json: process.user.uid: expected an unsigned 32-bit integer, got -1");
  expect_error(
      R"({"process": {"user": {"gid": 4294967296}}})",
      "config.json: process.user.gid: expected an unsigned 32-bit integer, got 4294967296");
  expect_error(R"({"process": {"user": {"uid": 1.5}}})",
               "config.json: process.user.uid: expected an unsigned 32-bit integer, got 1.5");
  expect_error(
      R"({"process": {"user": {"additionalGids": [1, -2]}}})",
      "config.json: process.user.additionalGids[1]: expected an unsigned 32-bit integer, got -2");
  expect_error(
      R"({"process": {"oomScoreAdj": 2147483648}})",
      "config.json: process.oomScoreAdj: expected a signed 32-bit integer, got 2147483648");
  expect_error(R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})",
               "config.json: linux.resources.blockIO.weight: expected an unsigned 16-bit integer, "
               "got 65536");
  expect_error(R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})",
               "config.json: linux.resources.memory.limit: expected a signed 64-bit integer, got "
               "9223372036854775808");
  expect_error(
      R"({"process": {"rlimits": [{"type": "RLIMIT_CPU", "hard": 18446744073709551616}]}})",
      "config.json: process.rlimits[0].hard: expected an unsigned 64-bit integer, got "
      "1.8446744073709552e+19");

  auto ok = parse_spec(
      R"({"process": {"user": {"uid": 4294967295}, "rlimits": [{"hard": 18446744073709551615}]},
      "linux": {"resources": {"memory": {"limit": -9223372036854775808}}}})");
  ASSERT_TRUE(ok.has_value()) << ok.error().what();
  EXPECT_EQ(ok->process->user.uid, 4294967295u);
  EXPECT_EQ(ok->process->rlimits[0].hard, UINT64_MAX);
  EXPECT_EQ(*ok->linux->resources->memory->limit, INT64_MIN);
}

TEST(RuntimeSpecJson, WrongTypes) {
  expect_error(R"([])", "config.json: expected an object, got an array");
  expect_error(R"({"ociVersion": 1})", "config.json: ociVersion: expected a string, got 1");
  expect_error(R"({"process": {"terminal": "yes"}})",
               R"(config.json: process.terminal: expected a boolean, got "yes")");
  expect_error(R"({"process": {"args": "sh"}})",
               R"(config.json: process.args: expected an array, got "sh")");
  expect_error(R"({"process": {"args": ["sh", 1]}})",
               "config.json: process.args[1]: expected a string, got 1");
  expect_error(R"({"mounts": [{"destination": "/a"}, {"options": {}}]})",
               "config.json: mounts[1].options: expected an array, got an object");
  expect_error(R"({"annotations": {"org.example.a": 5}})",
               R"(config.json: annotations["org.example.a"]: expected a string, got 5)");
  expect_error(R"({"linux": {"sysctl": {"net.ipv4.ip_forward": true}}})",
               R"(config.json: linux.sysctl["net.ipv4.ip_forward"]: expected a string, got true)");
  expect_error(R"({"linux": {"timeOffsets": {"boottime": {"nanosecs": -1}}}})",
               "config.json: linux.timeOffsets.boottime.nanosecs: expected an unsigned 32-bit "
               "integer, got -1");
  expect_error(
      R"({"hooks": {"poststop": [{"path": "/x", "timeout": "5"}]}})",
      R"(config.json: hooks.poststop[0].timeout: expected a signed 32-bit integer, got "5")");
  expect_error(
      R"({"linux": {"seccomp": {"syscalls": [{"names": ["read"], "args": [{"index": "0"}]}]}}})",
      R"(config.json: linux.seccomp.syscalls[0].args[0].index: expected an unsigned 32-bit integer, got "0")");
  expect_error(R"({"linux": {"resources": {"rdma": {"mlx": {"hcaHandles": -3}}}}})",
               "config.json: linux.resources.rdma.mlx.hcaHandles: expected an unsigned 32-bit "
               "integer, got -3");
  expect_error(R"({"process": "sh"})", R"(config.json: process: expected an object, got "sh")");
}

TEST(RuntimeSpecJson, LongStringsAreShortenedInMessages) {
  std::string long_value(100, 'x');
  expect_error(
      R"({"process": {"terminal": ")" + long_value + R"("}})",
      "config.json: process.terminal: expected a boolean, got \"" + std::string(40, 'x') + "\"...");
}

TEST(RuntimeSpecJson, SyntaxErrorsGiveLineAndColumn) {
  auto s = parse_spec("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": x\n}");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 3, column 11: syntax error"));

  s = parse_spec("{\"a\": 1,}");
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 1, column 9: syntax error"));

  s = parse_spec("");
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 1, column 1: syntax error"));

  s = parse_spec("{\"a\": \"unterminated\n\"}");
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 1, column 20: syntax error"));

  s = parse_spec("{}\n\n  trailing");
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 3, column 5: syntax error"));

  s = parse_spec(std::string("{\"a\": \"\xff\"}"));
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().what(), HasSubstr("config.json: line 1, column 8: syntax error"));
}

// The config.json Debian's runc 1.1 writes with `runc spec` (tabs, ociVersion 1.0.2-dev).
constexpr const char* kRuncExample = R"({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "cgroup"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})";

TEST(RuntimeSpecJson, ParsesRuncExample) {
  auto s = parse_spec(kRuncExample);
  ASSERT_TRUE(s.has_value()) << s.error().what();
  EXPECT_EQ(s->oci_version, "1.0.2-dev");
  ASSERT_TRUE(s->process.has_value());
  EXPECT_TRUE(s->process->terminal);
  EXPECT_EQ(s->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s->process->capabilities->ambient.size(), 3u);
  EXPECT_EQ(s->process->rlimits[0].soft, 1024u);
  EXPECT_EQ(s->root->path, "rootfs");
  EXPECT_EQ(s->mounts.size(), 7u);
  EXPECT_EQ(s->mounts[2].options.back(), "gid=5");
  EXPECT_EQ(s->linux->namespaces.size(), 6u);
  EXPECT_EQ(s->linux->namespaces[1].type, NamespaceType::Network);
  EXPECT_FALSE(s->linux->resources->devices[0].allow);
  EXPECT_EQ(s->linux->masked_paths.size(), 10u);
  EXPECT_TRUE(validate_spec(*s).has_value()) << validate_spec(*s).error().what();

  // Apart from the version, the hostname and ambient capabilities, it is berth's default spec.
  Spec ours = default_spec(false);
  ours.oci_version = s->oci_version;
  ours.hostname = s->hostname;
  ours.process->capabilities->ambient = s->process->capabilities->ambient;
  EXPECT_EQ(*s, ours);
}

TEST(RuntimeSpecJson, ParseProcess) {
  auto p = parse_process(R"({"terminal": false, "user": {"uid": 5, "gid": 6}, "args": ["ls", "-l"],
      "env": ["A=b"], "cwd": "/tmp", "capabilities": {"bounding": ["CAP_KILL"]}})");
  ASSERT_TRUE(p.has_value()) << p.error().what();
  EXPECT_EQ(p->user.uid, 5u);
  EXPECT_EQ(p->args, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(p->capabilities->bounding, std::vector<std::string>{"CAP_KILL"});

  auto bad = parse_process(R"({"user": {"uid": "root"}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().what(),
            R"(process.json: user.uid: expected an unsigned 32-bit integer, got "root")");

  bad = parse_process("{\n\"args\": [}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().what(), HasSubstr("process.json: line 2, column 10: syntax error"));
}

class LoadSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-oci-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)remove_all(dir_); }
  std::string dir_;
};

TEST_F(LoadSpecTest, ReadsConfigJson) {
  ASSERT_TRUE(write_file(dir_ + "/config.json", spec_to_json(full_spec())).has_value());
  auto s = load_spec(dir_);
  ASSERT_TRUE(s.has_value()) << s.error().what();
  EXPECT_EQ(*s, full_spec());
}

TEST_F(LoadSpecTest, MissingConfigIsNotFound) {
  auto s = load_spec(dir_);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::NotFound);
  EXPECT_THAT(s.error().what(), HasSubstr(dir_ + "/config.json"));
}

TEST_F(LoadSpecTest, ErrorsNameTheFile) {
  ASSERT_TRUE(
      write_file(dir_ + "/config.json", R"({"process": {"user": {"uid": -1}}})").has_value());
  auto s = load_spec(dir_);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().what(),
            dir_ + "/config.json: process.user.uid: expected an unsigned 32-bit integer, got -1");
}

}  // namespace
}  // namespace berth::oci
