#include "image/registry_auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstring>

#include "base/strings.h"
#include "oci/json_reader.h"

namespace berth::image {

namespace {

using oci::jsonio::Json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token68_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~+/", c) != nullptr;
}

// A cursor over a WWW-Authenticate value; errors name the byte offset.
class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view s) : s_(s) {}

  Result<std::vector<AuthChallenge>> parse() {
    std::vector<AuthChallenge> out;
    while (true) {
      skip_list_separators();
      if (at_end()) break;
      AuthChallenge ch;
      std::string_view scheme = token();
      if (scheme.empty()) return error("expected an auth scheme");
      ch.scheme = lower(scheme);
      TRY(parse_params(ch));
      out.push_back(std::move(ch));
    }
    if (out.empty()) return Fail(ErrorCode::InvalidArgument, "WWW-Authenticate: no challenge");
    return out;
  }

 private:
  Result<void> parse_params(AuthChallenge& ch) {
    size_t before = i_;
    skip_ows();
    if (at_end() || peek() == ',') return {};
    if (i_ == before) return error("expected a space after the auth scheme");
    size_t t0 = i_;
    while (!at_end() && is_token68_char(peek())) ++i_;
    size_t body_end = i_;
    while (!at_end() && peek() == '=') ++i_;
    size_t t68_end = i_;
    skip_ows();
    if (body_end > t0 && (at_end() || peek() == ',')) {
      ch.token68 = std::string(s_.substr(t0, t68_end - t0));
      return {};
    }
    i_ = t0;
    while (true) {
      skip_list_separators();
      if (at_end()) return {};
      size_t p0 = i_;
      std::string_view name = token();
      if (name.empty()) return error("expected an auth parameter name");
      skip_ows();
      if (at_end() || peek() != '=') {  // the scheme of the next challenge
        i_ = p0;
        return {};
      }
      ++i_;
      skip_ows();
      std::string value;
      if (!at_end() && peek() == '"') {
        value = TRY(quoted_string());
      } else {
        std::string_view v = token();
        if (v.empty()) return error(fmt::format("expected a value for parameter {}", quote(name)));
        value = std::string(v);
      }
      ch.params[lower(name)] = std::move(value);
      skip_ows();
      if (!at_end() && peek() != ',') return error("expected ',' after an auth parameter");
    }
  }

  Result<std::string> quoted_string() {
    size_t start = i_++;
    std::string out;
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) break;
        c = s_[i_++];
      }
      out += c;
    }
    i_ = start;
    return error("unterminated quoted string");
  }

  std::string_view token() {
    size_t start = i_;
    while (!at_end() && is_tchar(peek())) ++i_;
    return s_.substr(start, i_ - start);
  }
  void skip_ows() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++i_;
  }
  void skip_list_separators() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++i_;
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  Unexpected error(std::string_view what) const {
    return Fail(ErrorCode::InvalidArgument, "WWW-Authenticate {}: {} at offset {}", quote(s_),
                what, i_);
  }

  std::string_view s_;
  size_t i_ = 0;
};

// "MANIFEST_UNKNOWN" reads "manifest unknown".
std::string code_words(std::string_view code) {
  std::string out = lower(code);
  for (char& c : out)
    if (c == '_') c = ' ';
  return out;
}

}  // namespace

std::string AuthChallenge::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header) {
  return ChallengeParser(header).parse();
}

Result<BearerToken> parse_token_response(std::string_view json) {
  Json j = TRY_CTX("token response", oci::jsonio::parse_json(json));
  if (!j.is_object()) return oci::jsonio::type_error("token response", "an object", j);
  BearerToken out;
  std::string access_token;
  std::optional<int64_t> expires;
  TRY_CTX("token response", oci::jsonio::ObjectReader(j, "")
                                .field("token", out.token)
                                .field("access_token", access_token)
                                .field("expires_in", expires)
                                .field("refresh_token", out.refresh_token)
                                .done());
  if (out.token.empty()) out.token = std::move(access_token);
  if (out.token.empty())
    return Fail(ErrorCode::InvalidArgument, "token response: neither \"token\" nor \"access_token\" is set");
  if (expires && *expires > 0) out.expires_in = *expires;
  return out;
}

std::vector<RegistryError> parse_registry_errors(std::string_view body) {
  std::vector<RegistryError> out;
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return out;
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array()) return out;
  for (const Json& e : *errors) {
    if (!e.is_object()) continue;
    RegistryError re;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) re.code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) re.message = m->get<std::string>();
    if (!re.code.empty() || !re.message.empty()) out.push_back(std::move(re));
  }
  return out;
}

Error registry_error(int status, std::string_view body) {
  std::vector<RegistryError> errors = parse_registry_errors(body);
  ErrorCode code = ErrorCode::InvalidArgument;
  if (status == 404) code = ErrorCode::NotFound;
  else if (status == 401 || status == 403) code = ErrorCode::PermissionDenied;
  else if (status == 429 || status >= 500) code = ErrorCode::Unavailable;
  std::vector<std::string> parts;
  for (const auto& e : errors) {
    if (e.code == "MANIFEST_UNKNOWN" || e.code == "NAME_UNKNOWN" || e.code == "BLOB_UNKNOWN" ||
        e.code == "BLOB_UPLOAD_UNKNOWN")
      code = ErrorCode::NotFound;
    else if (e.code == "UNAUTHORIZED" || e.code == "DENIED")
      code = ErrorCode::PermissionDenied;
    else if (e.code == "TOOMANYREQUESTS")
      code = ErrorCode::Unavailable;
    std::string words = code_words(e.code);
    if (e.message.empty() || words == lower(e.message)) parts.push_back(words.empty() ? e.message : words);
    else if (words.empty()) parts.push_back(e.message);
    else parts.push_back(words + ": " + e.message);
  }
  std::string message = join(parts, "; ");
  if (message.empty()) {
    if (status == 404) message = "not found";
    else if (status == 401) message = "unauthorized: authentication required";
    else if (status == 403) message = "denied: requested access to the resource is denied";
    else message = fmt::format("unexpected HTTP status {}", status);
  }
  return Error(code, std::move(message));
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string_view t = trim(text);
  auto bad = [&] { return Fail(ErrorCode::InvalidArgument, "invalid base64 {}", quote(text)); };
  if (t.size() % 4 != 0) return bad();
  size_t pad = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '=') {
      if (i + 2 < t.size()) return bad();
      ++pad;
    } else if (pad || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
      return bad();
    }
  }
  std::string out(t.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(t.data()), static_cast<int>(t.size()));
  if (n < 0) return bad();
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace berth::image
