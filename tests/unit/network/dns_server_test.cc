// The DNS server for real: run_dns_server on 127.0.0.1:<free port> in a thread, a records file
// in a temp dir, and a fake upstream resolver on 127.0.0.2 (UDP and TCP) started by the test.
// Only loopback traffic.
#include "network/dns_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "network/dns_message.h"

namespace berth::network {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

Ipv4 ip(std::string_view s) { return parse_ipv4(s).value(); }

sockaddr_in sockaddr_of(Ipv4 addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(addr.value);
  return sa;
}

UniqueFd bound_socket(int type, Ipv4 addr, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto sa = sockaddr_of(addr, port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return UniqueFd();
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// A port free for UDP and TCP on addr (bound and released; nothing else races on loopback).
uint16_t free_port(Ipv4 addr) {
  for (int i = 0; i < 20; ++i) {
    UniqueFd u = bound_socket(SOCK_DGRAM, addr, 0);
    uint16_t port = port_of(u.get());
    if (bound_socket(SOCK_STREAM, addr, port)) return port;
  }
  return 0;
}

void set_timeout(int fd, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

std::optional<Bytes> tcp_exchange(int fd, const Bytes& query) {
  Bytes out = {static_cast<uint8_t>(query.size() >> 8), static_cast<uint8_t>(query.size())};
  out.insert(out.end(), query.begin(), query.end());
  if (!write_all(fd, std::string_view(reinterpret_cast<const char*>(out.data()), out.size()))) return std::nullopt;
  uint8_t len[2];
  if (!read_exact(fd, len, 2)) return std::nullopt;
  Bytes reply(static_cast<size_t>(len[0] << 8 | len[1]));
  if (!read_exact(fd, reply.data(), reply.size())) return std::nullopt;
  return reply;
}

// The host's resolver, as far as the test needs one: any A query gets 192.0.2.1 (TTL 60);
// "big.example" over UDP gets an empty truncated reply and over TCP 40 addresses.
class FakeUpstream {
 public:
  FakeUpstream() {
    addr = ip("127.0.0.2");
    port = free_port(addr);
    udp_ = bound_socket(SOCK_DGRAM, addr, port);
    tcp_ = bound_socket(SOCK_STREAM, addr, port);
    ::listen(tcp_.get(), 16);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
  }

  Ipv4 addr;
  uint16_t port = 0;
  std::atomic<int> udp_queries{0};
  std::atomic<int> tcp_queries{0};

 private:
  static Bytes answer(const Bytes& packet, bool tcp) {
    auto q = dns::parse_query(packet);
    if (!q) return {};
    if (q->question.name == "big.example") {
      if (!tcp) {
        Bytes r = dns::build_empty_reply(*q, dns::Rcode::NoError);
        r[2] |= 0x02;
        return r;
      }
      return dns::build_a_reply(*q, std::vector<Ipv4>(40, ip("192.0.2.40")), 60, dns::kMaxTcpSize);
    }
    std::vector<Ipv4> a = {ip("192.0.2.1")};
    return dns::build_a_reply(*q, a, 60);
  }

  void loop() {
    while (!stop_) {
      pollfd fds[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        Bytes buf(65535);
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = ::recvfrom(udp_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          ++udp_queries;
          buf.resize(static_cast<size_t>(n));
          Bytes r = answer(buf, false);
          ::sendto(udp_.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fds[1].revents & POLLIN) {
        UniqueFd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        set_timeout(c.get(), 2000ms);
        uint8_t len[2];
        if (!read_exact(c.get(), len, 2)) continue;
        Bytes q(static_cast<size_t>(len[0] << 8 | len[1]));
        if (!read_exact(c.get(), q.data(), q.size())) continue;
        ++tcp_queries;
        Bytes r = answer(q, true);
        Bytes out = {static_cast<uint8_t>(r.size() >> 8), static_cast<uint8_t>(r.size())};
        out.insert(out.end(), r.begin(), r.end());
        (void)write_all(c.get(), std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
      }
    }
  }

  UniqueFd udp_;
  UniqueFd tcp_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-dns-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    records_ = dir_ + "/records";
    ASSERT_TRUE(write_file_atomic(records_, "10.89.0.2 web\n10.89.0.3 db-1 db\n10.89.0.4 db-2 db\n"));
    port_ = free_port(ip("127.0.0.1"));
    ASSERT_NE(port_, 0);
    config_.listen = {{ip("127.0.0.1"), port_}};
    config_.records_path = records_;
    config_.upstreams = {{upstream_.addr, upstream_.port}};
  }

  void TearDown() override {
    ::unlink(records_.c_str());  // stops the server
    if (thread_.joinable()) thread_.join();
    (void)remove_all(dir_);
  }

  void start() {
    config_.ready = [this] { ready_ = true; };
    thread_ = std::thread([this] {
      result_ = run_dns_server(config_);
      done_ = true;
    });
    for (int i = 0; i < 500 && !ready_ && !done_; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(ready_) << (done_ && !result_ ? result_.error().what() : "not ready after 5 s");
  }

  std::optional<dns::Message> ask(const Bytes& query) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    set_timeout(fd.get(), 5000ms);
    auto sa = sockaddr_of(ip("127.0.0.1"), port_);
    ::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    Bytes buf(65535);
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    auto m = dns::parse_message(buf);
    if (!m) return std::nullopt;
    return *m;
  }

  std::optional<dns::Message> ask(std::string_view name, uint16_t type = dns::kTypeA, uint16_t id = 0x4242) {
    return ask(dns::build_query(id, name, type).value());
  }

  std::optional<dns::Message> ask_tcp(std::string_view name, uint16_t type = dns::kTypeA) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    set_timeout(fd.get(), 5000ms);
    auto sa = sockaddr_of(ip("127.0.0.1"), port_);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return std::nullopt;
    auto reply = tcp_exchange(fd.get(), dns::build_query(7, name, type).value());
    if (!reply) return std::nullopt;
    auto m = dns::parse_message(*reply);
    if (!m) return std::nullopt;
    return *m;
  }

  static std::vector<std::string> addrs(const dns::Message& m) {
    std::vector<std::string> out;
    for (const auto& rr : m.answers) {
      if (rr.type != dns::kTypeA || rr.rdata.size() != 4) continue;
      auto b = [&](int i) { return static_cast<uint8_t>(rr.rdata[static_cast<size_t>(i)]); };
      out.push_back(fmt::format("{}.{}.{}.{}", b(0), b(1), b(2), b(3)));
    }
    return out;
  }

  FakeUpstream upstream_;
  std::string dir_;
  std::string records_;
  uint16_t port_ = 0;
  DnsServerConfig config_;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> done_{false};
  Result<void> result_;
};

TEST_F(DnsServerTest, AnswersLocalNamesWithA) {
  start();
  for (std::string_view name : {"web", "web.", "WeB"}) {
    auto m = ask(name);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(m->header.id, 0x4242);
    EXPECT_EQ(m->header.rcode(), dns::Rcode::NoError);
    EXPECT_TRUE(m->header.flags & dns::kFlagRa);
    EXPECT_EQ(addrs(*m), std::vector<std::string>{"10.89.0.2"});
    EXPECT_EQ(m->answers.at(0).ttl, 0u);
  }
  EXPECT_EQ(upstream_.udp_queries, 0);
}

TEST_F(DnsServerTest, AliasWithTwoAddressesGivesBothRotated) {
  start();
  std::set<std::string> firsts;
  for (int i = 0; i < 4; ++i) {
    auto m = ask("db");
    ASSERT_TRUE(m);
    auto a = addrs(*m);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(std::set<std::string>(a.begin(), a.end()), (std::set<std::string>{"10.89.0.3", "10.89.0.4"}));
    firsts.insert(a[0]);
  }
  EXPECT_EQ(firsts.size(), 2u);
}

TEST_F(DnsServerTest, AaaaForKnownNameIsEmptyNoError) {
  start();
  auto m = ask("web", dns::kTypeAaaa);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.rcode(), dns::Rcode::NoError);
  EXPECT_TRUE(m->answers.empty());
  EXPECT_EQ(upstream_.udp_queries, 0);
}

TEST_F(DnsServerTest, PtrForContainerAddress) {
  start();
  auto m = ask("2.0.89.10.in-addr.arpa", dns::kTypePtr);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].target, "web");
}

TEST_F(DnsServerTest, UnknownNamesAreForwarded) {
  start();
  auto m = ask("example.com", dns::kTypeA, 0x7777);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 0x7777);
  EXPECT_EQ(addrs(*m), std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(m->answers.at(0).ttl, 60u);  // the upstream's reply, verbatim
  EXPECT_EQ(upstream_.udp_queries, 1);
  auto ptr = ask("9.0.89.10.in-addr.arpa", dns::kTypePtr);  // not ours: upstream too
  ASSERT_TRUE(ptr);
  EXPECT_EQ(upstream_.udp_queries, 2);
}

TEST_F(DnsServerTest, TcpQueries) {
  start();
  auto local = ask_tcp("web");
  ASSERT_TRUE(local);
  EXPECT_EQ(addrs(*local), std::vector<std::string>{"10.89.0.2"});
  auto forwarded = ask_tcp("example.org");
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(addrs(*forwarded), std::vector<std::string>{"192.0.2.1"});
}

TEST_F(DnsServerTest, TruncatedUpstreamReplyFallsBackToTcp) {
  start();
  auto over_tcp = ask_tcp("big.example");
  ASSERT_TRUE(over_tcp);
  EXPECT_EQ(addrs(*over_tcp).size(), 40u);
  EXPECT_EQ(upstream_.tcp_queries, 1);
  // A UDP client without EDNS can take 512 bytes: it gets the truncated reply and retries itself.
  auto small = ask("big.example");
  ASSERT_TRUE(small);
  EXPECT_TRUE(small->header.truncated());
  // With EDNS (4096 bytes) the whole TCP answer fits.
  Bytes edns = dns::build_query(3, "big.example", dns::kTypeA).value();
  edns[11] = 1;
  edns.insert(edns.end(), {0x00, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0x00});
  auto big = ask(edns);
  ASSERT_TRUE(big);
  EXPECT_FALSE(big->header.truncated());
  EXPECT_EQ(addrs(*big).size(), 40u);
}

TEST_F(DnsServerTest, NoUpstreamAnsweringIsServfail) {
  UniqueFd silent = bound_socket(SOCK_DGRAM, ip("127.0.0.3"), 0);  // bound, never answers
  config_.upstreams = {{ip("127.0.0.3"), free_port(ip("127.0.0.3"))},  // refused at once
                       {ip("127.0.0.3"), port_of(silent.get())}};      // 2 s timeout
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto m = ask("example.com");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.rcode(), dns::Rcode::ServFail);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1900ms);
  EXPECT_EQ(ask("web").value().answers.size(), 1u);  // local names still answered
}

TEST_F(DnsServerTest, GarbageGetsFormerr) {
  start();
  Bytes garbage = dns::build_query(5, "web", dns::kTypeA).value();
  garbage[12] = 0xc0;  // a pointer to offset 3
  garbage[13] = 3;
  auto m = ask(garbage);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 5);
  EXPECT_EQ(m->header.rcode(), dns::Rcode::FormErr);
}

TEST_F(DnsServerTest, RewrittenRecordsFileGivesNewAnswers) {
  start();
  EXPECT_EQ(addrs(ask("web").value()), std::vector<std::string>{"10.89.0.2"});
  ASSERT_TRUE(write_file_atomic(records_, "10.89.0.9 web\n10.89.0.10 cache\n"));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(addrs(ask("web").value()), std::vector<std::string>{"10.89.0.9"});
  EXPECT_EQ(addrs(ask("cache").value()), std::vector<std::string>{"10.89.0.10"});
  EXPECT_EQ(addrs(ask("db").value()), std::vector<std::string>{"192.0.2.1"});  // gone: forwarded
}

TEST_F(DnsServerTest, RemovedRecordsFileStopsTheServer) {
  start();
  ASSERT_TRUE(ask("web"));
  ASSERT_EQ(::unlink(records_.c_str()), 0);
  for (int i = 0; i < 200 && !done_; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(done_) << "still serving 2 s after the records file was removed";
  EXPECT_TRUE(result_) << result_.error().what();
}

TEST_F(DnsServerTest, BindErrorsAreReturnedAtOnce) {
  UniqueFd taken = bound_socket(SOCK_DGRAM, ip("127.0.0.1"), 0);
  config_.listen = {{ip("127.0.0.1"), port_of(taken.get())}};
  bool ready = false;
  config_.ready = [&] { ready = true; };
  auto r = run_dns_server(config_);
  ASSERT_FALSE(r);
  EXPECT_FALSE(ready);
  EXPECT_NE(r.error().what().find("bind DNS server to udp 127.0.0.1:"), std::string::npos) << r.error().what();

  config_.records_path = dir_ + "/missing";
  auto missing = run_dns_server(config_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(DnsServerTest, LocalQueriesPerSecond) {
  start();
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  set_timeout(fd.get(), 5000ms);
  auto sa = sockaddr_of(ip("127.0.0.1"), port_);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  Bytes web = dns::build_query(1, "web", dns::kTypeA).value();
  Bytes db = dns::build_query(2, "db", dns::kTypeA).value();
  Bytes buf(512);
  int answered = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  while (elapsed() < 1.0) {
    const Bytes& q = answered % 2 ? db : web;
    ASSERT_EQ(::send(fd.get(), q.data(), q.size(), 0), static_cast<ssize_t>(q.size()));
    ASSERT_GT(::recv(fd.get(), buf.data(), buf.size(), 0), 0);
    ++answered;
  }
  double qps = answered / elapsed();
  std::cout << "[ qps      ] " << static_cast<long>(qps) << " local queries/s (one client, sequential)\n";
  RecordProperty("local_qps", static_cast<int>(qps));
  EXPECT_GT(qps, 1000);
}

}  // namespace
}  // namespace berth::network
