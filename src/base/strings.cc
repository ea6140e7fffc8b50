#include "base/strings.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace berth {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_lower_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Result<int64_t> parse_int(std::string_view s, std::string_view what) {
  std::string text(trim(s));
  if (text.empty()) return Fail(ErrorCode::InvalidArgument, "{}: empty number", what);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 0);
  if (errno != 0 || end == nullptr || *end != '\0')
    return Fail(ErrorCode::InvalidArgument, "{}: invalid number \"{}\"", what, text);
  return static_cast<int64_t>(v);
}

Result<uint64_t> parse_uint(std::string_view s, std::string_view what) {
  std::string text(trim(s));
  if (text.empty() || text[0] == '-')
    return Fail(ErrorCode::InvalidArgument, "{}: invalid number \"{}\"", what, text);
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == nullptr || *end != '\0')
    return Fail(ErrorCode::InvalidArgument, "{}: invalid number \"{}\"", what, text);
  return static_cast<uint64_t>(v);
}

bool label_filter_matches(const std::map<std::string, std::string>& labels, const std::string& filter) {
  auto eq = filter.find('=');
  auto it = labels.find(filter.substr(0, eq));
  if (it == labels.end()) return false;
  return eq == std::string::npos || it->second == filter.substr(eq + 1);
}

}  // namespace berth
