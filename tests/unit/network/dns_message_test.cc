#include "network/dns_message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::network::dns {
namespace {

using Bytes = std::vector<uint8_t>;

// What `dig @10.89.0.1 web. +noedns` sends: id 0x1234, RD, one question web. IN A.
const Bytes kWebQuery = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                         0x03, 'w',  'e',  'b',  0x00, 0x00, 0x01, 0x00, 0x01};

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  return {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), static_cast<uint8_t>(flags >> 8),
          static_cast<uint8_t>(flags), 0, static_cast<uint8_t>(qd), 0, static_cast<uint8_t>(an),
          0, static_cast<uint8_t>(ns), 0, static_cast<uint8_t>(ar)};
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string error_of(const Bytes& packet) {
  auto q = parse_query(packet);
  return q ? std::string("accepted") : q.error().message();
}

TEST(DnsMessage, ParsesARealQueryForWeb) {
  auto q = parse_query(kWebQuery);
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->header.id, 0x1234);
  EXPECT_TRUE(q->header.flags & kFlagRd);
  EXPECT_EQ(q->question.name, "web");
  EXPECT_EQ(q->question.type, kTypeA);
  EXPECT_EQ(q->question.klass, kClassIn);
  EXPECT_EQ(q->question.wire_name, std::string("\x03web\x00", 5));
  EXPECT_EQ(q->udp_size, 512u);
}

TEST(DnsMessage, EdnsOptRaisesTheUdpSize) {
  Bytes packet = kWebQuery;
  packet[11] = 1;  // arcount
  packet = cat(packet, {0x00, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0x00});  // OPT, 4096
  auto q = parse_query(packet);
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->udp_size, 4096u);
}

TEST(DnsMessage, FollowsBackwardCompressionPointers) {
  // A response: question web.lan, answer named by a pointer to it, a PTR whose target points
  // into the middle of the question ("lan").
  Bytes p = cat(header(7, kFlagQr, 1, 2), {3, 'w', 'e', 'b', 3, 'l', 'a', 'n', 0, 0, 1, 0, 1});
  p = cat(p, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 89, 0, 2});
  p = cat(p, {0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 0, 0, 5, 2, 'd', 'b', 0xc0, 16});
  auto m = parse_message(p);
  ASSERT_TRUE(m) << m.error().what();
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->questions[0].name, "web.lan");
  EXPECT_EQ(m->answers[0].name, "web.lan");
  EXPECT_EQ(m->answers[0].ttl, 5u);
  EXPECT_EQ(m->answers[0].rdata, std::string("\x0a\x59\x00\x02", 4));
  EXPECT_EQ(m->answers[1].target, "db.lan");
}

TEST(DnsMessage, RefusesTruncatedPackets) {
  EXPECT_NE(error_of(Bytes(kWebQuery.begin(), kWebQuery.begin() + 5)).find("truncated header"), std::string::npos);
  for (size_t n = 12; n < kWebQuery.size(); ++n)
    EXPECT_NE(error_of(Bytes(kWebQuery.begin(), kWebQuery.begin() + n)).find("truncated"), std::string::npos) << n;
}

TEST(DnsMessage, RefusesCompressionLoops) {
  // A pointer to itself, a label then a pointer back to that label, a forward pointer, a
  // pointer into the header.
  for (const Bytes& name : {Bytes{0xc0, 12}, Bytes{1, 'a', 0xc0, 12}, Bytes{0xc0, 20, 0, 0}, Bytes{0xc0, 2}}) {
    Bytes p = cat(cat(header(1, 0, 1), name), {0, 1, 0, 1});
    EXPECT_NE(error_of(p).find("compression loop"), std::string::npos) << error_of(p);
  }
}

TEST(DnsMessage, RefusesLongLabelsAndNames) {
  Bytes label64 = cat(header(1, 0, 1), {64});
  label64.resize(label64.size() + 64, 'a');
  label64 = cat(label64, {0, 0, 1, 0, 1});
  EXPECT_NE(error_of(label64).find("too long (64 bytes"), std::string::npos) << error_of(label64);

  Bytes name = header(1, 0, 1);
  for (int i = 0; i < 5; ++i) {
    name.push_back(63);
    name.resize(name.size() + 63, 'a');
  }
  name = cat(name, {0, 0, 1, 0, 1});
  EXPECT_NE(error_of(name).find("name too long"), std::string::npos) << error_of(name);
}

TEST(DnsMessage, QueryNeedsExactlyOneQuestionAndNoQr) {
  Bytes two = cat(cat(header(1, 0, 2), {1, 'a', 0, 0, 1, 0, 1}), {0xc0, 12, 0, 1, 0, 1});
  EXPECT_TRUE(parse_message(two));
  EXPECT_NE(error_of(two).find("qdcount is 2"), std::string::npos);
  EXPECT_NE(error_of(header(1, 0, 0)).find("qdcount is 0"), std::string::npos);
  Bytes response = kWebQuery;
  response[2] |= 0x80;
  EXPECT_NE(error_of(response).find("response"), std::string::npos);
  EXPECT_NE(error_of(cat(kWebQuery, {0})).find("garbage"), std::string::npos);
}

TEST(DnsMessage, EscapesDotsInsideLabels) {
  Bytes p = cat(header(1, 0, 1), {5, 'w', '.', 'b', 0, 'x', 0, 0, 1, 0, 1});
  auto q = parse_query(p);
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->question.name, "w\\.b\\000x");
}

TEST(DnsMessage, BuildsAReplyWithQuestionAndFlags) {
  auto q = parse_query(kWebQuery).value();
  std::vector<Ipv4> addrs = {Ipv4{0x0a590002}, Ipv4{0x0a590003}};
  auto reply = build_a_reply(q, addrs, 0);
  auto m = parse_message(reply);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.is_response());
  EXPECT_TRUE(m->header.flags & kFlagRd);
  EXPECT_TRUE(m->header.flags & kFlagRa);
  EXPECT_TRUE(m->header.flags & kFlagAa);
  EXPECT_FALSE(m->header.truncated());
  EXPECT_EQ(m->header.rcode(), Rcode::NoError);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "web");
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name, "web");
  EXPECT_EQ(m->answers[0].ttl, 0u);
  EXPECT_EQ(m->answers[1].rdata, std::string("\x0a\x59\x00\x03", 4));
}

TEST(DnsMessage, TruncatesAnswersThatDoNotFit) {
  auto q = parse_query(kWebQuery).value();
  std::vector<Ipv4> addrs(100, Ipv4{0x0a590002});
  auto reply = build_a_reply(q, addrs, 0, 512);
  EXPECT_LE(reply.size(), 512u);
  auto m = parse_message(reply).value();
  EXPECT_TRUE(m.header.truncated());
  EXPECT_EQ(m.answers.size(), (512u - 21u) / 16u);
  EXPECT_EQ(parse_message(build_a_reply(q, addrs, 0, kMaxTcpSize)).value().answers.size(), 100u);
}

TEST(DnsMessage, BuildsPtrEmptyAndErrorReplies) {
  auto q = parse_query(build_query(9, "2.0.89.10.in-addr.arpa", kTypePtr).value()).value();
  auto ptr = parse_message(build_ptr_reply(q, "web", 0).value()).value();
  ASSERT_EQ(ptr.answers.size(), 1u);
  EXPECT_EQ(ptr.answers[0].type, kTypePtr);
  EXPECT_EQ(ptr.answers[0].target, "web");
  EXPECT_FALSE(build_ptr_reply(q, "bad..name", 0));

  for (Rcode rc : {Rcode::NoError, Rcode::NxDomain, Rcode::ServFail}) {
    auto m = parse_message(build_empty_reply(q, rc)).value();
    EXPECT_EQ(m.header.rcode(), rc);
    EXPECT_EQ(m.header.id, 9);
    EXPECT_TRUE(m.answers.empty());
    EXPECT_EQ(m.questions.at(0).name, "2.0.89.10.in-addr.arpa");
  }
  auto formerr = parse_message(build_format_error(q.header)).value();
  EXPECT_EQ(formerr.header.rcode(), Rcode::FormErr);
  EXPECT_TRUE(formerr.questions.empty());
}

TEST(DnsMessage, EncodesNames) {
  EXPECT_EQ(encode_name("web.").value(), std::string("\x03web\x00", 5));
  EXPECT_EQ(encode_name("").value(), std::string("\x00", 1));
  EXPECT_FALSE(encode_name("a..b"));
  EXPECT_FALSE(encode_name(std::string(64, 'a')));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  EXPECT_FALSE(encode_name(long_name));
}

}  // namespace
}  // namespace berth::network::dns
