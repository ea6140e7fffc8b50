#include "network/dns_message.h"

#include <algorithm>

#include "base/strings.h"

namespace berth::network::dns {

namespace {

constexpr size_t kMaxNameWire = 255;  // RFC 1035 2.3.4, length octets included
constexpr size_t kMaxLabel = 63;
constexpr int kMaxPointers = 32;  // pointers only go backwards, so this only bounds the work

// Reads big-endian fields from an untrusted packet; every read is checked against the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> p, size_t pos = 0)
      : p_(p), pos_(std::min(pos, p.size())) {}

  size_t pos() const { return pos_; }
  size_t size() const { return p_.size(); }
  bool has(size_t n) const { return n <= p_.size() - pos_; }

  Result<uint16_t> u16(std::string_view what) {
    if (!has(2)) return truncated(what);
    uint16_t v = static_cast<uint16_t>(p_[pos_] << 8 | p_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> u32(std::string_view what) {
    uint32_t hi = TRY(u16(what));
    uint32_t lo = TRY(u16(what));
    return hi << 16 | lo;
  }
  Result<std::string> bytes(size_t n, std::string_view what) {
    if (!has(n)) return truncated(what);
    std::string out(reinterpret_cast<const char*>(p_.data() + pos_), n);
    pos_ += n;
    return out;
  }

  // A possibly compressed name starting at the current position; the position moves past it
  // (past the first pointer when there is one).
  Result<Question> name(std::string_view what) {
    Question out;
    size_t at = pos_;
    size_t segment_start = pos_;  // a pointer must land before this: targets strictly decrease
    int pointers = 0;
    bool jumped = false;
    while (true) {
      if (at >= p_.size()) return truncated(what);
      uint8_t len = p_[at];
      if ((len & 0xc0) == 0xc0) {
        if (at + 1 >= p_.size()) return truncated(what);
        size_t target = static_cast<size_t>(len & 0x3f) << 8 | p_[at + 1];
        if (target >= segment_start || target < kHeaderSize)
          return Fail(ErrorCode::InvalidArgument,
                      "{}: compression loop: pointer at offset {} to offset {} does not point back",
                      what, at, target);
        if (++pointers > kMaxPointers)
          return Fail(ErrorCode::InvalidArgument, "{}: more than {} compression pointers", what,
                      kMaxPointers);
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = segment_start = target;
        continue;
      }
      if (len > kMaxLabel)
        return Fail(ErrorCode::InvalidArgument,
                    "{}: label at offset {} too long ({} bytes, at most {})", what, at, len,
                    kMaxLabel);
      if (out.wire_name.size() + 1 + len > kMaxNameWire)
        return Fail(ErrorCode::InvalidArgument, "{}: name too long (over {} bytes)", what,
                    kMaxNameWire);
      if (at + 1 + len > p_.size()) return truncated(what);
      out.wire_name.append(reinterpret_cast<const char*>(p_.data() + at), len + 1);
      if (len == 0) break;
      if (!out.name.empty()) out.name += '.';
      append_label(out.name, p_.subspan(at + 1, len));
      at += 1 + len;
    }
    if (!jumped) pos_ = at + 1;
    return out;
  }

 private:
  static void append_label(std::string& out, std::span<const uint8_t> label) {
    for (uint8_t c : label) {
      if (c == '.' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7f) {
        out += fmt::format("\\{:03d}", c);
      } else {
        out += static_cast<char>(c);
      }
    }
  }

  Unexpected truncated(std::string_view what) const {
    return Fail(ErrorCode::InvalidArgument, "{}: truncated at offset {} of {}", what, pos_,
                p_.size());
  }

  std::span<const uint8_t> p_;
  size_t pos_ = 0;
};

Result<ResourceRecord> parse_record(Reader& r, std::span<const uint8_t> packet,
                                    std::string_view section) {
  ResourceRecord rr;
  rr.name = TRY(r.name(section)).name;
  rr.type = TRY(r.u16(section));
  rr.klass = TRY(r.u16(section));
  rr.ttl = TRY(r.u32(section));
  uint16_t rdlength = TRY(r.u16(section));
  size_t rdata_at = r.pos();
  rr.rdata = TRY(r.bytes(rdlength, section));
  if (rr.type == kTypePtr || rr.type == 5 /* CNAME */ || rr.type == 2 /* NS */) {
    // The target may be compressed against anything before it: parse it in the whole packet.
    Reader sub(packet.first(rdata_at + rdlength), rdata_at);
    auto target = TRY_CTX(fmt::format("{} rdata", section), sub.name(section));
    if (sub.pos() != rdata_at + rdlength)
      return Fail(ErrorCode::InvalidArgument, "{}: rdata length {} does not match its name",
                  section, rdlength);
    rr.target = std::move(target.name);
  }
  return rr;
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

void set16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}

// Header and echoed question of a reply to q; the answer count is patched in later.
std::vector<uint8_t> reply_start(const Query& q, Rcode rcode, bool authoritative) {
  std::vector<uint8_t> out;
  out.reserve(kMaxUdpSize);
  uint16_t flags = kFlagQr | kFlagRa | (q.header.flags & (0x7800 | kFlagRd | kFlagCd)) |
                   static_cast<uint16_t>(rcode);
  if (authoritative) flags |= kFlagAa;
  put16(out, q.header.id);
  put16(out, flags);
  put16(out, 1);  // the question, echoed
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), q.question.wire_name.begin(), q.question.wire_name.end());
  put16(out, q.question.type);
  put16(out, q.question.klass);
  return out;
}

// The start of an answer for the question's name (a pointer to offset 12, where it is echoed).
void answer_start(std::vector<uint8_t>& out, uint16_t type, uint32_t ttl) {
  put16(out, 0xc000 | kHeaderSize);
  put16(out, type);
  put16(out, kClassIn);
  put32(out, ttl);
}

}  // namespace

Result<Message> parse_message(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize)
    return Fail(ErrorCode::InvalidArgument, "truncated header: {} bytes, need {}", packet.size(),
                kHeaderSize);
  if (packet.size() > kMaxTcpSize)
    return Fail(ErrorCode::InvalidArgument, "message of {} bytes is over {}", packet.size(),
                kMaxTcpSize);
  Reader r(packet);
  Message m;
  m.header.id = TRY(r.u16("header"));
  m.header.flags = TRY(r.u16("header"));
  m.header.qdcount = TRY(r.u16("header"));
  m.header.ancount = TRY(r.u16("header"));
  m.header.nscount = TRY(r.u16("header"));
  m.header.arcount = TRY(r.u16("header"));
  for (int i = 0; i < m.header.qdcount; ++i) {
    Question q = TRY(r.name("question"));
    q.type = TRY(r.u16("question"));
    q.klass = TRY(r.u16("question"));
    m.questions.push_back(std::move(q));
  }
  for (int i = 0; i < m.header.ancount; ++i)
    m.answers.push_back(TRY(parse_record(r, packet, "answer")));
  for (int i = 0; i < m.header.nscount; ++i)
    m.authority.push_back(TRY(parse_record(r, packet, "authority")));
  for (int i = 0; i < m.header.arcount; ++i)
    m.additional.push_back(TRY(parse_record(r, packet, "additional")));
  if (r.pos() != packet.size())
    return Fail(ErrorCode::InvalidArgument, "{} bytes of garbage after the last record",
                packet.size() - r.pos());
  return m;
}

Result<Query> parse_query(std::span<const uint8_t> packet) {
  Message m = TRY(parse_message(packet));
  if (m.header.is_response()) return Fail(ErrorCode::InvalidArgument, "a response, not a query");
  if (m.header.qdcount != 1)
    return Fail(ErrorCode::InvalidArgument, "qdcount is {}, a query has exactly 1 question",
                m.header.qdcount);
  Query q;
  q.header = m.header;
  q.question = std::move(m.questions.front());
  for (const auto& rr : m.additional) {
    if (rr.type == kTypeOpt) q.udp_size = std::clamp<size_t>(rr.klass, kMaxUdpSize, kMaxTcpSize);
  }
  return q;
}

std::vector<uint8_t> build_a_reply(const Query& q, std::span<const Ipv4> addrs, uint32_t ttl,
                                   size_t max_size) {
  std::vector<uint8_t> out = reply_start(q, Rcode::NoError, true);
  constexpr size_t kAnswerSize = 2 + 2 + 2 + 4 + 2 + 4;
  uint16_t count = 0;
  for (Ipv4 a : addrs) {
    if (out.size() + kAnswerSize > max_size || count == 0xffff) {
      set16(out, 2, static_cast<uint16_t>((out[2] << 8 | out[3]) | kFlagTc));
      break;
    }
    answer_start(out, kTypeA, ttl);
    put16(out, 4);
    put32(out, a.value);
    ++count;
  }
  set16(out, 6, count);
  return out;
}

Result<std::vector<uint8_t>> build_ptr_reply(const Query& q, std::string_view target,
                                             uint32_t ttl) {
  std::string wire = TRY(encode_name(target));
  std::vector<uint8_t> out = reply_start(q, Rcode::NoError, true);
  answer_start(out, kTypePtr, ttl);
  put16(out, static_cast<uint16_t>(wire.size()));
  out.insert(out.end(), wire.begin(), wire.end());
  set16(out, 6, 1);
  return out;
}

std::vector<uint8_t> build_empty_reply(const Query& q, Rcode rcode) {
  return reply_start(q, rcode, rcode == Rcode::NoError || rcode == Rcode::NxDomain);
}

std::vector<uint8_t> build_format_error(const Header& h) {
  std::vector<uint8_t> out;
  put16(out, h.id);
  put16(out, static_cast<uint16_t>(kFlagQr | kFlagRa | (h.flags & (0x7800 | kFlagRd)) |
                                   static_cast<uint16_t>(Rcode::FormErr)));
  for (int i = 0; i < 4; ++i) put16(out, 0);
  return out;
}

Result<std::vector<uint8_t>> build_query(uint16_t id, std::string_view name, uint16_t type) {
  std::string wire = TRY(encode_name(name));
  std::vector<uint8_t> out;
  put16(out, id);
  put16(out, kFlagRd);
  put16(out, 1);
  for (int i = 0; i < 3; ++i) put16(out, 0);
  out.insert(out.end(), wire.begin(), wire.end());
  put16(out, type);
  put16(out, kClassIn);
  return out;
}

Result<std::string> encode_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  if (!name.empty()) {
    size_t start = 0;
    while (true) {
      size_t dot = name.find('.', start);
      std::string_view label =
          name.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (label.empty() || label.size() > kMaxLabel)
        return Fail(ErrorCode::InvalidArgument, "invalid DNS name {}: labels are 1 to {} bytes",
                    quote(name), kMaxLabel);
      out += static_cast<char>(label.size());
      out += label;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  out += '\0';
  if (out.size() > kMaxNameWire)
    return Fail(ErrorCode::InvalidArgument, "invalid DNS name: longer than {} bytes", kMaxNameWire);
  return out;
}

}  // namespace berth::network::dns
