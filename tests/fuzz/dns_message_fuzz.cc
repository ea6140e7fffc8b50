// libFuzzer target for the DNS message parser (network/dns_message.h), which reads untrusted
// packets from containers and upstream resolvers. No input may crash it; a query it accepts must
// give replies that parse back with the same id and question, within the size they were built for.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "network/dns_message.h"

using namespace berth::network;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

void check_reply(const dns::Query& q, const std::vector<uint8_t>& reply, size_t max_size) {
  require(reply.size() <= max_size, "reply larger than allowed");
  auto m = dns::parse_message(reply);
  require(m.has_value(), "a built reply does not parse");
  require(m->header.id == q.header.id, "reply id differs");
  require(m->header.is_response(), "reply without QR");
  require(m->questions.size() == 1 && m->questions[0].name == q.question.name &&
              m->questions[0].type == q.question.type,
          "reply question differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> packet(data, size);
  (void)dns::parse_message(packet);
  auto q = dns::parse_query(packet);
  if (!q) return 0;
  require(q->udp_size >= dns::kMaxUdpSize && q->udp_size <= dns::kMaxTcpSize, "udp size out of range");
  require(q->question.wire_name.size() <= 255, "name over 255 bytes accepted");

  std::vector<Ipv4> addrs(size % 64, Ipv4{0x0a590002});
  for (size_t max : {dns::kMaxUdpSize, q->udp_size}) check_reply(*q, dns::build_a_reply(*q, addrs, 0, max), max);
  if (auto ptr = dns::build_ptr_reply(*q, "web", 0)) check_reply(*q, *ptr, dns::kMaxTcpSize);
  check_reply(*q, dns::build_empty_reply(*q, dns::Rcode::NxDomain), dns::kMaxTcpSize);
  auto formerr = dns::parse_message(dns::build_format_error(q->header));
  require(formerr.has_value() && formerr->header.rcode() == dns::Rcode::FormErr, "bad FORMERR");
  return 0;
}
