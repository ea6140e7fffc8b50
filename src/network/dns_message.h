// The DNS wire format (RFC 1035) as the embedded DNS server needs it: a parser for untrusted
// packets (every read bounds-checked, compression pointers only backwards and bounded in number)
// and builders for the replies the server gives itself (A, PTR, empty NOERROR, error codes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "network/address.h"

namespace berth::network::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeAny = 255;
inline constexpr uint16_t kClassIn = 1;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxUdpSize = 512;  // without EDNS (RFC 1035 4.2.1)
inline constexpr size_t kMaxTcpSize = 65535;

// Header flag bits.
inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;
inline constexpr uint16_t kFlagRa = 0x0080;
inline constexpr uint16_t kFlagCd = 0x0010;

enum class Rcode : uint8_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5
};

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;

  bool is_response() const { return flags & kFlagQr; }
  bool truncated() const { return flags & kFlagTc; }
  int opcode() const { return (flags >> 11) & 0xf; }
  Rcode rcode() const { return static_cast<Rcode>(flags & 0xf); }
};

struct Question {
  // Presentation form without the trailing dot ("web", "4.0.89.10.in-addr.arpa", "" for the
  // root), case kept; '.', '\\' and unprintable bytes inside a label are escaped (\. \\ \DDD) so
  // a label holding a dot never reads as two labels.
  std::string name;
  std::string wire_name;  // the same name in uncompressed wire format, to echo it in replies
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct ResourceRecord {
  std::string name;  // presentation form, as in Question
  uint16_t type = 0;
  uint16_t klass = 0;  // for OPT: the sender's UDP payload size
  uint32_t ttl = 0;
  std::string rdata;   // raw bytes as they were in the packet
  std::string target;  // PTR, CNAME and NS: the name rdata holds (decompressed); empty otherwise
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
};

// A whole message, every section. InvalidArgument with the reason and the offset otherwise.
Result<Message> parse_message(std::span<const uint8_t> packet);

// A query the server can answer or forward: exactly one question, QR clear.
struct Query {
  Header header;
  Question question;
  size_t udp_size = kMaxUdpSize;  // the largest UDP reply the client accepts (EDNS0 OPT, else 512)
};

// Parses a client's query; garbage is refused with the reason (truncated header, label too long,
// name too long, compression loop, qdcount != 1, a response instead of a query).
Result<Query> parse_query(std::span<const uint8_t> packet);

// An A reply with addrs in the order given. When they do not all fit in max_size, as many as
// fit are kept and TC is set (the client then retries over TCP).
std::vector<uint8_t> build_a_reply(const Query& q, std::span<const Ipv4> addrs, uint32_t ttl,
                                   size_t max_size = kMaxUdpSize);
// A PTR reply pointing at target ("web" or "web."; written as an absolute name).
// InvalidArgument when target is not a valid name.
Result<std::vector<uint8_t>> build_ptr_reply(const Query& q, std::string_view target, uint32_t ttl);
// A reply without answers: NOERROR (the name exists, not with that type), NXDOMAIN, SERVFAIL...
std::vector<uint8_t> build_empty_reply(const Query& q, Rcode rcode);
// FORMERR for a packet whose header could be read but not the rest: no question echoed.
std::vector<uint8_t> build_format_error(const Header& h);

// A query for name and type with RD set, for tests and health checks. InvalidArgument when
// name is not a valid name.
Result<std::vector<uint8_t>> build_query(uint16_t id, std::string_view name, uint16_t type);

// "web" or "web.example." in wire format; InvalidArgument for an empty label, a label over 63
// bytes or a name over 255.
Result<std::string> encode_name(std::string_view name);

}  // namespace berth::network::dns
