#include "oci/json_reader.h"

#include <exception>

namespace berth::oci::jsonio {

namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Line and column (both from 1) of the byte at 1-based offset `byte`, as nlohmann counts it.
std::pair<size_t, size_t> line_column(std::string_view text, size_t byte) {
  size_t pos = byte == 0 ? 0 : byte - 1;
  if (pos > text.size()) pos = text.size();
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, pos - line_start + 1};
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 1, column 7:
// syntax error ..."; keep the part after the position, which we report ourselves.
std::string_view parse_error_reason(std::string_view what) {
  size_t at = what.find("parse error");
  if (at == std::string_view::npos) return what;
  size_t colon = what.find(": ", at);
  if (colon == std::string_view::npos) return what;
  return what.substr(colon + 2);
}

}  // namespace

std::string member_path(std::string_view path, std::string_view key) {
  if (is_identifier(key)) {
    if (path.empty()) return std::string(key);
    return fmt::format("{}.{}", path, key);
  }
  return fmt::format("{}[{}]", path, quote(key));
}

std::string index_path(std::string_view path, size_t i) { return fmt::format("{}[{}]", path, i); }

std::string describe(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return j.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return fmt::format("{}", j.get<int64_t>());
    case Json::value_t::number_unsigned:
      return fmt::format("{}", j.get<uint64_t>());
    case Json::value_t::number_float:
      return fmt::format("{}", j.get<double>());
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      constexpr size_t kMax = 40;
      if (s.size() <= kMax) return quote(s);
      return quote(s.substr(0, kMax)) + "...";
    }
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::binary:
      return "binary data";
    case Json::value_t::discarded:
      return "nothing";
  }
  return "an unknown value";
}

Unexpected type_error(std::string_view path, std::string_view expected, const Json& got) {
  return fail_at(path, "expected {}, got {}", expected, describe(got));
}

std::string integer_name(bool is_signed, size_t bits) {
  return fmt::format("{} {}-bit integer", is_signed ? "a signed" : "an unsigned", bits);
}

Result<Json> parse_json(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    auto [line, column] = line_column(text, e.byte);
    return Fail(ErrorCode::InvalidArgument, "line {}, column {}: {}", line, column,
                parse_error_reason(e.what()));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::InvalidArgument, "cannot parse JSON: {}", e.what());
  }
}

Result<void> read(const Json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return type_error(path, "a string", j);
  out = j.get_ref<const std::string&>();
  return {};
}

Result<void> read(const Json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return type_error(path, "a boolean", j);
  out = j.get<bool>();
  return {};
}

ObjectReader::ObjectReader(const Json& j, std::string path) : path_(std::move(path)) {
  if (j.is_object()) {
    object_ = &j;
  } else {
    status_ = type_error(path_, "an object", j);
  }
}

const Json* ObjectReader::lookup(const char* key) const {
  if (object_ == nullptr || !status_.has_value()) return nullptr;
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace berth::oci::jsonio
