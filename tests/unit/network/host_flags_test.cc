// --add-host, --dns, --dns-search, --dns-option, --network-alias and --ip values: accepted
// forms and the run flags' error shape for refused ones.
#include "network/host_flags.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

std::string err(const auto& r) { return r.has_value() ? std::string("(ok)") : r.error().what(); }

std::string flag_message(std::string_view flag, std::string_view value, std::string_view reason) {
  return fmt::format("invalid argument \"{}\" for \"{}\" flag: {}", value, flag, reason);
}

TEST(ParseAddHost, Accepts) {
  struct Case {
    const char* text;
    ExtraHost want;
  } cases[] = {
      {"db:10.0.0.5", {"db", "10.0.0.5"}},
      {"db=10.0.0.5", {"db", "10.0.0.5"}},
      {"db.internal:10.0.0.5", {"db.internal", "10.0.0.5"}},
      {"gw:host-gateway", {"gw", "host-gateway"}},
      {"gw=host-gateway", {"gw", "host-gateway"}},
      {"v6:::1", {"v6", "::1"}},
      {"v6=::1", {"v6", "::1"}},
      {"v6:[fe80::1]", {"v6", "fe80::1"}},
      {"v4=[10.0.0.5]", {"v4", "10.0.0.5"}},
      {"my_host:10.0.0.5", {"my_host", "10.0.0.5"}},
  };
  for (const auto& c : cases) {
    auto r = parse_add_host(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
    EXPECT_EQ(*r, c.want) << c.text;
  }
}

TEST(ParseAddHost, Refuses) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"db", "bad format for add-host: expected name:ip or name=ip"},
      {"", "bad format for add-host: expected name:ip or name=ip"},
      {":10.0.0.5", "bad format for add-host: expected name:ip or name=ip"},
      {"=10.0.0.5", "bad format for add-host: expected name:ip or name=ip"},
      {"a:b=10.0.0.5", "bad format for add-host: invalid host name"},
      {"my host=10.0.0.5", "bad format for add-host: invalid host name"},
      {"db:", "invalid IP address in add-host: \"\""},
      {"db:example.com", "invalid IP address in add-host: \"example.com\""},
      {"db:10.0.0.256", "invalid IP address in add-host: \"10.0.0.256\""},
      {"db:[]", "invalid IP address in add-host: \"[]\""},
      {"db:host-gateway2", "invalid IP address in add-host: \"host-gateway2\""},
  };
  for (const auto& c : cases) {
    auto r = parse_add_host(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    // The reason quotes the address, and the whole value is quoted once more.
    std::string value = c.text;
    EXPECT_EQ(r.error().what(), flag_message("--add-host", value, c.reason)) << c.text;
  }
}

TEST(ParseDns, AcceptsAndCanonicalises) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"8.8.8.8", "8.8.8.8"},
      {"10.88.0.1", "10.88.0.1"},
      {"2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"},
      {"::1", "::1"},
  };
  for (const auto& c : cases) {
    auto r = parse_dns(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
    EXPECT_EQ(*r, c.want);
  }
  for (const char* bad : {"", "dns.google", "8.8.8", "8.8.8.8:53", " 8.8.8.8"}) {
    auto r = parse_dns(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().what(),
              flag_message("--dns", bad, "IP address is not correctly formatted"));
  }
}

TEST(ParseDnsSearch, Cases) {
  struct Case {
    const char* text;
    const char* want;  // nullptr: refused
  } cases[] = {
      {"example.com", "example.com"},
      {"example.com.", "example.com"},
      {"svc.cluster.local", "svc.cluster.local"},
      {"a-b.example", "a-b.example"},
      {" example.com ", "example.com"},
      {".", "."},
      {"x1", "x1"},
      {"", nullptr},
      {"123", nullptr},
      {"-example.com", nullptr},
      {"example-.com", nullptr},
      {"exa mple.com", nullptr},
      {"example..com", nullptr},
      {"example_com", nullptr},
      {"..", nullptr},
  };
  for (const auto& c : cases) {
    auto r = parse_dns_search(c.text);
    if (c.want) {
      ASSERT_TRUE(r.has_value()) << c.text << ": " << err(r);
      EXPECT_EQ(*r, c.want);
    } else {
      ASSERT_FALSE(r.has_value()) << c.text;
      EXPECT_EQ(r.error().what(), flag_message("--dns-search", c.text,
                                               fmt::format("{} is not a valid domain", c.text)));
    }
  }
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  long_name += "com";  // 259 characters
  EXPECT_FALSE(parse_dns_search(long_name).has_value());
}

TEST(HostFlags, EmbeddedNulIsRefused) {
  using namespace std::literals;
  EXPECT_FALSE(parse_add_host("v6:[fe80::1\0junk]"sv).has_value());
  EXPECT_FALSE(parse_add_host("db:10.0.0.5\0x"sv).has_value());
  EXPECT_FALSE(parse_dns("8.8.8.8\0x"sv).has_value());
  EXPECT_FALSE(parse_ip_flag("10.0.0.5\0x"sv).has_value());
}

TEST(ParseDnsOption, Cases) {
  EXPECT_EQ(parse_dns_option("ndots:2").value(), "ndots:2");
  EXPECT_EQ(parse_dns_option("edns0").value(), "edns0");
  EXPECT_EQ(parse_dns_option("use-vc").value(), "use-vc");
  for (const char* bad : {"", "ndots: 2", "a\nnameserver 1.2.3.4", "tab\there"}) {
    auto r = parse_dns_option(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().what().find("for \"--dns-option\" flag: "), std::string::npos);
  }
}

TEST(ParseNetworkAlias, Cases) {
  for (const char* ok : {"db", "web-1", "api.internal", "my_service", "A1", "x"}) {
    auto r = parse_network_alias(ok);
    ASSERT_TRUE(r.has_value()) << ok << ": " << err(r);
    EXPECT_EQ(*r, ok);
  }
  std::string label63(63, 'a'), label64(64, 'a');
  EXPECT_TRUE(parse_network_alias(label63).has_value());
  EXPECT_FALSE(parse_network_alias(label64).has_value());
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(parse_network_alias(name253).has_value());
  EXPECT_FALSE(parse_network_alias(name253 + "b").has_value());
  for (const char* bad :
       {"", "-db", "db-", "a b", "db.", ".db", "a..b", "db:1", "db/x", "ümlaut"}) {
    auto r = parse_network_alias(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(r.error().what().rfind(
                  fmt::format("invalid argument \"{}\" for \"--network-alias\" flag: ", bad), 0),
              0u)
        << r.error().what();
  }
}

TEST(ParseIpFlag, Cases) {
  EXPECT_EQ(parse_ip_flag("10.89.0.7").value().str(), "10.89.0.7");
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "invalid IPv4 address"},
      {"10.89.0", "invalid IPv4 address"},
      {"10.89.0.0/24", "invalid IPv4 address"},
      {"fe80::1", "not an IPv4 address (IPv6 is not supported yet)"},
      {"0.0.0.0", "the unspecified address 0.0.0.0 cannot be a container's address"},
  };
  for (const auto& c : cases) {
    auto r = parse_ip_flag(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().what(), flag_message("--ip", c.text, c.reason));
  }
}

}  // namespace
}  // namespace berth::network
