// Parsers of `berth run` flag values: good values and Docker-shaped messages for bad ones.
#include "engine/run_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace berth::engine {
namespace {

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

TEST(ParseVolume, BindNamedAndAnonymous) {
  auto b = parse_volume_flag("/host/dir/:/data:ro");
  ASSERT_TRUE(b.has_value()) << err(b);
  EXPECT_EQ(b->kind, MountKind::Bind);
  EXPECT_EQ(b->source, "/host/dir");
  EXPECT_EQ(b->target, "/data");
  EXPECT_TRUE(b->readonly);

  auto v = parse_volume_flag("cache:/var/cache");
  ASSERT_TRUE(v.has_value()) << err(v);
  EXPECT_EQ(v->kind, MountKind::Volume);
  EXPECT_EQ(v->source, "cache");
  EXPECT_FALSE(v->readonly);

  auto a = parse_volume_flag("/anon");
  ASSERT_TRUE(a.has_value()) << err(a);
  EXPECT_EQ(a->kind, MountKind::Volume);
  EXPECT_EQ(a->source, "");
  EXPECT_EQ(a->target, "/anon");

  auto z = parse_volume_flag("/h:/c:rw,Z,rslave");
  ASSERT_TRUE(z.has_value()) << err(z);
  EXPECT_EQ(z->propagation, "rslave");
}

TEST(ParseVolume, Errors) {
  EXPECT_EQ(err(parse_volume_flag("/h:data")),
            "invalid argument \"/h:data\" for \"-v, --volume\" flag: invalid mount path: 'data' "
            "mount path must be absolute");
  EXPECT_EQ(err(parse_volume_flag("/h:/c:bogus")),
            "invalid argument \"/h:/c:bogus\" for \"-v, --volume\" flag: invalid mode: bogus");
  EXPECT_EQ(err(parse_volume_flag("/h:/c:ro,rw")),
            "invalid argument \"/h:/c:ro,rw\" for \"-v, --volume\" flag: invalid mode: ro,rw");
  EXPECT_EQ(err(parse_volume_flag("a:/b:c:d")),
            "invalid argument \"a:/b:c:d\" for \"-v, --volume\" flag: invalid volume specification");
  EXPECT_EQ(err(parse_volume_flag("/h:/")),
            "invalid argument \"/h:/\" for \"-v, --volume\" flag: destination can't be '/'");
  EXPECT_NE(err(parse_volume_flag("bad$name:/x")).find("invalid characters for a local volume name"),
            std::string::npos);
  EXPECT_EQ(err(parse_volume_flag("vol:/x:shared")),
            "invalid argument \"vol:/x:shared\" for \"-v, --volume\" flag: invalid mode: shared");
}

TEST(ParseMount, Types) {
  auto b = parse_mount_flag("type=bind,src=/h,dst=/c,readonly,bind-propagation=rshared");
  ASSERT_TRUE(b.has_value()) << err(b);
  EXPECT_EQ(b->kind, MountKind::Bind);
  EXPECT_EQ(b->source, "/h");
  EXPECT_EQ(b->target, "/c");
  EXPECT_TRUE(b->readonly);
  EXPECT_EQ(b->propagation, "rshared");

  auto v = parse_mount_flag("source=data,target=/data");
  ASSERT_TRUE(v.has_value()) << err(v);
  EXPECT_EQ(v->kind, MountKind::Volume);
  EXPECT_EQ(v->source, "data");

  auto t = parse_mount_flag("type=tmpfs,destination=/scratch,tmpfs-size=64m,tmpfs-mode=1770");
  ASSERT_TRUE(t.has_value()) << err(t);
  EXPECT_EQ(t->kind, MountKind::Tmpfs);
  EXPECT_EQ(t->tmpfs_size, 64 << 20);
  EXPECT_EQ(t->tmpfs_mode, 01770u);

  auto ro = parse_mount_flag("type=volume,target=/x,ro=false");
  ASSERT_TRUE(ro.has_value()) << err(ro);
  EXPECT_FALSE(ro->readonly);
}

TEST(ParseMount, Errors) {
  EXPECT_EQ(err(parse_mount_flag("type=nfs,target=/x")),
            "invalid argument \"type=nfs,target=/x\" for \"--mount\" flag: invalid type 'nfs'");
  EXPECT_EQ(err(parse_mount_flag("type=bind,target=/x")),
            "invalid argument \"type=bind,target=/x\" for \"--mount\" flag: source is required "
            "when type is bind");
  EXPECT_EQ(err(parse_mount_flag("type=bind,source=/h")),
            "invalid argument \"type=bind,source=/h\" for \"--mount\" flag: target is required");
  EXPECT_EQ(err(parse_mount_flag("type=tmpfs,source=x,target=/x")),
            "invalid argument \"type=tmpfs,source=x,target=/x\" for \"--mount\" flag: source is "
            "not allowed for type tmpfs");
  EXPECT_EQ(err(parse_mount_flag("target=/x,color=red")),
            "invalid argument \"target=/x,color=red\" for \"--mount\" flag: unexpected key "
            "'color' in 'color=red'");
  EXPECT_EQ(err(parse_mount_flag("type=tmpfs,target=/x,tmpfs-size=huge")),
            "invalid argument \"type=tmpfs,target=/x,tmpfs-size=huge\" for \"--mount\" flag: "
            "invalid value for tmpfs-size: huge");
  EXPECT_EQ(err(parse_mount_flag("target")),
            "invalid argument \"target\" for \"--mount\" flag: invalid field 'target' must be a "
            "key=value pair");
}

TEST(ParseTmpfs, OptionsAndErrors) {
  auto t = parse_tmpfs_flag("/run:rw,size=1g,mode=1777,exec");
  ASSERT_TRUE(t.has_value()) << err(t);
  EXPECT_EQ(t->target, "/run");
  EXPECT_EQ(t->tmpfs_size, int64_t{1} << 30);
  EXPECT_EQ(t->tmpfs_mode, 01777u);
  EXPECT_EQ(t->tmpfs_options, std::vector<std::string>{"exec"});
  EXPECT_EQ(err(parse_tmpfs_flag("run")),
            "invalid argument \"run\" for \"--tmpfs\" flag: invalid mount path: 'run' mount path "
            "must be absolute");
  EXPECT_EQ(err(parse_tmpfs_flag("/run:fancy")),
            "invalid argument \"/run:fancy\" for \"--tmpfs\" flag: invalid tmpfs option \"fancy\"");
  EXPECT_EQ(err(parse_tmpfs_flag("/run:mode=999")),
            "invalid argument \"/run:mode=999\" for \"--tmpfs\" flag: invalid mode: 999");
}

class EnvFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-envfile-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string p = (dir_ / "env").string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(EnvFileTest, DockerRules) {
  ::setenv("BERTH_TEST_FROM_HOST", "host value", 1);
  ::unsetenv("BERTH_TEST_UNSET");
  auto p = write("# comment\n\nA=1\n  B=two words \nC=\nBERTH_TEST_FROM_HOST\nBERTH_TEST_UNSET\r\nD=x=y\n");
  auto r = parse_env_file(p);
  ASSERT_TRUE(r.has_value()) << err(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"A=1", "B=two words ", "C=",
                                          "BERTH_TEST_FROM_HOST=host value", "D=x=y"}));
}

TEST_F(EnvFileTest, ErrorsNameFileAndLine) {
  auto p = write("A=1\nBAD KEY=2\n");
  EXPECT_EQ(err(parse_env_file(p)),
            "--env-file " + p + ": line 2: variable \"BAD KEY\" contains whitespaces");
  p = write("\n=value\n");
  EXPECT_EQ(err(parse_env_file(p)), "--env-file " + p + ": line 2: no variable name in \"=value\"");
  auto missing = (dir_ / "nope").string();
  auto r = parse_env_file(missing);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_NE(r.error().what().find("--env-file " + missing), std::string::npos);
}

TEST_F(EnvFileTest, LabelFileKeepsBareKeysEmptyAndNeverReadsTheHost) {
  ::setenv("BERTH_TEST_FROM_HOST", "host value", 1);
  auto p = write("# labels\n\na=1\n  b=two words\nBERTH_TEST_FROM_HOST\nc=x=y\r\n");
  std::map<std::string, std::string> labels{{"a", "old"}};
  auto r = parse_label_file(p, labels);
  ASSERT_TRUE(r.has_value()) << err(r);
  EXPECT_EQ(labels,
            (std::map<std::string, std::string>{
                {"a", "1"}, {"b", "two words"}, {"BERTH_TEST_FROM_HOST", ""}, {"c", "x=y"}}));
  p = write("ok=1\nBAD KEY=2\n");
  EXPECT_EQ(err(parse_label_file(p, labels)),
            "--label-file " + p + ": line 2: variable \"BAD KEY\" contains whitespaces");
}

TEST(ParseEnv, HostValue) {
  ::setenv("BERTH_TEST_E", "v", 1);
  ::unsetenv("BERTH_TEST_NONE");
  EXPECT_EQ(*parse_env_flag("A=b=c"), std::optional<std::string>("A=b=c"));
  EXPECT_EQ(*parse_env_flag("BERTH_TEST_E"), std::optional<std::string>("BERTH_TEST_E=v"));
  EXPECT_EQ(*parse_env_flag("BERTH_TEST_NONE"), std::nullopt);
  EXPECT_EQ(err(parse_env_flag("=x")),
            "invalid argument \"=x\" for \"-e, --env\" flag: no variable name");
}

TEST(ParseMemory, RamInBytes) {
  EXPECT_EQ(*parse_memory_size("512m"), 512 << 20);
  EXPECT_EQ(*parse_memory_size("1g"), int64_t{1} << 30);
  EXPECT_EQ(*parse_memory_size("1GiB"), int64_t{1} << 30);
  EXPECT_EQ(*parse_memory_size("1.5k"), 1536);
  EXPECT_EQ(*parse_memory_size("1024"), 1024);
  EXPECT_EQ(*parse_memory_size("10 MB"), 10 << 20);
  EXPECT_EQ(*parse_memory_size("64b"), 64);
  EXPECT_EQ(err(parse_memory_size("512x", "-m, --memory")),
            "invalid argument \"512x\" for \"-m, --memory\" flag: invalid size: '512x'");
  EXPECT_EQ(err(parse_memory_size("", "--memory")),
            "invalid argument \"\" for \"--memory\" flag: invalid size: ''");
  EXPECT_EQ(err(parse_memory_size("-1m", "--memory")),
            "invalid argument \"-1m\" for \"--memory\" flag: invalid size: '-1m'");
}

TEST(ParseCpus, NanoCpus) {
  EXPECT_EQ(*parse_cpus("1.5"), 1500000000);
  EXPECT_EQ(*parse_cpus("0.01"), 10000000);
  EXPECT_EQ(*parse_cpus("0"), 0);
  EXPECT_EQ(err(parse_cpus("abc")),
            "invalid argument \"abc\" for \"--cpus\" flag: failed to parse as a number");
  EXPECT_EQ(err(parse_cpus("-1")),
            "invalid argument \"-1\" for \"--cpus\" flag: CPUs can not be negative");
  EXPECT_EQ(err(parse_cpus("0.001")),
            "invalid argument \"0.001\" for \"--cpus\" flag: the minimum is 0.01 CPUs");
}

TEST(ParseUlimit, Values) {
  auto u = parse_ulimit("nofile=1024:2048");
  ASSERT_TRUE(u.has_value()) << err(u);
  EXPECT_EQ(*u, (Ulimit{"nofile", 1024, 2048}));
  EXPECT_EQ(*parse_ulimit("nproc=64"), (Ulimit{"nproc", 64, 64}));
  EXPECT_EQ(parse_ulimit("core=-1")->hard, UINT64_MAX);
  EXPECT_EQ(err(parse_ulimit("nofiles=1")),
            "invalid argument \"nofiles=1\" for \"--ulimit\" flag: invalid ulimit type: nofiles");
  EXPECT_EQ(err(parse_ulimit("nofile=2048:1024")),
            "invalid argument \"nofile=2048:1024\" for \"--ulimit\" flag: ulimit soft limit must "
            "be less than or equal to hard limit: 2048 > 1024");
  EXPECT_EQ(err(parse_ulimit("nofile=x")),
            "invalid argument \"nofile=x\" for \"--ulimit\" flag: invalid ulimit value \"x\"");
  EXPECT_EQ(err(parse_ulimit("nofile")),
            "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: "
            "expected NAME=SOFT[:HARD]");
}

TEST(ParseRestart, Policies) {
  EXPECT_EQ(parse_restart("no")->name, RestartName::No);
  EXPECT_EQ(parse_restart("always")->name, RestartName::Always);
  EXPECT_EQ(parse_restart("unless-stopped")->name, RestartName::UnlessStopped);
  EXPECT_EQ(*parse_restart("on-failure:5"), (RestartPolicy{RestartName::OnFailure, 5}));
  EXPECT_EQ(*parse_restart("on-failure"), (RestartPolicy{RestartName::OnFailure, 0}));
  EXPECT_EQ(err(parse_restart("sometimes")),
            "invalid argument \"sometimes\" for \"--restart\" flag: invalid restart policy "
            "'sometimes'");
  EXPECT_EQ(err(parse_restart("always:3")),
            "invalid argument \"always:3\" for \"--restart\" flag: maximum retry count can only "
            "be used with 'on-failure'");
  EXPECT_EQ(err(parse_restart("on-failure:-1")),
            "invalid argument \"on-failure:-1\" for \"--restart\" flag: maximum retry count "
            "cannot be negative");
}

TEST(ParseDuration, GoSyntax) {
  EXPECT_EQ(*parse_duration("30s", "--health-interval"), 30'000'000'000);
  EXPECT_EQ(*parse_duration("1m30s", "--health-interval"), 90'000'000'000);
  EXPECT_EQ(*parse_duration("500ms", "--health-interval"), 500'000'000);
  EXPECT_EQ(*parse_duration("1.5h", "--health-interval"), 5'400'000'000'000);
  EXPECT_EQ(*parse_duration("0", "--health-interval"), 0);
  EXPECT_EQ(*parse_duration("-2s", "--health-interval"), -2'000'000'000);
  EXPECT_EQ(*parse_duration("10us", "--health-interval"), 10'000);
  EXPECT_EQ(err(parse_duration("30", "--health-timeout")),
            "invalid argument \"30\" for \"--health-timeout\" flag: time: missing unit in "
            "duration \"30\"");
  EXPECT_EQ(err(parse_duration("3d", "--health-timeout")),
            "invalid argument \"3d\" for \"--health-timeout\" flag: time: unknown unit \"d\" in "
            "duration \"3d\"");
  EXPECT_EQ(err(parse_duration("", "--health-timeout")),
            "invalid argument \"\" for \"--health-timeout\" flag: time: invalid duration \"\"");
}

TEST(ParseUser, Forms) {
  EXPECT_EQ(*parse_user("1000"), (UserSpec{"1000", ""}));
  EXPECT_EQ(*parse_user("1000:100"), (UserSpec{"1000", "100"}));
  EXPECT_EQ(*parse_user("app:staff"), (UserSpec{"app", "staff"}));
  EXPECT_EQ(err(parse_user("")),
            "invalid argument \"\" for \"-u, --user\" flag: expected uid[:gid] or name[:group]");
  EXPECT_EQ(err(parse_user("a:b:c")),
            "invalid argument \"a:b:c\" for \"-u, --user\" flag: expected uid[:gid] or "
            "name[:group]");
  EXPECT_FALSE(parse_user("a:").has_value());
}

TEST(ParseSecret, Fields) {
  auto s = parse_secret_flag("db_pass,target=db,uid=100,gid=101,mode=0400");
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(*s, (SecretRef{"db_pass", "/run/secrets/db", 100, 101, 0400}));
  EXPECT_EQ(parse_secret_flag("x,target=/etc/x.key")->target, "/etc/x.key");
  EXPECT_EQ(parse_secret_flag("source=tok")->name, "tok");
  EXPECT_EQ(parse_secret_flag("tok")->mode, 0444u);
  EXPECT_EQ(err(parse_secret_flag("tok,mode=888")),
            "invalid argument \"tok,mode=888\" for \"--secret\" flag: invalid mode \"888\"");
  EXPECT_EQ(err(parse_secret_flag("tok,owner=me")),
            "invalid argument \"tok,owner=me\" for \"--secret\" flag: unexpected key 'owner' in "
            "'owner=me'");
  EXPECT_EQ(err(parse_secret_flag("")),
            "invalid argument \"\" for \"--secret\" flag: the secret name is required");
  EXPECT_EQ(err(parse_secret_flag("../x")),
            "invalid argument \"../x\" for \"--secret\" flag: invalid secret name \"../x\"");
}

TEST(ParseLogOpt, SizeAndFiles) {
  LogOptions log;
  EXPECT_EQ(log.max_size, 10 << 20);
  EXPECT_EQ(log.max_file, 3);
  ASSERT_TRUE(parse_log_opt("max-size=1m", log).has_value());
  ASSERT_TRUE(parse_log_opt("max-file=5", log).has_value());
  EXPECT_EQ(log.max_size, 1 << 20);
  EXPECT_EQ(log.max_file, 5);
  EXPECT_EQ(err(parse_log_opt("max-file=0", log)),
            "invalid argument \"max-file=0\" for \"--log-opt\" flag: max-file cannot be less "
            "than 1");
  EXPECT_EQ(err(parse_log_opt("compress=true", log)),
            "invalid argument \"compress=true\" for \"--log-opt\" flag: unknown log opt "
            "'compress' for json-file log driver");
  EXPECT_EQ(err(parse_log_opt("max-size=big", log)),
            "invalid argument \"max-size=big\" for \"--log-opt\" flag: invalid size: 'big'");
}

TEST(ParseSecurityOpt, Values) {
  RunOptions o;
  EXPECT_TRUE(o.no_new_privileges);
  ASSERT_TRUE(parse_security_opt("no-new-privileges=false", o).has_value());
  EXPECT_FALSE(o.no_new_privileges);
  ASSERT_TRUE(parse_security_opt("no-new-privileges:true", o).has_value());
  EXPECT_TRUE(o.no_new_privileges);
  ASSERT_TRUE(parse_security_opt("seccomp=unconfined", o).has_value());
  EXPECT_EQ(o.seccomp_profile, "unconfined");
  ASSERT_TRUE(parse_security_opt("seccomp=/etc/p.json", o).has_value());
  EXPECT_EQ(o.seccomp_profile, "/etc/p.json");
  EXPECT_EQ(err(parse_security_opt("selinux=x", o)),
            "invalid argument \"selinux=x\" for \"--security-opt\" flag: invalid --security-opt: "
            "\"selinux=x\"");
  EXPECT_EQ(err(parse_security_profile("paranoid")),
            "invalid argument \"paranoid\" for \"--security-profile\" flag: expected default or "
            "strict");
}

TEST(RunOptionsDefaults, SecureDefaults) {
  RunOptions o;
  EXPECT_TRUE(o.init);
  EXPECT_TRUE(o.no_new_privileges);
  EXPECT_EQ(o.security_profile, SecurityProfile::Default);
  EXPECT_EQ(o.log.max_size, 10 * 1024 * 1024);
  EXPECT_EQ(o.log.max_file, 3);
  EXPECT_FALSE(o.pids_limit.has_value());
  std::map<std::string, std::string> labels;
  ASSERT_TRUE(parse_label("a=b=c", labels).has_value());
  ASSERT_TRUE(parse_label("flag", labels).has_value());
  EXPECT_EQ(labels["a"], "b=c");
  EXPECT_EQ(labels["flag"], "");
}

}  // namespace
TEST(RunOptionsTest, SysctlTakesOnlyTheContainersNamespacedParameters) {
  std::map<std::string, std::string> sysctls;
  for (const char* ok : {"net.core.somaxconn=1024", "net.ipv4.ip_forward=1", "kernel.shmmax=100",
                         "kernel.sem=250 32000 32 128", "fs.mqueue.msg_max=20", "kernel.msgmax="}) {
    EXPECT_TRUE(parse_sysctl(ok, sysctls).has_value()) << ok;
  }
  EXPECT_EQ(sysctls["kernel.sem"], "250 32000 32 128");
  EXPECT_EQ(sysctls["kernel.msgmax"], "");
  EXPECT_EQ(
      err(parse_sysctl("kernel.hostname=x", sysctls)),
      "invalid argument \"kernel.hostname=x\" for \"--sysctl\" flag: sysctl 'kernel.hostname' "
      "is not allowed: only the IPC (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) and "
      "network (net.*) parameters of the container's namespaces can be set");
  for (const char* bad : {"net.core.somaxconn", "=1", "vm.swappiness=1", "kernel.shmmax2=1",
                          "net.ipv4/../../kernel/x=1", "net..x=1"}) {
    EXPECT_FALSE(parse_sysctl(bad, sysctls).has_value()) << bad;
  }
}

TEST(RunOptionsTest, DeviceRateIsAnAbsolutePathAndAPositiveRate) {
  EXPECT_EQ(parse_device_rate("/dev/vda:1mb", "--device-read-bps", true).value(),
            (DeviceRate{"/dev/vda", 1 << 20}));
  EXPECT_EQ(parse_device_rate("/dev/disk/by-id/a:b:100", "--device-read-iops", false).value(),
            (DeviceRate{"/dev/disk/by-id/a:b", 100}));
  EXPECT_EQ(err(parse_device_rate("/dev/vda:1k", "--device-read-iops", false)),
            "invalid argument \"/dev/vda:1k\" for \"--device-read-iops\" flag: expected "
            "<device-path>:<number>");
  for (const char* bad : {"/dev/vda", "/dev/vda:", "/dev/vda:0", "/dev/vda:-1", ":1", "vda:1"}) {
    EXPECT_FALSE(parse_device_rate(bad, "--device-read-bps", true).has_value()) << bad;
  }
}

TEST(RunOptionsTest, OomScoreAdjIsAnIntegerWithinTheKernelsRange) {
  EXPECT_EQ(parse_oom_score_adj("-1000").value(), -1000);
  EXPECT_EQ(parse_oom_score_adj("1000").value(), 1000);
  EXPECT_EQ(err(parse_oom_score_adj("1001")),
            "invalid argument \"1001\" for \"--oom-score-adj\" flag: the range is [-1000, 1000]");
  EXPECT_FALSE(parse_oom_score_adj("x").has_value());
  EXPECT_FALSE(parse_oom_score_adj("").has_value());
}

}  // namespace berth::engine
