// The HTTP client over Boost.Beast and OpenSSL. Every step (connect, TLS handshake, write,
// read) is an asynchronous operation run to completion on a private io_context, so that each
// has a deadline: Asio's synchronous operations have none.
#include <utility>  // before Boost: Boost 1.74 Asio misses it under C++23

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <vector>

#include "image/http_client.h"

namespace berth::image::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

constexpr size_t kChunk = 64 << 10;

// Starts one asynchronous operation and runs the io_context until it completes.
template <class Start>
error_code run_op(asio::io_context& ioc, Start&& start) {
  error_code result = asio::error::would_block;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

Unexpected transport_error(const Url& url, std::string_view step, const error_code& ec) {
  std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
  return Fail(ErrorCode::Unavailable, "{} {}: {}", step, url.to_string(), why);
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One request/response exchange on a connected stream (plain or TLS).
template <class Stream>
Result<Response> exchange(asio::io_context& ioc, Stream& stream, const Url& url,
                          const Request& req, const ClientOptions& opts, const BodySink& sink) {
  auto& lowest = beast::get_lowest_layer(stream);
  auto deadline = [&] { lowest.expires_after(std::chrono::seconds(opts.timeout_seconds)); };

  bhttp::request<bhttp::empty_body> head;
  head.version(11);
  head.method_string(req.method);
  head.target(url.target);
  head.set(bhttp::field::host, url.authority());
  head.set(bhttp::field::user_agent, opts.user_agent);
  head.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : req.headers.fields()) head.set(k, v);
  if (req.range_from) head.set(bhttp::field::range, "bytes=" + std::to_string(*req.range_from) + "-");
  int64_t body_size = req.body_fd >= 0 ? req.body_size : static_cast<int64_t>(req.body.size());
  if (body_size > 0 || req.method == "PUT" || req.method == "POST" || req.method == "PATCH")
    head.set(bhttp::field::content_length, std::to_string(body_size));

  bhttp::request_serializer<bhttp::empty_body> serializer(head);
  deadline();
  if (auto ec = run_op(ioc, [&](auto h) { bhttp::async_write_header(stream, serializer, h); }))
    return transport_error(url, "send request to", ec);
  if (req.body_fd < 0 && !req.body.empty()) {
    deadline();
    if (auto ec = run_op(ioc, [&](auto h) { asio::async_write(stream, asio::buffer(req.body), h); }))
      return transport_error(url, "send body to", ec);
  } else if (req.body_fd >= 0) {
    std::vector<char> buf(kChunk * 4);
    for (int64_t off = 0; off < body_size;) {
      size_t want = static_cast<size_t>(std::min<int64_t>(body_size - off, buf.size()));
      ssize_t n = ::pread(req.body_fd, buf.data(), want, off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FailErrno(errno, "read request body for {}", url.to_string());
      if (n == 0) return Fail(ErrorCode::Internal, "request body for {} ended at byte {} of {}",
                              url.to_string(), off, body_size);
      deadline();
      auto ec = run_op(ioc, [&](auto h) {
        asio::async_write(stream, asio::buffer(buf.data(), static_cast<size_t>(n)), h);
      });
      if (ec) return transport_error(url, "send body to", ec);
      off += n;
    }
  }

  // Beast reads at most the buffer's spare capacity (at least 512 bytes) per call: without
  // room reserved a 45 MB layer took ~100,000 recvmsg calls.
  beast::flat_buffer buffer;
  buffer.reserve(kChunk);
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(64 << 10);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (req.method == "HEAD") parser.skip(true);
  deadline();
  if (auto ec = run_op(ioc, [&](auto h) { bhttp::async_read_header(stream, buffer, parser, h); }))
    return transport_error(url, "read response from", ec);

  Response resp;
  resp.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get())
    resp.headers.add(std::string(field.name_string()), std::string(field.value()));
  bool to_sink = sink && resp.status >= 200 && resp.status < 300;
  if (to_sink && req.on_response) TRY(req.on_response(resp.status, resp.headers));
  std::vector<char> chunk(kChunk);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    deadline();
    auto ec = run_op(ioc, [&](auto h) { bhttp::async_read(stream, buffer, parser, h); });
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return transport_error(url, "read response body from", ec);
    std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
    if (got.empty()) continue;
    if (to_sink) {
      TRY(sink(got));
    } else {
      if (resp.body.size() + got.size() > opts.max_body)
        return Fail(ErrorCode::InvalidArgument, "response from {} is larger than {} bytes",
                    url.to_string(), opts.max_body);
      resp.body.append(got);
    }
  }
  return resp;
}

// Connects to url (TLS when https) and runs one exchange.
Result<Response> send_once(const Url& url, const Request& req, const ClientOptions& opts,
                           const BodySink& sink) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return transport_error(url, "resolve host of", ec);

  beast::tcp_stream tcp_stream(ioc);
  tcp_stream.expires_after(std::chrono::seconds(opts.timeout_seconds));
  ec = run_op(ioc, [&](auto h) { tcp_stream.async_connect(endpoints, h); });
  if (ec) return transport_error(url, "connect to", ec);
  if (url.scheme == "http") return exchange(ioc, tcp_stream, url, req, opts, sink);

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths(ec);
  ctx.add_verify_path("/etc/ssl/certs", ec);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), ctx);
  SSL* ssl = tls.native_handle();
  if (is_ip_literal(url.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, url.host.c_str());
    SSL_set1_host(ssl, url.host.c_str());
  }
  beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(opts.timeout_seconds));
  ec = run_op(ioc, [&](auto h) { tls.async_handshake(asio::ssl::stream_base::client, h); });
  if (ec) return transport_error(url, "TLS handshake with", ec);
  return exchange(ioc, tls, url, req, opts, sink);
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool plain_http_allowed(const Url& url, const std::vector<std::string>& insecure) {
  if (is_loopback_host(url.host)) return true;
  for (const auto& h : insecure)
    if (h == url.host || h == url.authority() || h == url.host + ":" + url.port) return true;
  return false;
}

}  // namespace

Result<Response> Client::send(const Request& req, const BodySink& sink) const {
  Request current = req;
  Url url = TRY(parse_url(req.url));
  for (int hop = 0;; ++hop) {
    if (url.scheme == "http" && !plain_http_allowed(url, options_.insecure_hosts))
      return Fail(ErrorCode::PermissionDenied,
                  "refusing plain HTTP to {}: not a loopback host nor an insecure registry",
                  url.authority());
    Result<Response> resp = Fail(ErrorCode::Internal, "unreachable");
    try {
      resp = send_once(url, current, options_, sink);
    } catch (const std::exception& e) {
      return Fail(ErrorCode::Unavailable, "{} {}: {}", current.method, url.to_string(), e.what());
    }
    if (!resp) return resp;
    resp->final_url = url.to_string();
    auto location = resp->headers.get("Location");
    if (!is_redirect(resp->status) || !location) return resp;
    if (hop >= options_.max_redirects)
      return Fail(ErrorCode::Unavailable, "{} {}: more than {} redirects", req.method, req.url,
                  options_.max_redirects);
    Url next = TRY(resolve_url(url, *location));
    if (next.authority() != url.authority() || next.scheme != url.scheme)
      current.headers.erase("Authorization");
    if (resp->status == 303 && current.method != "HEAD") {
      current.method = "GET";
      current.body.clear();
      current.body_fd = -1;
      current.body_size = 0;
    }
    url = std::move(next);
  }
}

}  // namespace berth::image::http
