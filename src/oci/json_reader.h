// Reading JSON documents into plain structs with errors that name the JSON path of the bad
// value ("linux.namespaces[2].type: unknown namespace \"foo\""). Shared by the oci parsers.
//
// A struct is read by an overload `Result<void> read(const Json&, const std::string& path, T&)`
// declared in the namespace of T (found by argument-dependent lookup); scalars, vectors,
// optionals and string-keyed maps are handled here. Null counts as absent, as in Go's decoder.
// Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/strings.h"

namespace berth::oci::jsonio {

using Json = nlohmann::json;

// "a.b", or a["b.c"] when the key is not an identifier; the bare key when path is empty.
std::string member_path(std::string_view path, std::string_view key);
// "a[3]".
std::string index_path(std::string_view path, size_t i);
// How a value reads in a message: -1, "text", true, null, an object, an array.
std::string describe(const Json& j);

// An InvalidArgument error "path: message" ("message" alone when path is empty).
template <class... Args>
Unexpected fail_at(std::string_view path, fmt::format_string<Args...> f, Args&&... args) {
  std::string msg = fmt::format(f, std::forward<Args>(args)...);
  if (path.empty()) return Fail(ErrorCode::InvalidArgument, "{}", msg);
  return Fail(ErrorCode::InvalidArgument, "{}: {}", path, msg);
}

// "path: expected <expected>, got <describe(got)>".
Unexpected type_error(std::string_view path, std::string_view expected, const Json& got);

// Parses JSON text; a syntax error reads "line 3, column 7: syntax error ...", computed from
// the byte offset nlohmann reports.
Result<Json> parse_json(std::string_view text);

Result<void> read(const Json& j, const std::string& path, std::string& out);
Result<void> read(const Json& j, const std::string& path, bool& out);

// "an unsigned 32-bit integer", "a signed 64-bit integer", ...
std::string integer_name(bool is_signed, size_t bits);

// Integers of any width except bool; JSON numbers outside T's range are errors.
template <class T>
concept JsonInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <JsonInteger T>
Result<void> read(const Json& j, const std::string& path, T& out) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  constexpr int64_t kMin =
      std::is_signed_v<T> ? static_cast<int64_t>(std::numeric_limits<T>::min()) : 0;
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v <= kMax) {
      out = static_cast<T>(v);
      return {};
    }
  } else if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v >= kMin && (v < 0 || static_cast<uint64_t>(v) <= kMax)) {
      out = static_cast<T>(v);
      return {};
    }
  }
  return type_error(path, integer_name(std::is_signed_v<T>, sizeof(T) * 8), j);
}

template <class T>
Result<void> read(const Json& j, const std::string& path, std::vector<T>& out);
template <class T>
Result<void> read(const Json& j, const std::string& path, std::optional<T>& out);
template <class T>
Result<void> read(const Json& j, const std::string& path, std::map<std::string, T>& out);

template <class T>
Result<void> read(const Json& j, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) return type_error(path, "an array", j);
  out.clear();
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    T value{};
    TRY(read(j[i], index_path(path, i), value));
    out.push_back(std::move(value));
  }
  return {};
}

template <class T>
Result<void> read(const Json& j, const std::string& path, std::optional<T>& out) {
  out.emplace();
  return read(j, path, *out);
}

template <class T>
Result<void> read(const Json& j, const std::string& path, std::map<std::string, T>& out) {
  if (!j.is_object()) return type_error(path, "an object", j);
  out.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    T value{};
    TRY(read(it.value(), member_path(path, it.key()), value));
    out.emplace(it.key(), std::move(value));
  }
  return {};
}

// Reads the members of one JSON object in a chain, keeping the first error:
//   return ObjectReader(j, path).field("uid", u.uid).field("gid", u.gid).done();
// Unknown members are ignored; absent or null members leave the target untouched.
class ObjectReader {
 public:
  ObjectReader(const Json& j, std::string path);

  template <class T>
  ObjectReader& field(const char* key, T& out) {
    if (const Json* v = lookup(key)) keep(read(*v, member_path(path_, key), out));
    return *this;
  }
  // Like field, but an absent member is an error ("path.key: must be set").
  template <class T>
  ObjectReader& required(const char* key, T& out) {
    if (!status_.has_value()) return *this;
    if (const Json* v = lookup(key)) {
      keep(read(*v, member_path(path_, key), out));
    } else {
      keep(fail_at(member_path(path_, key), "must be set"));
    }
    return *this;
  }
  Result<void> done() { return std::move(status_); }

 private:
  const Json* lookup(const char* key) const;
  void keep(Result<void> r) {
    if (!r.has_value() && status_.has_value()) status_ = std::move(r);
  }

  const Json* object_ = nullptr;
  std::string path_;
  Result<void> status_;
};

}  // namespace berth::oci::jsonio
