// NftRules against the kernel: every test runs on a thread in a fresh network namespace (nft
// started from it changes that namespace's ruleset only) and asserts on what
// `nft -j list table ip berth` reads back, not on the text berth generated.
#include "network/nft_rules.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/scope_guard.h"
#include "base/unique_fd.h"
#include "network/nft_exec.h"

namespace berth::network {
namespace {

using nlohmann::json;

constexpr const char* kNft = "/usr/sbin/nft";

// Runs body on a thread that has unshared its network namespace.
void in_fresh_netns(const std::function<void()>& body) {
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      ADD_FAILURE() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
      return;
    }
    body();
  });
  t.join();
}

std::string operand(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  if (j.is_object() && j.contains("prefix"))
    return j["prefix"]["addr"].get<std::string>() + "/" + j["prefix"]["len"].dump();
  if (j.is_object() && j.contains("meta")) return j["meta"]["key"].get<std::string>();
  if (j.is_object() && j.contains("payload"))
    return j["payload"]["protocol"].get<std::string>() + "." + j["payload"]["field"].get<std::string>();
  if (j.is_object() && j.contains("ct")) return "ct." + j["ct"]["key"].get<std::string>();
  if (j.is_object() && j.contains("fib")) return "fib." + j["fib"]["result"].get<std::string>();
  return j.dump();
}

// A rule as the kernel holds it, in a compact form: "iifname == br-a oifname != br-a drop".
std::string signature(const json& expr) {
  std::vector<std::string> parts;
  for (const auto& e : expr) {
    if (e.contains("match")) {
      const json& m = e["match"];
      parts.push_back(operand(m["left"]) + " " + m["op"].get<std::string>() + " " + operand(m["right"]));
    } else if (e.contains("dnat")) {
      parts.push_back("dnat " + e["dnat"]["addr"].get<std::string>() + ":" + e["dnat"]["port"].dump());
    } else if (e.contains("jump")) {
      parts.push_back("jump " + e["jump"]["target"].get<std::string>());
    } else {
      parts.push_back(e.begin().key());
    }
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

struct KernelRule {
  std::string comment, text;
};
struct KernelTable {
  std::map<std::string, std::vector<KernelRule>> chains;  // every chain, rules in order
  std::set<std::string> bridges;
  std::vector<std::string> texts(const std::string& chain) const {
    std::vector<std::string> out;
    if (auto it = chains.find(chain); it != chains.end())
      for (const auto& r : it->second) out.push_back(r.text);
    return out;
  }
  size_t count(const std::string& chain, const std::string& comment) const {
    auto it = chains.find(chain);
    if (it == chains.end()) return 0;
    return std::count_if(it->second.begin(), it->second.end(), [&](const auto& r) { return r.comment == comment; });
  }
};

// The table as the kernel holds it, nullopt when there is none.
std::optional<KernelTable> kernel_table() {
  auto out = run_nft(kNft, {"-j", "list", "table", "ip", "berth"});
  if (!out) return std::nullopt;
  KernelTable t;
  json doc = json::parse(*out);
  for (const auto& item : doc["nftables"]) {
    if (item.contains("chain")) t.chains[item["chain"]["name"].get<std::string>()];
    if (item.contains("set") && item["set"].contains("elem")) {
      const json& e = item["set"]["elem"];
      for (const auto& v : e.is_array() ? e : json::array({e})) t.bridges.insert(v.get<std::string>());
    }
    if (item.contains("rule")) {
      const json& r = item["rule"];
      t.chains[r["chain"].get<std::string>()].push_back({r.value("comment", ""), signature(r["expr"])});
    }
  }
  return t;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Ipv4 ip(const char* text) { return *parse_ipv4(text); }
Ipv4Net net(const char* text) { return *parse_ipv4_net(text); }

class NftRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces and nftables";
    if (::access(kNft, X_OK) != 0) GTEST_SKIP() << kNft << " is not installed";
  }
  NftRules rules_{kNft};
  NetworkRule net_a_{"neta", "br-a", net("10.88.0.0/16"), false};
  NetworkRule net_b_{"netb", "br-b", net("10.89.0.0/24"), false};
};

TEST_F(NftRulesTest, AddNetworkCreatesTheTableAndIsIdempotent) {
  in_fresh_netns([&] {
    for (int i = 0; i < 2; ++i) {
      auto r = rules_.add_network(net_a_);
      ASSERT_TRUE(r) << r.error().what();
    }
    auto t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->texts("prerouting"),
              std::vector<std::string>{"fib.type == local ip.daddr != 127.0.0.0/8 jump ports"});
    EXPECT_EQ(t->texts("output"), std::vector<std::string>{"fib.type == local jump ports"});
    EXPECT_TRUE(t->chains.contains("ports"));
    EXPECT_EQ(t->texts("forward"),
              std::vector<std::string>{"iifname == br-a oifname != br-a oifname == @bridges drop"});
    auto post = t->texts("postrouting");
    EXPECT_EQ(post.size(), 3u);
    EXPECT_TRUE(contains(post, "ip.saddr == 10.88.0.0/16 oifname != br-a masquerade"));
    EXPECT_TRUE(contains(post, "ip.saddr == 127.0.0.0/8 oifname == br-a masquerade"));
    EXPECT_TRUE(contains(post, "ct.status in dnat ip.saddr == 10.88.0.0/16 oifname == br-a masquerade"));
    EXPECT_EQ(t->count("postrouting", "n:neta"), 3u);
    EXPECT_EQ(t->bridges, std::set<std::string>{"br-a"});
  });
}

TEST_F(NftRulesTest, RemoveNetworkLeavesNothingAndIsANoOpWhenAbsent) {
  in_fresh_netns([&] {
    auto r = rules_.remove_network("neta");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(kernel_table()) << "removing from no table creates none";
    ASSERT_TRUE(rules_.add_network(net_a_));
    r = rules_.remove_network("neta");
    ASSERT_TRUE(r) << r.error().what();
    auto t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->texts("forward").empty());
    EXPECT_TRUE(t->texts("postrouting").empty());
    EXPECT_TRUE(t->bridges.empty());
    r = rules_.remove_network("neta");
    EXPECT_TRUE(r) << r.error().what();
  });
}

TEST_F(NftRulesTest, TwoNetworksAreIsolatedFromEachOther) {
  in_fresh_netns([&] {
    ASSERT_TRUE(rules_.add_network(net_a_));
    ASSERT_TRUE(rules_.add_network(net_b_));
    auto t = kernel_table();
    ASSERT_TRUE(t);
    auto fwd = t->texts("forward");
    EXPECT_EQ(fwd.size(), 2u);
    EXPECT_TRUE(contains(fwd, "iifname == br-a oifname != br-a oifname == @bridges drop"));
    EXPECT_TRUE(contains(fwd, "iifname == br-b oifname != br-b oifname == @bridges drop"));
    EXPECT_EQ(t->bridges, (std::set<std::string>{"br-a", "br-b"}));
    for (const auto& chain : t->chains)
      for (const auto& rule : chain.second)
        EXPECT_EQ(rule.text.find("accept"), std::string::npos) << "no accept overriding the host: " << rule.text;

    ASSERT_TRUE(rules_.remove_network("neta"));
    t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->texts("forward"),
              std::vector<std::string>{"iifname == br-b oifname != br-b oifname == @bridges drop"});
    EXPECT_EQ(t->count("postrouting", "n:netb"), 3u);
    EXPECT_EQ(t->count("postrouting", "n:neta"), 0u);
    EXPECT_EQ(t->bridges, std::set<std::string>{"br-b"});
  });
}

TEST_F(NftRulesTest, InternalNetworkHasNoWayOutAndNoMasquerade) {
  in_fresh_netns([&] {
    ASSERT_TRUE(rules_.add_network({"inet1", "br-i", net("10.90.0.0/24"), true}));
    auto t = kernel_table();
    ASSERT_TRUE(t);
    auto fwd = t->texts("forward");
    EXPECT_EQ(fwd.size(), 2u);
    EXPECT_TRUE(contains(fwd, "iifname == br-i oifname != br-i drop"));
    EXPECT_TRUE(contains(fwd, "oifname == br-i iifname != br-i drop"));
    EXPECT_FALSE(contains(t->texts("postrouting"), "ip.saddr == 10.90.0.0/24 oifname != br-i masquerade"));
    EXPECT_EQ(t->bridges, std::set<std::string>{"br-i"});
  });
}

TEST_F(NftRulesTest, PortsAddAndRemoveLeaveNothingBehind) {
  in_fresh_netns([&] {
    ASSERT_TRUE(rules_.add_network(net_a_));
    std::vector<PortRule> ports = {{ip("127.0.0.1"), 8080, ip("10.88.0.2"), 80, Protocol::Tcp},
                                   {std::nullopt, 5353, ip("10.88.0.2"), 53, Protocol::Udp},
                                   {ip("0.0.0.0"), 8443, ip("10.88.0.2"), 443, Protocol::Tcp}};
    auto r = rules_.add_ports("c1", "br-a", net_a_.subnet, ports);
    ASSERT_TRUE(r) << r.error().what();
    auto t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->texts("ports"), (std::vector<std::string>{
                                     "ip.daddr == 127.0.0.1 tcp.dport == 8080 dnat 10.88.0.2:80",
                                     "udp.dport == 5353 dnat 10.88.0.2:53",
                                     "tcp.dport == 8443 dnat 10.88.0.2:443",
                                 }));
    EXPECT_EQ(t->count("ports", "c:c1"), 3u);
    EXPECT_TRUE(contains(t->texts("postrouting"),
                         "ip.saddr == 10.88.0.2 ip.daddr == 10.88.0.2 oifname == br-a tcp.dport == 80 masquerade"));
    EXPECT_EQ(t->count("postrouting", "c:c1"), 3u);

    r = rules_.remove_ports("c1");
    ASSERT_TRUE(r) << r.error().what();
    t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->texts("ports").empty());
    EXPECT_EQ(t->count("postrouting", "c:c1"), 0u);
    EXPECT_EQ(t->count("postrouting", "n:neta"), 3u) << "the network's rules stay";
    r = rules_.remove_ports("c1");
    EXPECT_TRUE(r) << r.error().what();
  });
}

TEST_F(NftRulesTest, ContainersWithPortsListsTheIdsInComments) {
  in_fresh_netns([&] {
    auto none = rules_.containers_with_ports();
    ASSERT_TRUE(none) << none.error().what();
    EXPECT_TRUE(none->empty());
    PortRule p{std::nullopt, 8080, ip("10.88.0.3"), 80, Protocol::Tcp};
    ASSERT_TRUE(rules_.add_ports("c2", "br-a", net_a_.subnet, {p}));
    p.host_port = 8081;
    ASSERT_TRUE(rules_.add_ports("c1", "br-a", net_a_.subnet, {p}));
    EXPECT_EQ(*rules_.containers_with_ports(), (std::vector<std::string>{"c1", "c2"}));
    ASSERT_TRUE(rules_.remove_ports("c1"));
    EXPECT_EQ(*rules_.containers_with_ports(), std::vector<std::string>{"c2"});
  });
}

TEST_F(NftRulesTest, RacingBerthProcessesLeaveOneJumpIntoPorts) {
  in_fresh_netns([&] {
    std::vector<std::thread> threads;  // created here, so they share this namespace
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        std::string id = "c" + std::to_string(i);
        PortRule p{std::nullopt, static_cast<uint16_t>(9000 + i), ip("10.88.0.4"), 80, Protocol::Tcp};
        for (int k = 0; k < 3; ++k) {
          auto r = rules_.add_ports(id, "br-a", net_a_.subnet, {p});
          EXPECT_TRUE(r) << r.error().what();
          r = rules_.remove_ports(id);
          EXPECT_TRUE(r) << r.error().what();
        }
      });
    }
    for (auto& t : threads) t.join();
    auto t = kernel_table();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->texts("prerouting").size(), 1u);
    EXPECT_EQ(t->texts("output").size(), 1u);
    EXPECT_TRUE(t->texts("ports").empty());
  });
}

TEST_F(NftRulesTest, RemoveAllDeletesTheTable) {
  in_fresh_netns([&] {
    auto r = rules_.remove_all();
    ASSERT_TRUE(r) << r.error().what();
    ASSERT_TRUE(rules_.add_network(net_a_));
    ASSERT_TRUE(kernel_table());
    r = rules_.remove_all();
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(kernel_table());
  });
}

TEST_F(NftRulesTest, BadInputIsRejectedBeforeNftRuns) {
  in_fresh_netns([&] {
    auto r = rules_.add_network({"bad id", "br-a", net("10.88.0.0/16"), false});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    r = rules_.add_network({"n1", "bridge-name-too-long", net("10.88.0.0/16"), false});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("bridge-name-too-long"), std::string::npos) << r.error().what();
    r = rules_.add_network({"n1", "br\"x", net("10.88.0.0/16"), false});
    EXPECT_FALSE(r);
    r = rules_.add_ports("c1", "br-a", net("10.88.0.0/16"), {{std::nullopt, 80, ip("10.99.0.2"), 80, Protocol::Tcp}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("10.99.0.2 is not in network 10.88.0.0/16"), std::string::npos)
        << r.error().what();
    r = rules_.add_ports("c1", "br-a", net("10.88.0.0/16"), {{std::nullopt, 0, ip("10.88.0.2"), 80, Protocol::Tcp}});
    EXPECT_FALSE(r);
    EXPECT_FALSE(kernel_table()) << "nothing reached the kernel";
  });
}

TEST_F(NftRulesTest, NftFailureQuotesNftsMessage) {
  in_fresh_netns([&] {
    auto r = nft_apply(kNft, "add table ip berth\nadd rule ip berth nosuchchain drop\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
    EXPECT_EQ(r.error().what().rfind("nft: add rule ip berth nosuchchain drop: Error: ", 0), 0u) << r.error().what();
    auto missing = NftRules("/nonexistent/nft").add_network(net_a_);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().what().find("/nonexistent/nft"), std::string::npos) << missing.error().what();
  });
}

TEST(NftErrorSummary, KeepsTheFailingCommandAndMessage) {
  EXPECT_EQ(summarize_nft_error("/dev/stdin:3:50-64: Error: invalid priority expression value in this context.\n"
                                "add chain ip berth output { type nat hook output priority dstnat; }\n"
                                "                                                 ^^^^^^^^^^^^^^^\n"),
            "add chain ip berth output { type nat hook output priority dstnat; }: Error: invalid priority "
            "expression value in this context.");
  EXPECT_EQ(summarize_nft_error("Error: No such file or directory\n"), "Error: No such file or directory");
  EXPECT_EQ(summarize_nft_error("  something\n  else \n"), "something else");
  EXPECT_EQ(summarize_nft_error(""), "no message");
}

// --- end to end: real packets through the rules ---

// Connects to ip:port and reads until EOF; nullopt when the connection fails.
std::optional<std::string> fetch(const char* addr, uint16_t port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return std::nullopt;
  timeval tv{3, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr, &sa.sin_addr);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return std::nullopt;
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(s.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// The "container": forked from the host namespace's thread, it unshares its own namespace,
// waits for its end of the veth, then greets every TCP connection on port 80.
// A probe forked inside it connects back through the host address (hairpin) when asked.
[[noreturn]] void container_main(int ready_w, int go_r, int listening_w, int probe_r, int probe_w) {
  char c = 1;
  if (::unshare(CLONE_NEWNET) != 0) _exit(10);
  if (::write(ready_w, &c, 1) != 1 || ::read(go_r, &c, 1) != 1) _exit(11);
  if (!sh("ip link set lo up && ip addr add 10.89.0.2/24 dev veth-c && ip link set veth-c up && "
          "ip route add default via 10.89.0.1"))
    _exit(12);
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(80);
  if (::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(s, 16) != 0) _exit(13);
  if (::fork() == 0) {  // the probe: 10.89.0.2 -> 10.89.0.1:18081 -> back to 10.89.0.2:80
    if (::read(probe_r, &c, 1) != 1) _exit(0);
    auto got = fetch("10.89.0.1", 18081);
    char ok = got && *got == "hello from the container\n" ? 1 : 0;
    (void)!::write(probe_w, &ok, 1);
    _exit(0);
  }
  if (::write(listening_w, &c, 1) != 1) _exit(14);
  for (;;) {
    int conn = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    static const char kGreeting[] = "hello from the container\n";
    (void)!::write(conn, kGreeting, sizeof(kGreeting) - 1);
    ::close(conn);
  }
}

TEST_F(NftRulesTest, PublishedPortsCarryTrafficIntoAContainer) {
  in_fresh_netns([&] {
    ASSERT_TRUE(sh("ip link set lo up && ip link add br-t type bridge && ip addr add 10.89.0.1/24 dev br-t && "
                   "ip link set br-t up && sysctl -qw net.ipv4.ip_forward=1 && "
                   "sysctl -qw net.ipv4.conf.br-t.route_localnet=1"))
        << "bridge setup in the test namespace";
    int ready[2], go[2], listening[2], probe[2], probed[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(listening, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(probe, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(probed, O_CLOEXEC), 0);
    UniqueFd ready_r(ready[0]), ready_w(ready[1]), go_r(go[0]), go_w(go[1]), listening_r(listening[0]),
        listening_w(listening[1]), probe_r(probe[0]), probe_w(probe[1]), probed_r(probed[0]), probed_w(probed[1]);
    pid_t container = ::fork();
    ASSERT_GE(container, 0);
    if (container == 0) container_main(ready_w.get(), go_r.get(), listening_w.get(), probe_r.get(), probed_w.get());
    auto reap = defer([&] {
      ::kill(container, SIGKILL);  // the probe has exited or dies reading a closed pipe
      ::waitpid(container, nullptr, 0);
    });
    ready_w.reset();
    go_r.reset();
    listening_w.reset();
    probe_r.reset();
    probed_w.reset();
    char c = 0;
    ASSERT_EQ(::read(ready_r.get(), &c, 1), 1) << "container namespace";
    // Hairpin mode as the engine sets it on bridge ports: with br_netfilter loaded, the DNAT of a
    // container reaching its own published port happens while bridging and the frame goes back
    // out the port it came in on.
    ASSERT_TRUE(sh("ip link add veth-h type veth peer name veth-c && ip link set veth-h master br-t && "
                   "bridge link set dev veth-h hairpin on && ip link set veth-h up && ip link set veth-c netns " + std::to_string(container)));
    ASSERT_EQ(::write(go_w.get(), &c, 1), 1);
    ASSERT_EQ(::read(listening_r.get(), &c, 1), 1) << "container listening on 10.89.0.2:80";

    NetworkRule n{"nett", "br-t", net("10.89.0.0/24"), false};
    auto r = rules_.add_network(n);
    ASSERT_TRUE(r) << r.error().what();
    r = rules_.add_ports("ct1", "br-t", n.subnet,
                         {{ip("127.0.0.1"), 18080, ip("10.89.0.2"), 80, Protocol::Tcp},
                          {std::nullopt, 18081, ip("10.89.0.2"), 80, Protocol::Tcp}});
    ASSERT_TRUE(r) << r.error().what();

    const std::string greeting = "hello from the container\n";
    EXPECT_EQ(fetch("127.0.0.1", 18080), greeting) << "127.0.0.1:18080 -> container:80";
    EXPECT_EQ(fetch("127.0.0.1", 18081), greeting) << "0.0.0.0:18081 via localhost";
    EXPECT_EQ(fetch("10.89.0.1", 18081), greeting) << "0.0.0.0:18081 via the bridge address";
    EXPECT_EQ(fetch("10.89.0.1", 18080), std::nullopt) << "published on 127.0.0.1 only";
    ASSERT_EQ(::write(probe_w.get(), &c, 1), 1);
    char hairpin = 0;
    ASSERT_EQ(::read(probed_r.get(), &hairpin, 1), 1);
    EXPECT_EQ(hairpin, 1) << "the container reaches its own published port via the host address";

    ASSERT_TRUE(rules_.remove_ports("ct1"));
    EXPECT_EQ(fetch("127.0.0.1", 18080), std::nullopt) << "unpublished";
  });
}

}  // namespace
}  // namespace berth::network
