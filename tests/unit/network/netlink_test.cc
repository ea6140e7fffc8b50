// Netlink and netns against the real kernel. Every test works in network namespaces it creates
// itself (threads that unshare(CLONE_NEWNET)), so the machine's interfaces are never touched.
#include "network/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include "base/fs.h"
#include "network/netns.h"

namespace berth::network {
namespace {

#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    auto _r = (expr);                                                  \
    ASSERT_TRUE(_r.has_value()) << #expr << ": " << _r.error().what(); \
  } while (0)

// Unwraps a Result in a test body, failing the test (and returning) on error.
#define ASSERT_VALUE(var, expr)                                                          \
  auto var##_result = (expr);                                                            \
  ASSERT_TRUE(var##_result.has_value()) << #expr << ": " << var##_result.error().what(); \
  auto var = std::move(*var##_result)

Ipv4Net net(const char* text) { return *parse_ipv4_net(text); }

// A fresh network namespace, held by the returned fd (invalid when unshare is not allowed).
UniqueFd new_netns() {
  UniqueFd fd;
  std::thread thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    auto path = fmt::format("/proc/self/task/{}/ns/net", ::syscall(SYS_gettid));
    fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  });
  thread.join();
  return fd;
}

// Runs body on a thread that first moved into a namespace of its own.
void in_fresh_netns(const std::function<void()>& body) {
  std::thread thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      ADD_FAILURE() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
      return;
    }
    body();
  });
  thread.join();
}

bool contains(const std::vector<Ipv4Net>& nets, const Ipv4Net& wanted) {
  return std::find(nets.begin(), nets.end(), wanted) != nets.end();
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!new_netns()) GTEST_SKIP() << "needs root to create network namespaces";
  }
};

TEST(NetlinkRequest, NestedAttributesRoundTrip) {
  nl::Request req(RTM_NEWLINK, 0);
  ifinfomsg header{};
  req.put_header(header);
  req.put_string(IFLA_IFNAME, "berth0");
  size_t info = req.begin_nested(IFLA_LINKINFO);
  req.put_string(IFLA_INFO_KIND, "bridge");
  req.end_nested(info);
  req.put_u32(IFLA_MTU, 1400);
  auto bytes = req.finish(7, 0);
  ASSERT_EQ(bytes.size() % 4, 0u);
  auto msg_header = nl::read_header<nlmsghdr>(bytes);
  ASSERT_TRUE(msg_header);
  EXPECT_EQ(msg_header->nlmsg_len, bytes.size());
  EXPECT_EQ(msg_header->nlmsg_seq, 7u);
  EXPECT_TRUE(msg_header->nlmsg_flags & NLM_F_REQUEST);

  std::string name, kind;
  uint32_t mtu = 0;
  auto payload = bytes.subspan(NLMSG_HDRLEN);
  nl::for_each_attr(nl::attrs_after(payload, sizeof(ifinfomsg)),
                    [&](uint16_t type, std::span<const char> data) {
                      if (type == IFLA_IFNAME) name = nl::attr_string(data);
                      if (type == IFLA_MTU) mtu = nl::attr_u32(data).value_or(0);
                      if (type == IFLA_LINKINFO)
                        nl::for_each_attr(data, [&](uint16_t t, std::span<const char> d) {
                          if (t == IFLA_INFO_KIND) kind = nl::attr_string(d);
                        });
                    });
  EXPECT_EQ(name, "berth0");
  EXPECT_EQ(kind, "bridge");
  EXPECT_EQ(mtu, 1400u);
}

TEST(NetlinkRequest, MalformedAttributesStopTheWalk) {
  const char bad[] = {8, 0, 1, 0, 'a', 'b', 'c', 0, 40, 0, 2, 0};  // second claims 40 bytes
  int seen = 0;
  nl::for_each_attr(std::span<const char>(bad, sizeof bad),
                    [&](uint16_t, std::span<const char>) { ++seen; });
  EXPECT_EQ(seen, 1);
}

TEST_F(NetlinkTest, BridgeCreatedTwiceIsAlreadyExists) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("berth0"));
    ASSERT_VALUE(index, nl.link_index("berth0"));
    EXPECT_TRUE(index.has_value());
    auto again = nl.create_bridge("berth0");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(again.error().what(), "create bridge berth0: File exists");
  });
}

TEST_F(NetlinkTest, InvalidNamesAreRefusedBeforeTheKernel) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    for (const char* name : {"", "sixteen-chars-xx", "a/b", "a b", ".."}) {
      auto r = nl.create_bridge(name);
      ASSERT_FALSE(r) << name;
      EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << name;
    }
  });
}

TEST_F(NetlinkTest, AddressIsReadBackWithItsRoute) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("berth0"));
    ASSERT_OK(nl.add_address("berth0", net("10.88.0.1/16")));
    ASSERT_OK(nl.add_address("berth0", net("10.88.0.1/16")));  // idempotent
    ASSERT_OK(nl.set_up("berth0"));
    ASSERT_VALUE(nets, nl.addresses_and_routes());
    EXPECT_TRUE(contains(nets, net("10.88.0.1/16")));
    EXPECT_TRUE(contains(nets, net("10.88.0.0/16")));   // the prefix route of the address
    EXPECT_FALSE(contains(nets, net("10.88.0.1/32")));  // local table entries are left out

    auto missing = nl.add_address("nosuch0", net("10.89.0.1/16"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
    EXPECT_NE(missing.error().what().find("add address 10.89.0.1/16 to nosuch0"),
              std::string::npos);
  });
}

TEST_F(NetlinkTest, VethPeerIsCreatedInAnotherNamespace) {
  UniqueFd other = new_netns();
  ASSERT_TRUE(other);
  in_fresh_netns([&] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_veth("vbtest0", "eth0", other.get()));
    ASSERT_VALUE(host, nl.link_index("vbtest0"));
    EXPECT_TRUE(host.has_value());
    ASSERT_VALUE(peer_here, nl.link_index("eth0"));
    EXPECT_FALSE(peer_here.has_value());
  });
  std::optional<int> peer_there;
  ASSERT_OK(run_in_netns(other.get(), [&]() -> Result<void> {
    auto nl = TRY(Netlink::open());
    peer_there = TRY(nl.link_index("eth0"));
    return {};
  }));
  EXPECT_TRUE(peer_there.has_value());
}

TEST_F(NetlinkTest, MasterUpMtuHairpinAndDelete) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("br0"));
    ASSERT_OK(nl.create_veth("vbh0", "vbp0"));
    ASSERT_VALUE(before, nl.master_of("vbh0"));
    EXPECT_FALSE(before.has_value());
    ASSERT_OK(nl.set_master("vbh0", "br0"));
    ASSERT_VALUE(master, nl.master_of("vbh0"));
    EXPECT_EQ(master, std::optional<std::string>("br0"));
    ASSERT_OK(nl.set_mtu("vbh0", 1400));
    ASSERT_OK(nl.set_up("br0"));
    ASSERT_OK(nl.set_up("vbh0"));
    ASSERT_OK(nl.set_hairpin("vbh0", true));
    ASSERT_OK(nl.set_hairpin("vbh0", false));
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));  // in this namespace
    ifreq req{};
    std::strcpy(req.ifr_name, "vbh0");
    ASSERT_EQ(::ioctl(probe.get(), SIOCGIFMTU, &req), 0) << std::strerror(errno);
    EXPECT_EQ(req.ifr_mtu, 1400);

    auto no_bridge = nl.set_master("vbh0", "nosuch0");
    ASSERT_FALSE(no_bridge);
    EXPECT_EQ(no_bridge.error().code(), ErrorCode::NotFound);

    ASSERT_OK(nl.delete_link("vbh0"));
    ASSERT_VALUE(host, nl.link_index("vbh0"));
    EXPECT_FALSE(host.has_value());
    ASSERT_VALUE(peer, nl.link_index("vbp0"));
    EXPECT_FALSE(peer.has_value());  // a veth pair goes away as a whole
    auto again = nl.delete_link("vbh0");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::NotFound);
    EXPECT_EQ(again.error().message(), "delete link vbh0");
  });
}

TEST_F(NetlinkTest, HairpinOnALinkWithoutBridgeFails) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_veth("vbh0", "vbp0"));
    auto r = nl.set_hairpin("vbh0", true);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("set hairpin mode on for bridge port vbh0"), std::string::npos);
  });
}

TEST_F(NetlinkTest, LinksWithPrefixAcrossAMultipartDump) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    // Enough links that the dump spans several datagrams of the 32 KiB buffer.
    for (int i = 0; i < 48; ++i) ASSERT_OK(nl.create_bridge(fmt::format("berth{}", i)));
    ASSERT_OK(nl.create_veth("vb1", "other1"));
    ASSERT_VALUE(berth, nl.links_with_prefix("berth"));
    EXPECT_EQ(berth.size(), 48u);
    ASSERT_VALUE(vb, nl.links_with_prefix("vb"));
    EXPECT_EQ(vb, std::vector<std::string>{"vb1"});
    ASSERT_VALUE(none, nl.links_with_prefix("zz"));
    EXPECT_TRUE(none.empty());
  });
}

TEST_F(NetlinkTest, RunInNetnsReturnsTheFunctionsError) {
  UniqueFd other = new_netns();
  ASSERT_TRUE(other);
  auto r = run_in_netns(other.get(), []() -> Result<void> {
    return Fail(ErrorCode::Conflict, "configure eth0: boom");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Conflict);
  EXPECT_EQ(r.error().what(), "configure eth0: boom");

  bool ran = false;
  auto bad_fd = run_in_netns(-1, [&]() -> Result<void> {
    ran = true;
    return {};
  });
  EXPECT_FALSE(bad_fd);
  EXPECT_FALSE(ran);
}

TEST_F(NetlinkTest, OpenNetnsOfAProcess) {
  ASSERT_VALUE(self, open_netns_of(::getpid()));
  EXPECT_TRUE(self);
  auto missing = open_netns_of(0x3fffffff);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(NetlinkTest, SysctlIsWrittenInTheCallersNamespace) {
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("berth0"));
    ASSERT_OK(write_sysctl("net/ipv4/conf/berth0/route_localnet", "1"));
    ASSERT_VALUE(value, read_file("/proc/sys/net/ipv4/conf/berth0/route_localnet"));
    EXPECT_EQ(value, "1\n");
    auto escape = write_sysctl("net/../../etc/passwd", "x");
    ASSERT_FALSE(escape);
    EXPECT_EQ(escape.error().code(), ErrorCode::InvalidArgument);
    auto missing = write_sysctl("net/ipv4/conf/nosuch0/forwarding", "1");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
  });
}

TEST_F(NetlinkTest, NoDescriptorIsLeft) {
  auto count_fds = [] { return list_dir("/proc/self/fd")->size(); };
  size_t before = count_fds();
  in_fresh_netns([] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("berth0"));
    EXPECT_FALSE(nl.create_bridge("berth0"));
    ASSERT_OK(nl.links_with_prefix("berth"));
  });
  UniqueFd other = new_netns();
  ASSERT_OK(run_in_netns(other.get(), []() -> Result<void> {
    auto nl = TRY(Netlink::open());
    TRY(nl.links_with_prefix("lo"));
    return {};
  }));
  other.reset();
  EXPECT_EQ(count_fds(), before);
}

// Two namespaces joined by a bridge and a veth: a TCP connection from the "container" side,
// through its default route, to a listener on the "host" side shows the setup is real.
TEST_F(NetlinkTest, TcpConnectsAcrossBridgeAndVeth) {
  UniqueFd container = new_netns();
  ASSERT_TRUE(container);
  in_fresh_netns([&] {
    ASSERT_VALUE(nl, Netlink::open());
    ASSERT_OK(nl.create_bridge("berth0"));
    ASSERT_OK(nl.add_address("berth0", net("10.99.0.1/24")));
    ASSERT_OK(nl.add_address("berth0", net("10.77.0.1/32")));  // only reachable via the gateway
    ASSERT_OK(nl.set_up("berth0"));
    ASSERT_OK(nl.create_veth("vbtest0", "eth0", container.get()));
    ASSERT_OK(nl.set_master("vbtest0", "berth0"));
    ASSERT_OK(nl.set_up("vbtest0"));

    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(parse_ipv4("10.77.0.1")->value);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);

    UniqueFd client;
    ASSERT_OK(run_in_netns(container.get(), [&]() -> Result<void> {
      auto inside = TRY(Netlink::open());
      TRY(inside.add_address("eth0", net("10.99.0.2/24")));
      TRY(inside.set_up("lo"));
      TRY(inside.set_up("eth0"));
      TRY(inside.add_default_route(*parse_ipv4("10.99.0.1")));
      client = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!client) return FailErrno(errno, "socket");
      timeval timeout{10, 0};
      ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return FailErrno(errno, "connect to 10.77.0.1");
      return write_all(client.get(), "hello");
    }));

    pollfd ready{listener.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&ready, 1, 10000), 1);
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    UniqueFd conn(
        ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
    ASSERT_TRUE(conn) << std::strerror(errno);
    EXPECT_EQ(Ipv4{ntohl(peer.sin_addr.s_addr)}.str(), "10.99.0.2");
    char buf[5] = {};
    ASSERT_EQ(::recv(conn.get(), buf, sizeof buf, MSG_WAITALL), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
  });
}

}  // namespace
}  // namespace berth::network
