// IPAM: subnet, gateway and ip-range checks with Docker's messages, allocation order,
// static addresses, automatic subnets and overlap detection.
#include "network/ipam.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

Ipv4 ip(std::string_view s) { return parse_ipv4(s).value(); }
Ipv4Net net(std::string_view s) { return parse_ipv4_net(s).value(); }

TEST(ParseSubnet, Accepts) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"10.89.0.0/24", "10.89.0.0/24"},
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"192.168.1.0/30", "192.168.1.0/30"},
      {"172.20.0.0/16", "172.20.0.0/16"},
  };
  for (const auto& c : cases) {
    auto r = parse_subnet(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
    EXPECT_EQ(r->str(), c.want);
  }
}

TEST(ParseSubnet, Refuses) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"10.89.0.5/24", "invalid subnet 10.89.0.5/24: it should be 10.89.0.0/24"},
      {"10.89.0.0", "invalid subnet 10.89.0.0: invalid CIDR block notation"},
      {"10.89.0.0/", "invalid subnet 10.89.0.0/: invalid CIDR block notation"},
      {"10.89.0.0/33", "invalid subnet 10.89.0.0/33: invalid CIDR block notation"},
      {"bogus/24", "invalid subnet bogus/24: invalid CIDR block notation"},
      {"", "invalid subnet : invalid CIDR block notation"},
      {"10.0.0.0/7", "invalid subnet 10.0.0.0/7: the prefix length must be between /8 and /30"},
      {"10.0.0.0/31", "invalid subnet 10.0.0.0/31: the prefix length must be between /8 and /30"},
      {"10.0.0.1/32", "invalid subnet 10.0.0.1/32: the prefix length must be between /8 and /30"},
  };
  for (const auto& c : cases) {
    auto r = parse_subnet(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(r.error().what(), c.message);
  }
}

TEST(ParseSubnet, EmbeddedNulIsRefused) {
  using namespace std::literals;
  EXPECT_FALSE(parse_subnet("10.89.0.0\0x/24"sv).has_value());
}

TEST(MakePool, DefaultsTheGatewayToTheFirstHost) {
  auto p = make_pool(net("10.89.0.0/24"), std::nullopt, std::nullopt);
  ASSERT_TRUE(p.has_value()) << err(p);
  EXPECT_EQ(p->gateway, ip("10.89.0.1"));
  EXPECT_FALSE(p->ip_range.has_value());

  auto q = make_pool(net("10.89.0.0/16"), ip("10.89.255.254"), net("10.89.3.0/24"));
  ASSERT_TRUE(q.has_value()) << err(q);
  EXPECT_EQ(q->gateway, ip("10.89.255.254"));
  EXPECT_EQ(q->ip_range->str(), "10.89.3.0/24");
}

TEST(MakePool, Refuses) {
  struct Case {
    const char* gateway;  // "" for none
    const char* range;    // "" for none
    const char* message;
  } cases[] = {
      {"10.90.0.1", "",
       "invalid gateway 10.90.0.1: parent subnet 10.89.0.0/24 doesn't contain this address"},
      {"10.89.0.0", "",
       "invalid gateway 10.89.0.0: it is the network address of subnet 10.89.0.0/24"},
      {"10.89.0.255", "",
       "invalid gateway 10.89.0.255: it is the broadcast address of subnet 10.89.0.0/24"},
      {"", "10.89.0.0/16",
       "invalid ip-range 10.89.0.0/16: CIDR block is bigger than its parent subnet 10.89.0.0/24"},
      {"", "10.89.0.5/28", "invalid ip-range 10.89.0.5/28: it should be 10.89.0.0/28"},
      {"", "10.90.0.0/28",
       "invalid ip-range 10.90.0.0/28: parent subnet 10.89.0.0/24 doesn't contain ip-range"},
  };
  for (const auto& c : cases) {
    std::optional<Ipv4> gw;
    std::optional<Ipv4Net> range;
    if (*c.gateway) gw = ip(c.gateway);
    if (*c.range) range = net(c.range);
    auto r = make_pool(net("10.89.0.0/24"), gw, range);
    ASSERT_FALSE(r.has_value()) << c.message;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(r.error().what(), c.message);
  }
}

TEST(Allocate, LowestFreeSkippingReservedAddresses) {
  Pool pool = make_pool(net("10.89.0.0/24"), std::nullopt, std::nullopt).value();
  EXPECT_EQ(allocate(pool, {}, "front").value(), ip("10.89.0.2"));
  EXPECT_EQ(allocate(pool, {ip("10.89.0.2"), ip("10.89.0.3")}, "front").value(), ip("10.89.0.4"));
  EXPECT_EQ(allocate(pool, {ip("10.89.0.3")}, "front").value(), ip("10.89.0.2"));
  // Addresses used outside the subnet do not matter.
  EXPECT_EQ(allocate(pool, {ip("10.0.0.1"), ip("10.89.0.2"), ip("11.0.0.0")}, "front").value(),
            ip("10.89.0.3"));

  // A gateway in the middle is skipped, the first host is then free.
  Pool mid = make_pool(net("10.89.0.0/24"), ip("10.89.0.2"), std::nullopt).value();
  EXPECT_EQ(allocate(mid, {}, "front").value(), ip("10.89.0.1"));
  EXPECT_EQ(allocate(mid, {ip("10.89.0.1")}, "front").value(), ip("10.89.0.3"));
}

TEST(Allocate, FromTheIpRange) {
  Pool pool = make_pool(net("10.89.0.0/16"), std::nullopt, net("10.89.7.0/30")).value();
  // 10.89.7.0 is a host address of the /16: it is handed out.
  EXPECT_EQ(allocate(pool, {}, "front").value(), ip("10.89.7.0"));
  EXPECT_EQ(allocate(pool, {ip("10.89.7.0"), ip("10.89.7.1")}, "front").value(), ip("10.89.7.2"));
  auto full =
      allocate(pool, {ip("10.89.7.0"), ip("10.89.7.1"), ip("10.89.7.2"), ip("10.89.7.3")}, "front");
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code(), ErrorCode::Unavailable);

  // A range at the start of the subnet still skips its network address and the gateway.
  Pool low = make_pool(net("10.89.0.0/24"), std::nullopt, net("10.89.0.0/30")).value();
  EXPECT_EQ(allocate(low, {}, "front").value(), ip("10.89.0.2"));
}

TEST(Allocate, FullNetwork) {
  Pool pool = make_pool(net("10.89.0.0/30"), std::nullopt, std::nullopt).value();
  EXPECT_EQ(allocate(pool, {}, "tiny").value(), ip("10.89.0.2"));
  auto full = allocate(pool, {ip("10.89.0.2")}, "tiny");
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code(), ErrorCode::Unavailable);
  EXPECT_EQ(full.error().what(), "no available IPv4 addresses on network tiny");
}

TEST(CheckStatic, Cases) {
  Pool pool = make_pool(net("10.89.0.0/24"), std::nullopt, net("10.89.0.128/25")).value();
  std::set<Ipv4> used{ip("10.89.0.10")};
  struct Case {
    const char* ip;
    bool ok;
    ErrorCode code;
    const char* message;
  } cases[] = {
      {"10.89.0.5", true, ErrorCode::Internal, ""},  // outside the ip-range is fine, as in Docker
      {"10.89.0.200", true, ErrorCode::Internal, ""},
      {"10.89.0.10", false, ErrorCode::Conflict, "Address already in use"},
      {"10.89.0.1", false, ErrorCode::Conflict, "Address already in use"},
      {"10.89.0.0", false, ErrorCode::InvalidArgument,
       "invalid address 10.89.0.0: it is the network address of subnet 10.89.0.0/24"},
      {"10.89.0.255", false, ErrorCode::InvalidArgument,
       "invalid address 10.89.0.255: it is the broadcast address of subnet 10.89.0.0/24"},
      {"10.90.0.5", false, ErrorCode::InvalidArgument,
       "invalid address 10.90.0.5: it does not belong to the network's subnet 10.89.0.0/24"},
  };
  for (const auto& c : cases) {
    auto r = check_static(pool, ip(c.ip), used);
    EXPECT_EQ(r.has_value(), c.ok) << c.ip << ": " << err(r);
    if (!c.ok && !r.has_value()) {
      EXPECT_EQ(r.error().code(), c.code) << c.ip;
      EXPECT_EQ(r.error().what(), c.message);
    }
  }
}

TEST(ChooseSubnet, DefaultBridge) {
  EXPECT_EQ(choose_subnet({}, true).value().str(), "10.88.0.0/16");
  EXPECT_EQ(choose_subnet({net("10.88.5.0/24")}, true).value().str(), "10.87.0.0/16");
  EXPECT_EQ(choose_subnet({net("10.88.0.0/16"), net("10.87.0.1/32")}, true).value().str(),
            "10.86.0.0/16");
  // A default route overlaps everything and is ignored; unrelated networks do not matter.
  EXPECT_EQ(choose_subnet({net("0.0.0.0/0"), net("192.168.1.0/24")}, true).value().str(),
            "10.88.0.0/16");
  auto none = choose_subnet({net("10.80.0.0/12")}, true);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::Unavailable);
}

TEST(ChooseSubnet, UserNetworks) {
  EXPECT_EQ(choose_subnet({}, false).value().str(), "10.89.0.0/24");
  EXPECT_EQ(choose_subnet({net("10.88.0.0/16")}, false).value().str(), "10.89.0.0/24");
  EXPECT_EQ(choose_subnet({net("10.89.0.0/24"), net("10.89.1.0/24")}, false).value().str(),
            "10.89.2.0/24");
  EXPECT_EQ(choose_subnet({net("10.89.0.0/24"), net("10.89.2.0/24")}, false).value().str(),
            "10.89.1.0/24");
  EXPECT_EQ(choose_subnet({net("10.89.0.0/16")}, false).value().str(), "10.90.0.0/24");
  EXPECT_EQ(choose_subnet({net("10.89.0.0/16"), net("10.90.0.7/32")}, false).value().str(),
            "10.90.1.0/24");
  EXPECT_EQ(choose_subnet({net("10.0.0.0/9")}, false).value().str(), "10.128.0.0/24");
  auto none = choose_subnet({net("10.0.0.0/8")}, false);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::Unavailable);
}

TEST(CheckOverlap, Cases) {
  std::vector<std::pair<std::string, Ipv4Net>> networks{{"bridge", net("10.88.0.0/16")},
                                                        {"front", net("10.89.0.0/16")}};
  EXPECT_TRUE(check_overlap(net("10.90.0.0/24"), networks).has_value());
  EXPECT_TRUE(check_overlap(net("10.89.0.0/24"), {}).has_value());
  auto r = check_overlap(net("10.89.0.0/24"), networks);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::Conflict);
  EXPECT_EQ(r.error().what(), "subnet 10.89.0.0/24 overlaps with network \"front\" (10.89.0.0/16)");
  auto wide = check_overlap(net("10.0.0.0/8"), networks);
  ASSERT_FALSE(wide.has_value());
  EXPECT_EQ(wide.error().what(),
            "subnet 10.0.0.0/8 overlaps with network \"bridge\" (10.88.0.0/16)");
}

}  // namespace
}  // namespace berth::network
