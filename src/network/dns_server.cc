// The DNS server over Boost.Asio: one io_context on the calling thread, a UDP socket and a TCP
// acceptor per listen address, one short-lived socket per forwarded query. The only Asio
// translation unit of the network layer.
#include "network/dns_server.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>  // before Boost: Boost 1.74 Asio misses it under C++23

#include "base/fs.h"
#include "base/log.h"
#include "network/dns_message.h"
#include "network/dns_records.h"

namespace berth::network {

namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// TTL 0 rather than Docker's 600: a replica that joins or leaves is seen by the next lookup,
// and the answer costs one round trip on the host.
constexpr uint32_t kLocalTtl = 0;
constexpr auto kUpstreamTimeout = 2s;      // per upstream, per transport
constexpr auto kRecordsRecheck = 100ms;    // at most one stat of the records file per this
constexpr auto kRecordsIdleCheck = 250ms;  // notices a removed file when no query comes
constexpr auto kTcpIdleTimeout = 10s;
constexpr size_t kMaxForwards = 512;  // forwarded queries in flight; beyond: SERVFAIL
constexpr size_t kMaxTcpClients = 128;

asio::ip::address_v4 to_asio(Ipv4 ip) { return asio::ip::address_v4(ip.value); }

std::string endpoint_str(Ipv4 ip, uint16_t port) { return fmt::format("{}:{}", ip.str(), port); }

// The records file and when it was last looked at. refresh() reloads it when its inode, size or
// mtime changed and reports false once it is gone.
class RecordsWatch {
 public:
  explicit RecordsWatch(std::string path) : path_(std::move(path)) {}

  Result<void> load() {
    if (!reload()) return Fail(ErrorCode::NotFound, "records file {} does not exist", path_);
    return {};
  }

  bool refresh(bool force = false) {
    auto now = Clock::now();
    if (!force && now - last_check_ < kRecordsRecheck) return true;
    last_check_ = now;
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return !(errno == ENOENT || errno == ENOTDIR);
    if (identity(st) == identity_) return true;
    return reload();
  }

  const DnsRecords& records() const { return records_; }

 private:
  using Identity = std::array<int64_t, 5>;
  static Identity identity(const struct stat& st) {
    return {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino), st.st_size,
            st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  }

  // False when the file is gone; other read errors keep the records already loaded.
  bool reload() {
    auto fd = open_fd(path_, O_RDONLY);
    if (!fd) {
      if (fd.error().code() == ErrorCode::NotFound) return false;
      log::warn("dns: {}", fd.error().what());
      return true;
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return true;
    auto text = read_all(fd->get());
    if (!text) {
      log::warn("dns: read {}: {}", path_, text.error().what());
      return true;
    }
    auto parsed = parse_dns_records(*text, path_);
    for (const auto& e : parsed.errors) log::warn("dns: skipped {}", e.what());
    records_ = std::move(parsed.records);
    identity_ = identity(st);
    return true;
  }

  std::string path_;
  DnsRecords records_;
  Identity identity_{};
  Clock::time_point last_check_{};
};

using ReplyFn = std::function<void(std::span<const uint8_t>)>;

class Server;

// One query forwarded upstream: UDP to each upstream in turn with a deadline, TCP to the same
// upstream when its reply is truncated. Every handler checks that it belongs to the current
// attempt; the timer only closes the sockets, the aborted operation then moves on.
class Forward : public std::enable_shared_from_this<Forward> {
 public:
  Forward(Server& server, std::vector<uint8_t> packet, dns::Query query, bool client_tcp,
          ReplyFn reply);
  ~Forward();
  void start() { try_udp(0); }

 private:
  void try_udp(size_t i);
  void receive_udp(unsigned attempt, size_t i);
  void try_tcp(size_t i);
  void upstream_failed(size_t i);
  void arm_timer();
  void close_sockets();
  void finish(std::span<const uint8_t> reply);
  bool valid_reply(std::span<const uint8_t> reply) const;

  Server& server_;
  std::vector<uint8_t> packet_;
  dns::Query query_;
  bool client_tcp_;
  ReplyFn reply_;
  udp::socket udp_;
  tcp::socket tcp_;
  asio::steady_timer timer_;
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> out_;
  std::vector<uint8_t> truncated_;  // a TC reply kept for a UDP client if TCP fails
  std::array<uint8_t, 2> len_{};
  unsigned attempt_ = 0;
  bool done_ = false;
};

// One TCP client: length-prefixed queries answered one after the other, closed when idle.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Server& server, tcp::socket socket);
  ~TcpSession();
  void read_next();
  void write(std::span<const uint8_t> reply);
  void close();

 private:
  Server& server_;
  tcp::socket socket_;
  asio::steady_timer idle_;
  std::array<uint8_t, 2> len_{};
  std::vector<uint8_t> msg_;
  std::vector<uint8_t> out_;
};

struct UdpListener {
  explicit UdpListener(asio::io_context& ioc) : socket(ioc) {}
  udp::socket socket;
  udp::endpoint sender;
  std::vector<uint8_t> buf = std::vector<uint8_t>(dns::kMaxTcpSize);
};

class Server {
 public:
  explicit Server(const DnsServerConfig& config) : config_(config), records_(config.records_path) {}

  Result<void> open();
  void run();

  asio::io_context& ioc() { return ioc_; }
  const std::vector<udp::endpoint>& upstreams() const { return upstreams_; }
  void handle_tcp(const std::shared_ptr<TcpSession>& session, std::span<const uint8_t> packet);

  // Live counts, kept by the constructors and destructors of forwards and sessions.
  size_t forwards = 0;
  size_t tcp_clients = 0;

 private:
  Result<void> open_listener(Ipv4 ip, uint16_t port);
  void receive_udp(UdpListener& l);
  void accept_tcp(tcp::acceptor& a);
  void watch_records();
  bool records_alive();
  // The reply the server gives itself, or nothing when the query goes upstream.
  std::optional<std::vector<uint8_t>> local_answer(const dns::Query& q, size_t max_size);
  // A reply to a packet that is not a query we can parse: FORMERR when it has a query header.
  static std::optional<std::vector<uint8_t>> format_error(std::span<const uint8_t> packet);
  void forward(std::span<const uint8_t> packet, dns::Query q, bool client_tcp, ReplyFn reply);

  const DnsServerConfig& config_;
  RecordsWatch records_;
  std::unordered_map<std::string, size_t> rotation_;  // round robin position per lowercased name
  std::vector<udp::endpoint> upstreams_;
  // After the counters and everything a pending handler may reach: destroying ioc_ destroys
  // the handlers, and with them the last forwards and sessions, which decrement the counters.
  asio::io_context ioc_;
  std::list<UdpListener> udp_;
  std::list<tcp::acceptor> tcp_;
  asio::signal_set signals_{ioc_};
  asio::steady_timer watch_timer_{ioc_};
};

// ---- Server

Result<void> Server::open() {
  TRY(records_.load());
  for (const auto& [ip, port] : config_.listen) TRY(open_listener(ip, port));
  auto upstreams = config_.upstreams;
  if (upstreams.empty()) {
    auto text = read_file("/etc/resolv.conf");
    if (!text) log::warn("dns: no upstream resolvers: {}", text.error().what());
    for (Ipv4 ip : resolv_conf_nameservers(text ? *text : "")) upstreams.emplace_back(ip, 53);
  }
  for (const auto& [ip, port] : upstreams) {
    udp::endpoint ep(to_asio(ip), port);
    bool is_self = false;
    for (const auto& l : udp_) {
      error_code ec;
      is_self |= l.socket.local_endpoint(ec) == ep;
    }
    if (!is_self) upstreams_.push_back(ep);  // forwarding to ourselves would loop
  }
  return {};
}

Result<void> Server::open_listener(Ipv4 ip, uint16_t port) {
  error_code ec;
  auto& u = udp_.emplace_back(ioc_);
  udp::endpoint uep(to_asio(ip), port);
  u.socket.open(udp::v4(), ec);
  if (!ec) u.socket.bind(uep, ec);
  if (ec) return FailErrno(ec.value(), "bind DNS server to udp {}", endpoint_str(ip, port));
  auto& a = tcp_.emplace_back(ioc_);
  tcp::endpoint tep(to_asio(ip), port);
  a.open(tcp::v4(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(tep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return FailErrno(ec.value(), "bind DNS server to tcp {}", endpoint_str(ip, port));
  return {};
}

void Server::run() {
  for (auto& l : udp_) receive_udp(l);
  for (auto& a : tcp_) accept_tcp(a);
  error_code ec;
  signals_.add(SIGTERM, ec);
  signals_.add(SIGINT, ec);
  signals_.async_wait([this](error_code e, int) {
    if (!e) ioc_.stop();
  });
  watch_records();
  ioc_.run();
}

void Server::watch_records() {
  watch_timer_.expires_after(kRecordsIdleCheck);
  watch_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    if (records_alive()) watch_records();
  });
}

bool Server::records_alive() {
  if (records_.refresh()) return true;
  ioc_.stop();  // the engine removed the file: the network's last container left
  return false;
}

void Server::receive_udp(UdpListener& l) {
  l.socket.async_receive_from(asio::buffer(l.buf), l.sender, [this, &l](error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && records_alive()) {
      std::span<const uint8_t> packet(l.buf.data(), n);
      udp::endpoint client = l.sender;
      auto send = [&l, client](std::span<const uint8_t> reply) {
        error_code ignored;
        l.socket.send_to(asio::buffer(reply.data(), reply.size()), client, 0, ignored);
      };
      auto q = dns::parse_query(packet);
      if (!q) {
        if (auto reply = format_error(packet)) send(*reply);
      } else if (auto reply = local_answer(*q, q->udp_size)) {
        send(*reply);
      } else {
        forward(packet, std::move(*q), false, send);
      }
    }
    receive_udp(l);
  });
}

void Server::accept_tcp(tcp::acceptor& a) {
  a.async_accept([this, &a](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && tcp_clients < kMaxTcpClients)
      std::make_shared<TcpSession>(*this, std::move(socket))->read_next();
    accept_tcp(a);
  });
}

void Server::handle_tcp(const std::shared_ptr<TcpSession>& session,
                        std::span<const uint8_t> packet) {
  if (!records_alive()) return;
  auto q = dns::parse_query(packet);
  if (!q) {
    if (auto reply = format_error(packet)) return session->write(*reply);
    return session->close();
  }
  if (auto reply = local_answer(*q, dns::kMaxTcpSize)) return session->write(*reply);
  forward(packet, std::move(*q), true,
          [session](std::span<const uint8_t> reply) { session->write(reply); });
}

std::optional<std::vector<uint8_t>> Server::format_error(std::span<const uint8_t> packet) {
  if (packet.size() < dns::kHeaderSize || (packet[2] & 0x80))
    return std::nullopt;  // never answer a response
  dns::Header h;
  h.id = static_cast<uint16_t>(packet[0] << 8 | packet[1]);
  h.flags = static_cast<uint16_t>(packet[2] << 8 | packet[3]);
  return dns::build_format_error(h);
}

std::optional<std::vector<uint8_t>> Server::local_answer(const dns::Query& q, size_t max_size) {
  if (q.header.opcode() != 0) return dns::build_empty_reply(q, dns::Rcode::NotImp);
  if (q.question.klass != dns::kClassIn) return std::nullopt;
  const DnsRecords& records = records_.records();
  if (q.question.type == dns::kTypePtr) {
    auto ip = parse_reverse_name(q.question.name);
    auto target = ip ? records.reverse(*ip) : std::nullopt;
    if (!target) return std::nullopt;
    auto reply = dns::build_ptr_reply(q, *target, kLocalTtl);
    if (!reply) return std::nullopt;
    return std::move(*reply);
  }
  auto addrs = records.lookup(q.question.name);
  if (addrs.empty()) return std::nullopt;
  if (q.question.type != dns::kTypeA && q.question.type != dns::kTypeAny) {
    return dns::build_empty_reply(q,
                                  dns::Rcode::NoError);  // AAAA and the rest: no such data, no IPv6
  }
  std::vector<Ipv4> rotated(addrs.begin(), addrs.end());
  if (rotated.size() > 1) {
    std::string key = q.question.name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t& next = rotation_[key];
    std::rotate(rotated.begin(), rotated.begin() + static_cast<ptrdiff_t>(next % rotated.size()),
                rotated.end());
    next = (next + 1) % rotated.size();
  }
  return dns::build_a_reply(q, rotated, kLocalTtl, max_size);
}

void Server::forward(std::span<const uint8_t> packet, dns::Query q, bool client_tcp,
                     ReplyFn reply) {
  if (upstreams_.empty() || forwards >= kMaxForwards) {
    auto servfail = dns::build_empty_reply(q, dns::Rcode::ServFail);
    reply(servfail);
    return;
  }
  std::make_shared<Forward>(*this, std::vector<uint8_t>(packet.begin(), packet.end()), std::move(q),
                            client_tcp, std::move(reply))
      ->start();
}

// ---- Forward

Forward::Forward(Server& server, std::vector<uint8_t> packet, dns::Query query, bool client_tcp,
                 ReplyFn reply)
    : server_(server),
      packet_(std::move(packet)),
      query_(std::move(query)),
      client_tcp_(client_tcp),
      reply_(std::move(reply)),
      udp_(server.ioc()),
      tcp_(server.ioc()),
      timer_(server.ioc()) {
  ++server_.forwards;
}

Forward::~Forward() { --server_.forwards; }

void Forward::arm_timer() {
  timer_.expires_after(kUpstreamTimeout);
  timer_.async_wait([self = shared_from_this(), attempt = attempt_](error_code ec) {
    if (!ec && attempt == self->attempt_) self->close_sockets();
  });
}

void Forward::close_sockets() {
  error_code ignored;
  udp_.close(ignored);
  tcp_.close(ignored);
}

bool Forward::valid_reply(std::span<const uint8_t> reply) const {
  if (reply.size() < dns::kHeaderSize || !(reply[2] & 0x80)) return false;
  return reply[0] == packet_[0] && reply[1] == packet_[1];
}

void Forward::upstream_failed(size_t i) {
  if (!client_tcp_ && !truncated_.empty()) {
    auto kept = std::move(truncated_);
    return finish(kept);  // the client retries over TCP itself
  }
  try_udp(i + 1);
}

void Forward::try_udp(size_t i) {
  close_sockets();
  const unsigned attempt = ++attempt_;
  if (i >= server_.upstreams().size()) {
    auto servfail = dns::build_empty_reply(query_, dns::Rcode::ServFail);
    return finish(servfail);
  }
  const udp::endpoint& upstream = server_.upstreams()[i];
  error_code ec;
  udp_.open(udp::v4(), ec);
  if (!ec) udp_.connect(upstream, ec);  // replies from anyone else are dropped by the kernel
  if (ec) return try_udp(i + 1);
  arm_timer();
  auto self = shared_from_this();
  udp_.async_send(asio::buffer(packet_), [self, attempt](error_code e, size_t) {
    if (e && attempt == self->attempt_) self->close_sockets();  // the receive below moves on
  });
  buf_.resize(dns::kMaxTcpSize);
  receive_udp(attempt, i);
}

void Forward::receive_udp(unsigned attempt, size_t i) {
  udp_.async_receive(asio::buffer(buf_),
                     [self = shared_from_this(), attempt, i](error_code e, size_t n) {
                       if (attempt != self->attempt_) return;
                       if (e) return self->try_udp(i + 1);
                       std::span<const uint8_t> reply(self->buf_.data(), n);
                       if (!self->valid_reply(reply))
                         return self->receive_udp(attempt, i);  // not ours: keep waiting
                       if (reply[2] & 0x02) {                   // TC: the whole answer needs TCP
                         self->truncated_.assign(reply.begin(), reply.end());
                         return self->try_tcp(i);
                       }
                       self->finish(reply);
                     });
}

void Forward::try_tcp(size_t i) {
  close_sockets();
  const unsigned attempt = ++attempt_;
  arm_timer();
  auto self = shared_from_this();
  auto failed = [self, attempt, i](error_code e) {
    if (!e && attempt == self->attempt_) return false;
    if (attempt == self->attempt_) self->upstream_failed(i);
    return true;
  };
  auto upstream = server_.upstreams()[i];
  tcp_.async_connect(tcp::endpoint(upstream.address(), upstream.port()), [self,
                                                                          failed](error_code e) {
    if (failed(e)) return;
    self->out_.clear();
    self->out_.push_back(static_cast<uint8_t>(self->packet_.size() >> 8));
    self->out_.push_back(static_cast<uint8_t>(self->packet_.size()));
    self->out_.insert(self->out_.end(), self->packet_.begin(), self->packet_.end());
    asio::async_write(self->tcp_, asio::buffer(self->out_), [self, failed](error_code e, size_t) {
      if (failed(e)) return;
      asio::async_read(self->tcp_, asio::buffer(self->len_), [self, failed](error_code e, size_t) {
        if (failed(e)) return;
        self->buf_.resize(static_cast<size_t>(self->len_[0] << 8 | self->len_[1]));
        asio::async_read(
            self->tcp_, asio::buffer(self->buf_), [self, failed](error_code e, size_t) {
              if (failed(e)) return;
              if (!self->valid_reply(self->buf_)) {
                failed(asio::error::invalid_argument);
                return;
              }
              bool fits = self->client_tcp_ || self->buf_.size() <= self->query_.udp_size;
              if (fits) return self->finish(self->buf_);
              auto kept = std::move(self->truncated_);
              self->finish(kept);
            });
      });
    });
  });
}

void Forward::finish(std::span<const uint8_t> reply) {
  if (done_) return;
  done_ = true;
  ++attempt_;  // stale handlers see another attempt
  timer_.cancel();
  close_sockets();
  reply_(reply);
}

// ---- TcpSession

TcpSession::TcpSession(Server& server, tcp::socket socket)
    : server_(server), socket_(std::move(socket)), idle_(server.ioc()) {
  ++server_.tcp_clients;
}

TcpSession::~TcpSession() { --server_.tcp_clients; }

void TcpSession::close() {
  error_code ignored;
  socket_.close(ignored);
  idle_.cancel();
}

void TcpSession::read_next() {
  idle_.expires_after(kTcpIdleTimeout);
  idle_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec && self->idle_.expiry() <= Clock::now()) self->close();
  });
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(len_), [self](error_code ec, size_t) {
    if (ec) return self->close();
    size_t size = static_cast<size_t>(self->len_[0] << 8 | self->len_[1]);
    if (size < dns::kHeaderSize) return self->close();
    self->msg_.resize(size);
    asio::async_read(self->socket_, asio::buffer(self->msg_), [self](error_code e, size_t) {
      if (e) return self->close();
      self->idle_.cancel();  // no idle deadline while the answer is on its way
      self->server_.handle_tcp(self, self->msg_);
    });
  });
}

void TcpSession::write(std::span<const uint8_t> reply) {
  out_.clear();
  out_.push_back(static_cast<uint8_t>(reply.size() >> 8));
  out_.push_back(static_cast<uint8_t>(reply.size()));
  out_.insert(out_.end(), reply.begin(), reply.end());
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, size_t) {
                      if (ec) return self->close();
                      self->read_next();
                    });
}

}  // namespace

Result<void> run_dns_server(const DnsServerConfig& config) {
  try {
    Server server(config);
    TRY_CTX("dns server", server.open());
    if (config.ready) config.ready();
    server.run();
    return {};
  } catch (const std::exception& e) {
    return Fail(ErrorCode::Internal, "dns server: {}", e.what());
  }
}

}  // namespace berth::network
