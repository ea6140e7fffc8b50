#include "network/dns_records.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

Ipv4 ip(std::string_view s) { return parse_ipv4(s).value(); }

std::vector<Ipv4> lookup(const DnsRecords& r, std::string_view name) {
  auto span = r.lookup(name);
  return {span.begin(), span.end()};
}

TEST(DnsRecords, ParsesNamesAliasesAndComments) {
  auto parsed = parse_dns_records(
      "# written by berth\n"
      "10.89.0.2 web app_web_1 Frontend   # the web container\n"
      "\n"
      "10.89.0.3 db-1 db\n"
      "  10.89.0.4\tdb-2 db.\n",
      "records");
  EXPECT_TRUE(parsed.errors.empty());
  const auto& r = parsed.records;
  EXPECT_EQ(lookup(r, "web"), std::vector<Ipv4>{ip("10.89.0.2")});
  EXPECT_EQ(lookup(r, "WEB."), std::vector<Ipv4>{ip("10.89.0.2")});
  EXPECT_EQ(lookup(r, "frontend"), std::vector<Ipv4>{ip("10.89.0.2")});
  EXPECT_EQ(lookup(r, "app_web_1"), std::vector<Ipv4>{ip("10.89.0.2")});
  EXPECT_EQ(lookup(r, "db"), (std::vector<Ipv4>{ip("10.89.0.3"), ip("10.89.0.4")}));
  EXPECT_TRUE(lookup(r, "cache").empty());
  EXPECT_TRUE(lookup(r, "").empty());
  EXPECT_EQ(r.reverse(ip("10.89.0.2")), "web");
  EXPECT_EQ(r.reverse(ip("10.89.0.4")), "db-2");
  EXPECT_FALSE(r.reverse(ip("10.89.0.9")));
}

TEST(DnsRecords, RefusesBadLinesNamingThemAndKeepsTheRest) {
  auto parsed = parse_dns_records(
      "10.89.0.2 web\n"
      "10.89.0.300 bad\n"
      "10.89.0.5\n"
      "10.89.0.6 ok not..valid\n"
      "10.89.0.7 sp@ce\n"
      "10.89.0.8 last\n",
      "/run/berth/dns/net1/records");
  ASSERT_EQ(parsed.errors.size(), 4u);
  EXPECT_EQ(parsed.errors[0].message(),
            "/run/berth/dns/net1/records line 2: invalid IPv4 address: \"10.89.0.300\"");
  EXPECT_NE(parsed.errors[1].message().find("line 3: address 10.89.0.5 without a name"), std::string::npos);
  EXPECT_NE(parsed.errors[2].message().find("line 4: invalid DNS name \"not..valid\""), std::string::npos);
  EXPECT_NE(parsed.errors[3].message().find("line 5:"), std::string::npos);
  EXPECT_FALSE(lookup(parsed.records, "web").empty());
  EXPECT_FALSE(lookup(parsed.records, "last").empty());
  EXPECT_TRUE(lookup(parsed.records, "ok").empty());  // the whole line is refused
}

TEST(DnsRecords, ValidNames) {
  EXPECT_TRUE(valid_dns_name("web"));
  EXPECT_TRUE(valid_dns_name("web.myapp."));
  EXPECT_TRUE(valid_dns_name(std::string(63, 'a')));
  EXPECT_FALSE(valid_dns_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_dns_name(""));
  EXPECT_FALSE(valid_dns_name("."));
  EXPECT_FALSE(valid_dns_name("a..b"));
  EXPECT_FALSE(valid_dns_name("caf\xc3\xa9"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";
  EXPECT_FALSE(valid_dns_name(long_name + "a"));
}

TEST(DnsRecords, ReverseNames) {
  EXPECT_EQ(parse_reverse_name("4.0.89.10.in-addr.arpa"), ip("10.89.0.4"));
  EXPECT_EQ(parse_reverse_name("4.0.89.10.IN-ADDR.ARPA."), ip("10.89.0.4"));
  EXPECT_EQ(reverse_name(ip("10.89.0.4")), "4.0.89.10.in-addr.arpa");
  EXPECT_FALSE(parse_reverse_name("0.89.10.in-addr.arpa"));
  EXPECT_FALSE(parse_reverse_name("256.0.89.10.in-addr.arpa"));
  EXPECT_FALSE(parse_reverse_name("04.0.89.10.in-addr.arpa"));
  EXPECT_FALSE(parse_reverse_name("web.in-addr.arpa"));
  EXPECT_FALSE(parse_reverse_name("4.0.89.10.ip6.arpa"));
}

TEST(DnsRecords, ResolvConfNameservers) {
  auto ns = resolv_conf_nameservers(
      "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\n"
      "  nameserver   9.9.9.9  # quad9\noptions edns0\n");
  EXPECT_EQ(ns, (std::vector<Ipv4>{ip("127.0.0.53"), ip("9.9.9.9")}));
}

}  // namespace
}  // namespace berth::network
