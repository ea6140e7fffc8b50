// A small synchronous HTTP/1.1 client for the registry client: one connection per request,
// HTTPS verified against the system CA store (with SNI), plain HTTP only for loopback hosts and
// hosts listed as insecure, redirects followed. Built on Boost.Beast over OpenSSL; this header
// keeps Beast out of everything that includes it (http_client.cc is the one translation unit
// that sees Boost).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace berth::image::http {

// An absolute http(s) URL split into the parts a request needs.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 ("::1")
  std::string port;    // always set ("443" by default for https)
  std::string target;  // path and query, "/" at least

  // scheme://host[:port]/target, brackets around IPv6 hosts, default ports omitted.
  std::string to_string() const;
  // host[:port] as it goes into the Host header (port omitted when it is the default).
  std::string authority() const;
};

// Parses "http(s)://host[:port][/path][?query]"; InvalidArgument quoting the text otherwise.
Result<Url> parse_url(std::string_view text);
// A Location header resolved against the URL it came from (absolute, "/path" or "path?q").
Result<Url> resolve_url(const Url& base, std::string_view location);
// Whether host ("localhost", "127.0.0.1", "::1", with or without a port) is a loopback name.
bool is_loopback_host(std::string_view host);

// Header fields in order, with case-insensitive lookup.
class Headers {
 public:
  void set(std::string name, std::string value);
  void add(std::string name, std::string value);
  void erase(std::string_view name);
  // The first value of a field; nullopt when absent.
  std::optional<std::string> get(std::string_view name) const;
  // Every value of a field (WWW-Authenticate may repeat).
  std::vector<std::string> get_all(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;           // sent when body_fd < 0
  int body_fd = -1;           // borrowed; body_size bytes from offset 0 are streamed (pread)
  int64_t body_size = 0;
  std::optional<int64_t> range_from;  // adds "Range: bytes=<n>-"
  // With a sink: called with the status and headers of a 2xx response before its body flows
  // (e.g. to restart a resumed download when a server ignored the Range).
  std::function<Result<void>(int status, const Headers& headers)> on_response;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;       // empty when the body went to a sink
  std::string final_url;  // after redirects
};

// Receives a successful (2xx) response body in chunks; an error stops the transfer.
using BodySink = std::function<Result<void>(std::string_view chunk)>;

struct ClientOptions {
  std::vector<std::string> insecure_hosts;  // "host" or "host:port" spoken to over plain HTTP
  std::string user_agent = "berth";
  int timeout_seconds = 60;              // per connect/handshake/read/write step
  size_t max_body = 4 << 20;             // cap of a body kept in memory
  int max_redirects = 5;
};

class Client {
 public:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}

  // Sends req and returns the response after following redirects (Authorization is dropped
  // when a redirect changes host). With a sink, 2xx bodies stream to it instead of memory.
  // Transport failures are Unavailable and name the URL.
  Result<Response> send(const Request& req, const BodySink& sink = nullptr) const;

  const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

}  // namespace berth::image::http
