// Container JSON: the storage round trip, defaults and error paths, `docker inspect`'s shape,
// and the image/flag merge behind the effective config.
#include "engine/container_json.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

using nlohmann::ordered_json;

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

// Every RunOptions member differs from its default.
RunOptions full_options() {
  RunOptions o;
  o.image = "busybox:1.36";
  o.command = {"sh", "-c", "echo hi"};
  o.name = "web";
  o.detach = o.rm = o.interactive = o.tty = true;
  o.env = {"A=1", "B=two words"};
  MountSpec bind{MountKind::Bind, "/srv/data", "/data", true, "rshared", {}, {}, {}, false};
  MountSpec vol{MountKind::Volume, "cache", "/cache", false, "", {}, {}, {}, true};
  MountSpec tmp{MountKind::Tmpfs, "", "/tmp", false, "", 65536, 01777, {"exec", "uid=1"}, false};
  o.mounts = {bind, vol, tmp};
  o.read_only = true;
  o.user = "1000:1000";
  o.group_add = {"audio"};
  o.cap_add = {"NET_ADMIN"};
  o.cap_drop = {"ALL"};
  o.no_new_privileges = false;
  o.seccomp_profile = "unconfined";
  o.privileged = true;
  o.memory = 512LL << 20;
  o.memory_swap = -1;
  o.nano_cpus = 1500000000;
  o.cpuset_cpus = "0-1";
  o.cpuset_mems = "0";
  o.memory_reservation = 64LL << 20;
  o.cpu_shares = 512;
  o.cpu_period = 50000;
  o.cpu_quota = -1;
  o.shm_size = 1LL << 30;
  o.device_read_bps = {{"/dev/vda", 1 << 20}};
  o.device_write_iops = {{"/dev/vda", 100}, {"/dev/vdb", 5}};
  o.sysctls = {{"net.core.somaxconn", "1024"}, {"kernel.shmmax", "100"}};
  o.oom_score_adj = -500;
  o.domainname = "example.org";
  o.pids_limit = 100;
  o.ulimits = {{"nofile", 1024, 2048}, {"core", UINT64_MAX, UINT64_MAX}};
  o.restart = {RestartName::OnFailure, 3};
  o.health = {"curl -f localhost", 30000000000, 5000000000, 1000000000, 4, false};
  o.init = false;
  o.workdir = "/app";
  o.entrypoint = "";
  o.hostname = "box";
  o.labels = {{"a", "1"}, {"b.c", ""}};
  o.cidfile = "/run/app.cid";
  o.stop_signal = "SIGQUIT";
  o.stop_timeout = 20;
  o.log = {1 << 20, 5};
  o.secrets = {{"db", "/etc/db", 1, 2, 0400}};
  o.security_profile = SecurityProfile::Strict;
  return o;
}

void expect_same(const RunOptions& a, const RunOptions& b) {
  EXPECT_EQ(a.image, b.image);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.detach, b.detach);
  EXPECT_EQ(a.rm, b.rm);
  EXPECT_EQ(a.interactive, b.interactive);
  EXPECT_EQ(a.tty, b.tty);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.mounts, b.mounts);
  EXPECT_EQ(a.read_only, b.read_only);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.group_add, b.group_add);
  EXPECT_EQ(a.cap_add, b.cap_add);
  EXPECT_EQ(a.cap_drop, b.cap_drop);
  EXPECT_EQ(a.no_new_privileges, b.no_new_privileges);
  EXPECT_EQ(a.seccomp_profile, b.seccomp_profile);
  EXPECT_EQ(a.privileged, b.privileged);
  EXPECT_EQ(a.memory, b.memory);
  EXPECT_EQ(a.memory_swap, b.memory_swap);
  EXPECT_EQ(a.nano_cpus, b.nano_cpus);
  EXPECT_EQ(a.cpuset_cpus, b.cpuset_cpus);
  EXPECT_EQ(a.cpuset_mems, b.cpuset_mems);
  EXPECT_EQ(a.memory_reservation, b.memory_reservation);
  EXPECT_EQ(a.cpu_shares, b.cpu_shares);
  EXPECT_EQ(a.cpu_period, b.cpu_period);
  EXPECT_EQ(a.cpu_quota, b.cpu_quota);
  EXPECT_EQ(a.shm_size, b.shm_size);
  EXPECT_EQ(a.device_read_bps, b.device_read_bps);
  EXPECT_EQ(a.device_write_bps, b.device_write_bps);
  EXPECT_EQ(a.device_read_iops, b.device_read_iops);
  EXPECT_EQ(a.device_write_iops, b.device_write_iops);
  EXPECT_EQ(a.sysctls, b.sysctls);
  EXPECT_EQ(a.oom_score_adj, b.oom_score_adj);
  EXPECT_EQ(a.domainname, b.domainname);
  EXPECT_EQ(a.pids_limit, b.pids_limit);
  EXPECT_EQ(a.ulimits, b.ulimits);
  EXPECT_EQ(a.restart, b.restart);
  EXPECT_EQ(a.health, b.health);
  EXPECT_EQ(a.init, b.init);
  EXPECT_EQ(a.workdir, b.workdir);
  EXPECT_EQ(a.entrypoint, b.entrypoint);
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.cidfile, b.cidfile);
  EXPECT_EQ(a.stop_signal, b.stop_signal);
  EXPECT_EQ(a.stop_timeout, b.stop_timeout);
  EXPECT_EQ(a.log, b.log);
  EXPECT_EQ(a.secrets, b.secrets);
  EXPECT_EQ(a.security_profile, b.security_profile);
}

oci::ImageConfig sample_image() {
  oci::ImageConfig img;
  img.created = "2024-01-01T00:00:00Z";
  img.architecture = "amd64";
  img.os = "linux";
  img.config.user = "nobody";
  img.config.env = {"PATH=/usr/bin:/bin", "A=image", "LANG=C"};
  img.config.entrypoint = {"/docker-entrypoint.sh"};
  img.config.cmd = {"serve"};
  img.config.working_dir = "/srv";
  img.config.labels = {{"a", "image"}, {"maintainer", "me"}};
  img.config.volumes = {"/var/lib/data"};
  img.config.exposed_ports = {"80/tcp"};
  img.config.healthcheck = oci::HealthConfig{{"CMD", "true"}, 10000000000, 2000000000, 0, 0, 3};
  img.diff_ids = {*parse_digest("sha256:" + std::string(64, 'a'))};
  return img;
}

Container full_container() {
  Container c;
  c.id = std::string(64, 'f');
  c.name = "web";
  c.image = "busybox:1.36";
  c.image_id = "sha256:" + std::string(64, 'b');
  c.created = "2025-03-01T10:00:00.123456789Z";
  c.config = full_options();
  c.image_config = sample_image();
  c.mounts = {{c.config.mounts[0], "/srv/data", ""},
              {c.config.mounts[1], "/root/volumes/cache/_data", "cache"},
              {c.config.mounts[2], "", ""}};
  c.path = "/bin/sh";
  c.args = {"-c", "echo hi"};
  c.state.status = ContainerStatus::Running;
  c.state.pid = 4242;
  c.state.monitor_pid = 4241;
  c.state.exit_code = 137;
  c.state.oom_killed = true;
  c.state.error = "boom";
  c.state.started_at = "2025-03-01T10:00:01.000000001Z";
  c.state.finished_at = "2025-03-01T10:00:00.5Z";
  c.state.restart_count = 2;
  c.state.manually_stopped = true;
  c.state.health = {"healthy", 1, {{"2025-03-01T10:00:02Z", "2025-03-01T10:00:03Z", 0, "ok\n"}}};
  return c;
}

TEST(ContainerJson, FullRoundTrip) {
  Container c = full_container();
  std::string text = container_to_json(c);
  auto back = container_from_json(text);
  ASSERT_TRUE(back.has_value()) << err(back);
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->name, c.name);
  EXPECT_EQ(back->image, c.image);
  EXPECT_EQ(back->image_id, c.image_id);
  EXPECT_EQ(back->created, c.created);
  expect_same(back->config, c.config);
  EXPECT_EQ(back->image_config, c.image_config);
  EXPECT_EQ(back->mounts, c.mounts);
  EXPECT_EQ(back->path, c.path);
  EXPECT_EQ(back->args, c.args);
  EXPECT_EQ(back->state, c.state);
  EXPECT_EQ(container_to_json(*back), text);
}

TEST(ContainerJson, StorageNamesAreSnakeCase) {
  auto j = nlohmann::json::parse(container_to_json(full_container()));
  EXPECT_EQ(j["config"]["restart"]["name"], "on-failure");
  EXPECT_EQ(j["config"]["mounts"][2]["kind"], "tmpfs");
  EXPECT_EQ(j["config"]["entrypoint"], "");
  EXPECT_EQ(j["config"]["security_profile"], "strict");
  EXPECT_EQ(j["state"]["status"], "running");
  EXPECT_EQ(j["image_config"]["config"]["User"], "nobody");
}

TEST(ContainerJson, UnsetOptionalsStayUnset) {
  Container c;
  c.config.image = "busybox";
  auto back = container_from_json(container_to_json(c));
  ASSERT_TRUE(back.has_value()) << err(back);
  expect_same(back->config, c.config);
  EXPECT_FALSE(back->config.user.has_value());
  EXPECT_FALSE(back->config.entrypoint.has_value());
  EXPECT_FALSE(back->config.pids_limit.has_value());
}

TEST(ContainerJson, MissingMembersKeepDefaults) {
  auto c = container_from_json(R"({"id":"abc","config":{"image":"busybox","health":{}},"state":{}})");
  ASSERT_TRUE(c.has_value()) << err(c);
  EXPECT_EQ(c->id, "abc");
  EXPECT_EQ(c->config.image, "busybox");
  EXPECT_TRUE(c->config.no_new_privileges);
  EXPECT_TRUE(c->config.init);
  EXPECT_EQ(c->config.log.max_size, 10 * 1024 * 1024);
  EXPECT_EQ(c->config.log.max_file, 3);
  EXPECT_EQ(c->state.status, ContainerStatus::Created);
  EXPECT_TRUE(c->mounts.empty());

  auto empty = container_from_json("{}");
  ASSERT_TRUE(empty.has_value()) << err(empty);
  auto s = container_state_from_json(R"({"status":"exited","unknown_later_member":[1,2]})");
  ASSERT_TRUE(s.has_value()) << err(s);
  EXPECT_EQ(s->status, ContainerStatus::Exited);
  EXPECT_EQ(s->health, HealthState{});
}

TEST(ContainerJson, TypeErrorsNameThePath) {
  EXPECT_EQ(err(container_from_json(R"({"config":{"mounts":[{},{"readonly":"yes"}]}})")),
            "config.mounts[1].readonly: expected a boolean, got \"yes\"");
  EXPECT_EQ(err(container_from_json(R"({"config":{"mounts":[{"kind":"nfs"}]}})")),
            "config.mounts[0].kind: unknown value \"nfs\", expected one of bind, volume, tmpfs");
  EXPECT_EQ(err(container_from_json(R"({"config":{"memory":"1g"}})")),
            "config.memory: expected a signed 64-bit integer, got \"1g\"");
  EXPECT_EQ(err(container_from_json(R"({"config":{"labels":{"a":1}}})")),
            "config.labels.a: expected a string, got 1");
  EXPECT_EQ(err(container_from_json(R"({"state":{"health":{"log":[{"exit_code":"0"}]}}})")),
            "state.health.log[0].exit_code: expected a signed 32-bit integer, got \"0\"");
  EXPECT_EQ(err(container_from_json(R"({"image_config":[]})")), "image_config: expected an object, got an array");
  EXPECT_EQ(err(container_from_json("[]")), "expected an object, got an array");
  EXPECT_NE(err(container_from_json("{")).find("parse container JSON: line 1"), std::string::npos);
  EXPECT_EQ(err(container_state_from_json(R"({"status":"sleeping"})")),
            "status: unknown container status \"sleeping\"");
  auto r = container_state_from_json(R"({"pid":-1.5})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
}

TEST(ContainerJson, StateRoundTripAndBadUtf8) {
  ContainerState s = full_container().state;
  auto back = container_state_from_json(container_state_to_json(s));
  ASSERT_TRUE(back.has_value()) << err(back);
  EXPECT_EQ(*back, s);
  s.health.log[0].output = "bad \xff byte";
  auto replaced = container_state_from_json(container_state_to_json(s));  // must not throw
  ASSERT_TRUE(replaced.has_value()) << err(replaced);
  EXPECT_EQ(replaced->health.log[0].output, "bad \xEF\xBF\xBD byte");
}

// --- docker inspect -------------------------------------------------------------------

InspectPaths paths() {
  return {"/root/containers/x/x-json.log", "/root/containers/x/hosts", "/root/containers/x/resolv.conf",
          "/root/containers/x/hostname"};
}

Container simple_container() {
  Container c;
  c.id = std::string(64, 'c');
  c.name = "app";
  c.image = "busybox";
  c.image_id = "sha256:" + std::string(64, 'b');
  c.created = "2025-03-01T10:00:00.1Z";
  c.config.image = "busybox";
  c.image_config.config.cmd = {"sh"};
  c.image_config.config.env = {"PATH=/bin"};
  c.path = "sh";
  return c;
}

std::vector<std::string> keys(const ordered_json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

TEST(ContainerInspect, NetworkSettingsOfARunningContainer) {
  Container c = simple_container();
  c.config.network.mode = "front";
  c.config.network.attachments = {NetworkAttachment{std::string(64, 'a'), "front", {"api"}, ""}};
  c.config.network.publish = {"127.0.0.1:8080:80"};
  c.image_config.config.exposed_ports = {"80/tcp", "443/tcp"};
  c.state.status = ContainerStatus::Running;
  c.state.pid = 42;
  EndpointState e;
  e.network_id = std::string(64, 'a');
  e.network = "front";
  e.ip = "10.89.0.2";
  e.prefix = 24;
  e.gateway = "10.89.0.1";
  e.mac = "02:42:0a:59:00:02";
  e.dns_names = {"app", "cccccccccccc", "api"};
  c.state.networks = {e};
  c.state.ports = {PortBinding{"127.0.0.1", 8080, 80, "tcp"}};
  ordered_json j = container_inspect_json(c, paths());
  const auto& ns = j["NetworkSettings"];
  EXPECT_EQ(ns["Ports"].dump(), R"({"443/tcp":null,"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]})");
  EXPECT_EQ(ns["IPAddress"], "10.89.0.2");
  EXPECT_EQ(ns["SandboxKey"], "/proc/42/ns/net");
  const auto& front = ns["Networks"]["front"];
  EXPECT_EQ(front["IPAddress"], "10.89.0.2");
  EXPECT_EQ(front["IPPrefixLen"], 24);
  EXPECT_EQ(front["Gateway"], "10.89.0.1");
  EXPECT_EQ(front["MacAddress"], "02:42:0a:59:00:02");
  EXPECT_EQ(front["Aliases"], ordered_json::array({"api"}));
  EXPECT_EQ(front["DNSNames"], ordered_json::array({"app", "cccccccccccc", "api"}));
  EXPECT_EQ(front["NetworkID"], std::string(64, 'a'));
  EXPECT_EQ(j["HostConfig"]["NetworkMode"], "front");
  EXPECT_EQ(j["HostConfig"]["PortBindings"].dump(), R"({"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]})");
}

TEST(ContainerInspect, TopLevelShapeOfCreatedContainer) {
  ordered_json j = container_inspect_json(simple_container(), paths());
  EXPECT_EQ(keys(j), (std::vector<std::string>{"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                                               "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
                                               "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
                                               "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"}));
  EXPECT_EQ(j["Name"], "/app");
  EXPECT_EQ(j["Image"], "sha256:" + std::string(64, 'b'));
  EXPECT_EQ(j["Args"], ordered_json::array());
  EXPECT_EQ(j["LogPath"], "/root/containers/x/x-json.log");
  EXPECT_TRUE(j["ExecIDs"].is_null());
  EXPECT_EQ(j["State"]["Status"], "created");
  EXPECT_EQ(j["State"]["StartedAt"], "0001-01-01T00:00:00Z");
  EXPECT_FALSE(j["State"].contains("Health"));
  EXPECT_EQ(j["GraphDriver"].dump(), R"({"Name":"overlay2","Data":null})");
  EXPECT_EQ(j["NetworkSettings"].dump(),
            R"({"Bridge":"","SandboxID":"","SandboxKey":"","Ports":{},"Gateway":"","IPAddress":"",)"
            R"("IPPrefixLen":0,"MacAddress":"","Networks":{}})");
  const auto& hc = j["HostConfig"];
  EXPECT_TRUE(hc["Binds"].is_null());
  EXPECT_EQ(hc["LogConfig"].dump(), R"({"Type":"json-file","Config":{"max-file":"3","max-size":"10m"}})");
  EXPECT_EQ(hc["RestartPolicy"].dump(), R"({"Name":"no","MaximumRetryCount":0})");
  EXPECT_EQ(hc["PidsLimit"], kDefaultPidsLimit);
  EXPECT_EQ(hc["SecurityOpt"], ordered_json::array({"no-new-privileges=true"}));
  EXPECT_TRUE(hc["Ulimits"].is_null());
  EXPECT_FALSE(hc.contains("Tmpfs"));
  EXPECT_EQ(hc["Init"], true);
  const auto& cfg = j["Config"];
  EXPECT_EQ(cfg["Hostname"], std::string(12, 'c'));
  EXPECT_EQ(cfg["Image"], "busybox");
  EXPECT_EQ(cfg["Cmd"], ordered_json::array({"sh"}));
  EXPECT_TRUE(cfg["Entrypoint"].is_null());
  EXPECT_EQ(cfg["Labels"], ordered_json::object());
  EXPECT_FALSE(cfg.contains("Healthcheck"));
  EXPECT_FALSE(cfg.contains("StopSignal"));
  EXPECT_FALSE(cfg.contains("StopTimeout"));
  // Converts to nlohmann::json for callers that want the plain type.
  nlohmann::json plain = j;
  EXPECT_EQ(plain["Name"], "/app");
}

TEST(ContainerInspect, RunningWithHealth) {
  Container c = simple_container();
  c.config.health.cmd = "wget -q localhost";
  c.config.health.interval = 5000000000;
  c.state.status = ContainerStatus::Running;
  c.state.pid = 77;
  c.state.started_at = "2025-03-01T10:00:01Z";
  c.state.health = {"healthy", 0, {{"2025-03-01T10:00:06Z", "2025-03-01T10:00:07Z", 0, "fine"}}};
  ordered_json j = container_inspect_json(c, paths());
  const auto& st = j["State"];
  EXPECT_EQ(st["Running"], true);
  EXPECT_EQ(st["Pid"], 77);
  EXPECT_EQ(st["FinishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(st["Health"].dump(),
            R"({"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2025-03-01T10:00:06Z",)"
            R"("End":"2025-03-01T10:00:07Z","ExitCode":0,"Output":"fine"}]})");
  EXPECT_EQ(j["Config"]["Healthcheck"].dump(), R"({"Test":["CMD-SHELL","wget -q localhost"],"Interval":5000000000})");

  // Started with a healthcheck but no result yet: starting.
  c.state.health = {};
  j = container_inspect_json(c, paths());
  EXPECT_EQ(j["State"]["Health"]["Status"], "starting");
}

TEST(ContainerInspect, ExitedWithOom) {
  Container c = simple_container();
  c.state.status = ContainerStatus::Exited;
  c.state.exit_code = 137;
  c.state.oom_killed = true;
  c.state.started_at = "2025-03-01T10:00:01Z";
  c.state.finished_at = "2025-03-01T10:00:09Z";
  ordered_json st = container_inspect_json(c, paths())["State"];
  EXPECT_EQ(st.dump(),
            R"({"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":true,)"
            R"("Dead":false,"Pid":0,"ExitCode":137,"Error":"","StartedAt":"2025-03-01T10:00:01Z",)"
            R"("FinishedAt":"2025-03-01T10:00:09Z"})");
}

TEST(ContainerInspect, MountsOfEachKind) {
  Container c = simple_container();
  MountSpec bind{MountKind::Bind, "/srv/data", "/data", true, "", {}, {}, {}, false};
  MountSpec named{MountKind::Volume, "cache", "/cache", false, "", {}, {}, {}, false};
  MountSpec anon{MountKind::Volume, "", "/anon", false, "", {}, {}, {}, false};
  MountSpec tmp{MountKind::Tmpfs, "", "/run", false, "", 65536, 01777, {"exec"}, false};
  c.config.mounts = {bind, named, anon, tmp};
  MountSpec anon_named = anon;  // create names an anonymous volume; it stays out of Binds
  anon_named.source = std::string(64, 'd');
  c.mounts = {{bind, "/srv/data", ""},
              {named, "/r/volumes/cache/_data", "cache"},
              {anon_named, "/r/volumes/" + std::string(64, 'd') + "/_data", std::string(64, 'd')},
              {tmp, "", ""}};
  ordered_json j = container_inspect_json(c, paths());
  EXPECT_EQ(j["HostConfig"]["Binds"], ordered_json::array({"/srv/data:/data:ro", "cache:/cache"}));
  EXPECT_EQ(j["HostConfig"]["Tmpfs"].dump(), R"({"/run":"size=65536,mode=1777,exec"})");
  const auto& m = j["Mounts"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].dump(),
            R"({"Type":"bind","Source":"/srv/data","Destination":"/data","Mode":"ro","RW":false,)"
            R"("Propagation":"rprivate"})");
  EXPECT_EQ(m[1].dump(),
            R"({"Type":"volume","Name":"cache","Source":"/r/volumes/cache/_data","Destination":"/cache",)"
            R"("Driver":"local","Mode":"z","RW":true,"Propagation":""})");
  EXPECT_EQ(m[2]["Name"], std::string(64, 'd'));
  EXPECT_EQ(m[3]["Type"], "tmpfs");
  EXPECT_EQ(m[3]["Source"], "");
  EXPECT_EQ(j["Config"]["Volumes"].dump(), R"({"/anon":{}})");
}

TEST(ContainerInspect, RestartPolicyAndLimits) {
  Container c = simple_container();
  c.config.restart = {RestartName::OnFailure, 3};
  c.config.memory = 256LL << 20;
  c.config.nano_cpus = 500000000;
  c.config.pids_limit = -1;
  c.config.ulimits = {{"nofile", 1024, 2048}, {"core", UINT64_MAX, UINT64_MAX}};
  c.config.log = {5 << 20, 2};
  c.config.stop_timeout = 30;
  c.config.stop_signal = "SIGINT";
  c.state.restart_count = 2;
  ordered_json j = container_inspect_json(c, paths());
  const auto& hc = j["HostConfig"];
  EXPECT_EQ(hc["RestartPolicy"].dump(), R"({"Name":"on-failure","MaximumRetryCount":3})");
  EXPECT_EQ(hc["Memory"], 256LL << 20);
  EXPECT_EQ(hc["NanoCpus"], 500000000);
  EXPECT_EQ(hc["PidsLimit"], -1);
  EXPECT_EQ(hc["Ulimits"].dump(),
            R"([{"Name":"nofile","Hard":2048,"Soft":1024},{"Name":"core","Hard":-1,"Soft":-1}])");
  EXPECT_EQ(hc["LogConfig"]["Config"].dump(), R"({"max-file":"2","max-size":"5m"})");
  EXPECT_EQ(j["RestartCount"], 2);
  EXPECT_EQ(j["Config"]["StopTimeout"], 30);
  EXPECT_EQ(j["Config"]["StopSignal"], "SIGINT");
}

// --- effective config ---------------------------------------------------------------

TEST(EffectiveConfig, ImageOnly) {
  RunOptions o;
  oci::ImageConfig img = sample_image();
  EXPECT_EQ(effective_config(o, img), img.config);
}

TEST(EffectiveConfig, EnvOverrideKeepsOrder) {
  RunOptions o;
  o.env = {"LANG=C.UTF-8", "NEW=1", "A=flag"};
  auto c = effective_config(o, sample_image());
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "A=flag", "LANG=C.UTF-8", "NEW=1"}));
}

TEST(EffectiveConfig, EntrypointAndCommand) {
  oci::ImageConfig img = sample_image();
  RunOptions o;
  o.command = {"debug"};
  auto c = effective_config(o, img);
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/docker-entrypoint.sh"}));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"debug"}));

  o.command.clear();
  o.entrypoint = "/bin/sh";
  c = effective_config(o, img);
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/bin/sh"}));
  EXPECT_TRUE(c.cmd.empty());  // --entrypoint resets the image's CMD

  o.entrypoint = "";
  o.command = {"ls", "-l"};
  c = effective_config(o, img);
  EXPECT_TRUE(c.entrypoint.empty());
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"ls", "-l"}));
}

TEST(EffectiveConfig, UserWorkdirLabelsStopSignal) {
  oci::ImageConfig img = sample_image();
  RunOptions o;
  auto c = effective_config(o, img);
  EXPECT_EQ(c.user, "nobody");
  EXPECT_EQ(c.working_dir, "/srv");
  EXPECT_EQ(c.stop_signal, "");  // not filled in with SIGTERM
  o.user = "0";
  o.workdir = "/w";
  o.labels = {{"a", "flag"}, {"z", "new"}};
  o.stop_signal = "SIGUSR1";
  c = effective_config(o, img);
  EXPECT_EQ(c.user, "0");
  EXPECT_EQ(c.working_dir, "/w");
  EXPECT_EQ(c.labels, (std::map<std::string, std::string>{{"a", "flag"}, {"maintainer", "me"}, {"z", "new"}}));
  EXPECT_EQ(c.stop_signal, "SIGUSR1");
  img.config.stop_signal = "SIGWINCH";
  o.stop_signal.clear();
  EXPECT_EQ(effective_config(o, img).stop_signal, "SIGWINCH");
}

TEST(EffectiveConfig, HealthOverrides) {
  oci::ImageConfig img = sample_image();
  RunOptions o;
  o.health.timeout = 7000000000;
  o.health.retries = 9;
  auto c = effective_config(o, img);
  ASSERT_TRUE(c.healthcheck.has_value());
  EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD", "true"}));
  EXPECT_EQ(c.healthcheck->interval, 10000000000);
  EXPECT_EQ(c.healthcheck->timeout, 7000000000);
  EXPECT_EQ(c.healthcheck->retries, 9);

  o.health.cmd = "pgrep nginx";
  o.health.start_period = 3000000000;
  c = effective_config(o, img);
  EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "pgrep nginx"}));
  EXPECT_EQ(c.healthcheck->start_period, 3000000000);

  img.config.healthcheck.reset();
  RunOptions cmd_only;
  cmd_only.health.cmd = "true";
  c = effective_config(cmd_only, img);
  ASSERT_TRUE(c.healthcheck.has_value());
  EXPECT_EQ(*c.healthcheck, (oci::HealthConfig{{"CMD-SHELL", "true"}, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(effective_config(RunOptions{}, img).healthcheck.has_value());
}

TEST(EffectiveConfig, NoHealthcheck) {
  RunOptions o;
  o.health.none = true;
  auto c = effective_config(o, sample_image());
  ASSERT_TRUE(c.healthcheck.has_value());
  EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"NONE"}));

  Container ctr = simple_container();
  ctr.config = o;
  ctr.image_config = sample_image();
  ctr.state.status = ContainerStatus::Running;
  ctr.state.started_at = "2025-03-01T10:00:01Z";
  ordered_json j = container_inspect_json(ctr, paths());
  EXPECT_FALSE(j["State"].contains("Health"));
  EXPECT_EQ(j["Config"]["Healthcheck"].dump(), R"({"Test":["NONE"]})");
}

}  // namespace
}  // namespace berth::engine
