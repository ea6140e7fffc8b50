// URLs and header fields of the HTTP client (the parts that need no Boost).
#include <strings.h>

#include "base/strings.h"
#include "image/http_client.h"

namespace berth::image::http {

namespace {

std::string default_port(std::string_view scheme) { return scheme == "https" ? "443" : "80"; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(scheme)) h += ":" + port;
  return h;
}

std::string Url::to_string() const { return scheme + "://" + authority() + target; }

Result<Url> parse_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::InvalidArgument, "invalid URL {}: {}", quote(text), why);
  };
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return bad("no scheme");
  std::string scheme(text.substr(0, sep));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return bad("scheme must be http or https");
  url.scheme = scheme;
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("garbage after IPv6 address");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("empty host");
  if (!port.empty()) {
    for (char c : port)
      if (c < '0' || c > '9') return bad("port is not a number");
    if (port.size() > 5) return bad("port out of range");
    url.port = std::string(port);
  } else {
    url.port = default_port(url.scheme);
  }
  url.target = target.empty() ? "/" : std::string(target);
  if (url.target.front() == '?') url.target = "/" + url.target;
  for (char c : url.target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("control character or space in path");
  }
  return url;
}

Result<Url> resolve_url(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return parse_url(location);
  if (starts_with(location, "//")) return parse_url(base.scheme + ":" + std::string(location));
  Url out = base;
  if (starts_with(location, "/")) {
    out.target = std::string(location);
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    out.target = dir + std::string(location);
  }
  return parse_url(out.to_string());
}

bool is_loopback_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? host.size() : close - 1);
  } else if (size_t colon = host.find(':');
             colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    host = host.substr(0, colon);  // "localhost:5000"; a bare IPv6 address has several colons
  }
  if (iequals(host, "localhost") || host == "::1") return true;
  if (!starts_with(host, "127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

void Headers::set(std::string name, std::string value) {
  erase(name);
  add(std::move(name), std::move(value));
}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return iequals(f.first, name); });
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : fields_)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

}  // namespace berth::image::http
