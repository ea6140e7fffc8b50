// -p/--publish and --expose parsing (table-driven, Docker's cases and messages), host port
// selection against real sockets inside a fresh network namespace, `docker port` lines.
#include "network/port_spec.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "base/unique_fd.h"

namespace berth::network {
namespace {

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

Ipv4 ip(std::string_view s) { return parse_ipv4(s).value(); }

PortMapping pm(std::optional<Ipv4> host_ip, uint16_t first, uint16_t last, uint16_t port,
               Protocol proto = Protocol::Tcp) {
  return PortMapping{host_ip, first, last, port, proto};
}

TEST(ParsePublish, Accepts) {
  const auto any = std::nullopt;
  struct Case {
    const char* text;
    std::vector<PortMapping> want;
  } cases[] = {
      {"80", {pm(any, 0, 0, 80)}},
      {"8080:80", {pm(any, 8080, 8080, 80)}},
      {"8080:80/udp", {pm(any, 8080, 8080, 80, Protocol::Udp)}},
      {"8080:80/UDP", {pm(any, 8080, 8080, 80, Protocol::Udp)}},
      {"8080:80/", {pm(any, 8080, 8080, 80)}},
      {"0:80", {pm(any, 0, 0, 80)}},
      {"127.0.0.1:8080:80", {pm(ip("127.0.0.1"), 8080, 8080, 80)}},
      {"127.0.0.1::80", {pm(ip("127.0.0.1"), 0, 0, 80)}},
      {"[127.0.0.1]:8080:80/tcp", {pm(ip("127.0.0.1"), 8080, 8080, 80)}},
      {"0.0.0.0:8080:80", {pm(any, 8080, 8080, 80)}},
      {"::80", {pm(any, 0, 0, 80)}},
      {"8000-8005:80", {pm(any, 8000, 8005, 80)}},
      {"8000-8002:80-82",
       {pm(any, 8000, 8000, 80), pm(any, 8001, 8001, 81), pm(any, 8002, 8002, 82)}},
      {"80-82", {pm(any, 0, 0, 80), pm(any, 0, 0, 81), pm(any, 0, 0, 82)}},
      {"10.0.0.1::80-81/udp",
       {pm(ip("10.0.0.1"), 0, 0, 80, Protocol::Udp), pm(ip("10.0.0.1"), 0, 0, 81, Protocol::Udp)}},
      {"65535:65535", {pm(any, 65535, 65535, 65535)}},
      {"08080:0080", {pm(any, 8080, 8080, 80)}},
  };
  for (const auto& c : cases) {
    auto r = parse_publish(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
    EXPECT_EQ(*r, c.want) << c.text;
  }
}

TEST(ParsePublish, WholePortRange) {
  auto r = parse_publish("1-65535");
  ASSERT_TRUE(r.has_value()) << err(r);
  ASSERT_EQ(r->size(), 65535u);
  EXPECT_EQ(r->back().container_port, 65535);
}

TEST(ParsePublish, Refuses) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "no port specified: <empty>"},
      {"8080:", "no port specified: 8080:<empty>"},
      {"8080:/tcp", "no port specified: 8080:/tcp<empty>"},
      {"80/sctp", "sctp is not supported"},
      {"80/icmp", "invalid proto: icmp"},
      {"[::1]:8080:80", "IPv6 host address [::1] is not supported yet"},
      {"::1:8080:80", "IPv6 host address ::1 is not supported yet"},
      {"localhost:8080:80", "invalid IP address: localhost"},
      {"1.2.3:8080:80", "invalid IP address: 1.2.3"},
      {"[1.2.3.4:80:80", "invalid IP address: [1.2.3.4"},
      {"a:b:c:80", "invalid IP address: a:b"},
      {"8080:http", "invalid containerPort: http"},
      {"0", "invalid containerPort: 0"},
      {"65536", "invalid containerPort: 65536"},
      {"-80", "invalid containerPort: -80"},
      {"85-80", "invalid containerPort: 85-80"},
      {"80-", "invalid containerPort: 80-"},
      {"80-81-82", "invalid containerPort: 80-81-82"},
      {"+80", "invalid containerPort: +80"},
      {"x:80", "invalid hostPort: x"},
      {"70000:80", "invalid hostPort: 70000"},
      {"8005-8000:80", "invalid hostPort: 8005-8000"},
      {"0-10:80", "invalid hostPort: 0-10"},
      {"8000-8001:80-85",
       "invalid ranges specified for container and host Ports: 80-85 and 8000-8001"},
      {"8000:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000"},
  };
  for (const auto& c : cases) {
    auto r = parse_publish(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(
        r.error().what(),
        fmt::format("invalid argument \"{}\" for \"-p, --publish\" flag: {}", c.text, c.reason));
  }
}

TEST(ParsePublish, EmbeddedNulInTheAddressIsRefused) {
  using namespace std::literals;
  EXPECT_FALSE(parse_publish("127.0.0.1\0x:8080:80"sv).has_value());
}

TEST(ParseExpose, Accepts) {
  using V = std::vector<std::pair<uint16_t, Protocol>>;
  struct Case {
    const char* text;
    V want;
  } cases[] = {
      {"80", V{{80, Protocol::Tcp}}},
      {"80/tcp", V{{80, Protocol::Tcp}}},
      {"53/udp", V{{53, Protocol::Udp}}},
      {"53/UDP", V{{53, Protocol::Udp}}},
      {"8000-8002", V{{8000, Protocol::Tcp}, {8001, Protocol::Tcp}, {8002, Protocol::Tcp}}},
      {"8000-8001/udp", V{{8000, Protocol::Udp}, {8001, Protocol::Udp}}},
  };
  for (const auto& c : cases) {
    auto r = parse_expose(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
    EXPECT_EQ(*r, c.want) << c.text;
  }
}

TEST(ParseExpose, Refuses) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"80:80", "invalid port format: expected port[-port][/proto]"},
      {"", "no port specified: <empty>"},
      {"/tcp", "no port specified: /tcp<empty>"},
      {"80/sctp", "sctp is not supported"},
      {"80/foo", "invalid proto: foo"},
      {"http", "invalid range format: http"},
      {"0", "invalid range format: 0"},
      {"90-80", "invalid range format: 90-80"},
      {"99999", "invalid range format: 99999"},
  };
  for (const auto& c : cases) {
    auto r = parse_expose(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(r.error().what(),
              fmt::format("invalid argument \"{}\" for \"--expose\" flag: {}", c.text, c.reason));
  }
  auto image = parse_expose("80/xyz", "ExposedPorts");
  ASSERT_FALSE(image.has_value());
  EXPECT_EQ(image.error().what(),
            "invalid argument \"80/xyz\" for \"ExposedPorts\" flag: invalid proto: xyz");
}

TEST(FormatPortMapping, DockerPortShape) {
  EXPECT_EQ(format_port_mapping(pm(std::nullopt, 8080, 8080, 80)), "80/tcp -> 0.0.0.0:8080");
  EXPECT_EQ(format_port_mapping(pm(ip("127.0.0.1"), 5353, 5353, 53, Protocol::Udp)),
            "53/udp -> 127.0.0.1:5353");
}

// Runs fn on a thread that entered a fresh network namespace with its loopback up, so sockets
// bound there never touch the machine's own ports. Returns false when unsharing is refused.
bool in_fresh_netns(const std::function<void()>& fn) {
  bool entered = false;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return;
    entered = true;
    fn();
  });
  t.join();
  return entered;
}

// A socket of the protocol bound to ip:port (listening for TCP), held by the caller.
UniqueFd occupy(uint32_t ip_host_order, uint16_t port, Protocol proto) {
  UniqueFd fd(
      ::socket(AF_INET, (proto == Protocol::Tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ip_host_order);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  if (proto == Protocol::Tcp) {
    EXPECT_EQ(::listen(fd.get(), 1), 0);
  }
  return fd;
}

TEST(PickHostPort, FixedPortFreeAndTaken) {
  bool ran = in_fresh_netns([] {
    EXPECT_EQ(pick_host_port(std::nullopt, Protocol::Tcp, 8080, 8080, {}).value(), 8080);

    auto in_use = occupy(0, 8080, Protocol::Tcp);
    auto r = pick_host_port(std::nullopt, Protocol::Tcp, 8080, 8080, {});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::Conflict);
    EXPECT_EQ(r.error().what(), "Bind for 0.0.0.0:8080 failed: port is already allocated");
    // The same port number over UDP is free.
    EXPECT_EQ(pick_host_port(std::nullopt, Protocol::Udp, 8080, 8080, {}).value(), 8080);

    // A port only berth knows it published is taken too.
    auto known = pick_host_port(ip("127.0.0.1"), Protocol::Tcp, 9090, 9090, {9090});
    ASSERT_FALSE(known.has_value());
    EXPECT_EQ(known.error().what(), "Bind for 127.0.0.1:9090 failed: port is already allocated");
  });
  if (!ran) {
    GTEST_SKIP() << "cannot create a network namespace (needs root)";
  }
}

TEST(PickHostPort, SpecificAddressAndRange) {
  bool ran = in_fresh_netns([] {
    auto lo = occupy(0x7f000001, 7000, Protocol::Udp);
    auto r = pick_host_port(ip("127.0.0.1"), Protocol::Udp, 7000, 7000, {});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().what(), "Bind for 127.0.0.1:7000 failed: port is already allocated");
    // Binding all addresses conflicts with the loopback binding as well.
    EXPECT_FALSE(pick_host_port(std::nullopt, Protocol::Udp, 7000, 7000, {}).has_value());

    // A range yields its first free port.
    EXPECT_EQ(pick_host_port(ip("127.0.0.1"), Protocol::Udp, 7000, 7003, {7001}).value(), 7002);
    auto all = pick_host_port(ip("127.0.0.1"), Protocol::Udp, 7000, 7001, {7001});
    ASSERT_FALSE(all.has_value());
    EXPECT_EQ(all.error().code(), ErrorCode::Conflict);
    EXPECT_EQ(all.error().what(), "Bind for 127.0.0.1:7000-7001 failed: all ports are allocated");

    // An address the namespace does not have is an error of its own, not "allocated".
    auto absent = pick_host_port(ip("192.0.2.1"), Protocol::Tcp, 80, 80, {});
    ASSERT_FALSE(absent.has_value());
    EXPECT_NE(absent.error().code(), ErrorCode::Conflict);
    EXPECT_NE(absent.error().what().find("bind 192.0.2.1:80/tcp"), std::string::npos)
        << absent.error().what();

    auto bad = pick_host_port(std::nullopt, Protocol::Tcp, 90, 80, {});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code(), ErrorCode::InvalidArgument);
  });
  if (!ran) {
    GTEST_SKIP() << "cannot create a network namespace (needs root)";
  }
}

TEST(PickHostPort, RandomFromTheEphemeralRange) {
  bool ran = in_fresh_netns([] {
    uint32_t lo = 0, hi = 0;
    FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fscanf(f, "%u %u", &lo, &hi), 2);
    std::fclose(f);
    for (int i = 0; i < 20; ++i) {
      auto p = pick_host_port(std::nullopt, Protocol::Tcp, 0, 0, {});
      ASSERT_TRUE(p.has_value()) << err(p);
      EXPECT_GE(*p, lo);
      EXPECT_LE(*p, hi);
    }
    // Every port but one is taken: that one is found.
    std::set<uint16_t> taken;
    for (uint32_t p = lo; p <= hi; ++p) taken.insert(static_cast<uint16_t>(p));
    taken.erase(static_cast<uint16_t>(lo + 7));
    EXPECT_EQ(pick_host_port(std::nullopt, Protocol::Tcp, 0, 0, taken).value(), lo + 7);
    taken.insert(static_cast<uint16_t>(lo + 7));
    auto none = pick_host_port(std::nullopt, Protocol::Tcp, 0, 0, taken);
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code(), ErrorCode::Unavailable);
  });
  if (!ran) {
    GTEST_SKIP() << "cannot create a network namespace (needs root)";
  }
}

}  // namespace
}  // namespace berth::network
