// Parser for image references. Docker's grammar (distribution/reference) is a set of regular
// expressions; here each piece is checked by hand so every failure can say which piece is wrong,
// while accepting exactly the same language:
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] component ( "/" component )*        (at most 255 characters)
//   domain     := ( host | "[" ipv6 "]" ) [ ":" port ]
//   host       := label ( "." label )*,  label := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [\w][\w.-]{0,127}
//   digest     := "sha256:" [a-f0-9]{64}
//
// Normalisation follows Docker's ParseNormalizedNamed: the first component is a domain only if it
// contains '.' or ':', is "localhost", or has an uppercase letter; otherwise the domain is
// docker.io, and a single-component path on docker.io gets "library/".
#include "oci/image_reference.h"

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/strings.h"

namespace berth::oci {
namespace {

constexpr size_t kNameTotalLengthMax = 255;
constexpr size_t kTagLengthMax = 128;
constexpr size_t kSha256HexLength = 64;
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

bool has_upper(std::string_view s) {
  for (char c : s) {
    if (is_upper(c)) return true;
  }
  return false;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

bool valid_host(std::string_view host) {
  while (true) {
    size_t dot = host.find('.');
    if (!valid_label(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    host.remove_prefix(dot + 1);
  }
}

bool valid_port(std::string_view port) {
  if (port.empty()) return false;
  for (char c : port) {
    if (!is_digit(c)) return false;
  }
  return true;
}

bool valid_domain(std::string_view domain) {
  std::string_view rest;
  if (!domain.empty() && domain.front() == '[') {
    size_t close = domain.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : domain.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':') return false;
    }
    rest = domain.substr(close + 1);
  } else {
    size_t colon = domain.find(':');
    if (!valid_host(domain.substr(0, colon))) return false;
    rest = colon == std::string_view::npos ? std::string_view() : domain.substr(colon);
  }
  return rest.empty() || (rest.front() == ':' && valid_port(rest.substr(1)));
}

bool valid_component(std::string_view c) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < c.size() && is_lower_alnum(c[i])) ++i;
    if (i == run) return false;
    if (i == c.size()) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagLengthMax || !is_word(tag.front())) return false;
  for (char c : tag) {
    if (!is_word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != kSha256HexLength) return false;
  for (char c : s) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

// Docker refuses a bare 64-hex string as a name: it is an image id, not a repository.
bool is_image_id(std::string_view s) { return is_sha256_hex(s); }

Result<void> check_digest(std::string_view text, std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: invalid digest {}: want sha256:<64 hex digits>",
                quote(text), quote(digest));
  }
  std::string_view algorithm = digest.substr(0, colon);
  if (algorithm != "sha256") {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: unsupported digest algorithm {}", quote(text),
                quote(algorithm));
  }
  if (!is_sha256_hex(digest.substr(colon + 1))) {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: invalid digest {}: want 64 lowercase hex digits",
                quote(text), quote(digest));
  }
  return {};
}

}  // namespace

std::string ImageReference::name() const { return domain + "/" + path; }

std::string ImageReference::to_string() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string ImageReference::familiar() const {
  std::string out;
  if (domain == kDefaultDomain) {
    std::string_view p = path;
    if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
        p.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
      p.remove_prefix(kOfficialRepoPrefix.size());
    }
    out = p;
  } else {
    out = name();
  }
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageReference> parse_image_reference(std::string_view text) {
  if (text.empty()) {
    return Fail(ErrorCode::InvalidArgument, "invalid reference \"\": empty reference");
  }
  if (is_image_id(text)) {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: cannot use a 64-character hex image id as a repository name",
                quote(text));
  }

  // Split off the domain the way Docker's splitDockerDomain does.
  ImageReference ref;
  std::string_view remainder = text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = text.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        has_upper(first)) {
      ref.domain = first;
      remainder = text.substr(slash + 1);
    }
  }
  if (ref.domain.empty()) ref.domain = kDefaultDomain;
  if (ref.domain == kLegacyDefaultDomain) ref.domain = kDefaultDomain;

  // Docker checks case on everything before the first ':' of the remainder, before the grammar.
  if (has_upper(remainder.substr(0, remainder.find(':')))) {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: repository name must be lowercase", quote(text));
  }
  if (!valid_domain(ref.domain)) {
    return Fail(ErrorCode::InvalidArgument, "invalid reference {}: invalid domain {}",
                quote(text), quote(ref.domain));
  }

  // remainder := path [":" tag] ["@" digest]; neither ':' nor '@' can occur in a path.
  size_t path_end = remainder.find_first_of(":@");
  std::string_view path = remainder.substr(0, path_end);
  std::string_view suffix =
      path_end == std::string_view::npos ? std::string_view() : remainder.substr(path_end);
  if (path.empty()) {
    return Fail(ErrorCode::InvalidArgument, "invalid reference {}: missing repository path",
                quote(text));
  }
  for (std::string_view rest = path;;) {
    size_t sep = rest.find('/');
    std::string_view component = rest.substr(0, sep);
    if (!valid_component(component)) {
      return Fail(ErrorCode::InvalidArgument,
                  "invalid reference {}: invalid repository path component {}", quote(text),
                  quote(component));
    }
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }

  if (!suffix.empty() && suffix.front() == ':') {
    size_t at = suffix.find('@');
    std::string_view tag = suffix.substr(1, at == std::string_view::npos ? at : at - 1);
    if (!valid_tag(tag)) {
      return Fail(ErrorCode::InvalidArgument, "invalid reference {}: invalid tag {}",
                  quote(text), quote(tag));
    }
    ref.tag = tag;
    suffix = at == std::string_view::npos ? std::string_view() : suffix.substr(at);
  }
  if (!suffix.empty()) {  // starts with '@'
    std::string_view digest = suffix.substr(1);
    TRY(check_digest(text, digest));
    ref.digest = digest;
  }

  if (ref.domain == kDefaultDomain && path.find('/') == std::string_view::npos) {
    ref.path = std::string(kOfficialRepoPrefix) + std::string(path);
  } else {
    ref.path = path;
  }
  size_t name_length = ref.domain.size() + 1 + ref.path.size();
  if (name_length > kNameTotalLengthMax) {
    return Fail(ErrorCode::InvalidArgument,
                "invalid reference {}: repository name must not be more than {} characters, "
                "got {}",
                quote(text), kNameTotalLengthMax, name_length);
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = kDefaultTag;
  return ref;
}

}  // namespace berth::oci
