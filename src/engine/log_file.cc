// The json-file line format. Encoding is written out here rather than with nlohmann-json:
// dockerd escapes '<' '>' '&' and U+2028/9, writes "\ufffd" for each invalid UTF-8 byte and
// orders the fields log, stream, time; files must be byte-identical to Docker's. Decoding
// uses nlohmann's SAX parser, which builds no tree and lets us refuse nesting early.
#include "engine/log_file.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace berth::engine {

std::string_view to_string(LogStream stream) {
  return stream == LogStream::Stdout ? "stdout" : "stderr";
}

std::string container_log_path(std::string_view root, std::string_view id) {
  std::string path(root);
  if (path.empty() || path.back() != '/') path += '/';
  path += "containers/";
  path += id;
  path += '/';
  path += id;
  path += "-json.log";
  return path;
}

namespace {

bool is_cont(unsigned char c) { return c >= 0x80 && c <= 0xBF; }

// Length of the valid UTF-8 sequence starting at s[i] (lead byte >= 0x80), 0 if invalid;
// the same acceptance as Go's utf8.DecodeRune (no overlongs, surrogates or > U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> unsigned char {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  unsigned char c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return is_cont(at(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && is_cont(at(2)) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && is_cont(at(2)) && is_cont(at(3)) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t start = 0;
  auto flush = [&](size_t i) {
    if (start < i) out.append(s.data() + start, i - start);
  };
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        ++i;
        continue;
      }
      flush(i);
      switch (b) {
        case '\\':
        case '"':
          out += '\\';
          out += static_cast<char>(b);
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          out += "\\u00";
          out += kHex[b >> 4];
          out += kHex[b & 0xF];
      }
      start = ++i;
      continue;
    }
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      flush(i);
      out += "\\ufffd";
      start = ++i;
      continue;
    }
    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
    if (n == 3 && b == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
      flush(i);
      out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      start = i + n;
    }
    i += n;
  }
  flush(s.size());
  out += '"';
}

std::string encode_log_entry(LogStream stream, std::string_view log, LogTime time) {
  std::string out;
  out.reserve(log.size() + 80);
  out += '{';
  if (!log.empty()) {  // dockerd leaves out an empty "log"
    out += "\"log\":";
    append_json_string(out, log);
    out += ',';
  }
  out += "\"stream\":\"";
  out += to_string(stream);
  out += "\",\"time\":\"";
  out += format_time_rfc3339nano(time);
  out += "\"}\n";
  return out;
}

namespace {

using json = nlohmann::json;

// Collects the three fields of a json-file entry; refuses anything deeper than the "attrs"
// object Docker may add, so a hostile line cannot make the parser do much work.
class EntryHandler : public nlohmann::json_sax<json> {
 public:
  bool null() override { return scalar(true); }
  bool boolean(bool) override { return scalar(false); }
  bool number_integer(number_integer_t) override { return scalar(false); }
  bool number_unsigned(number_unsigned_t) override { return scalar(false); }
  bool number_float(number_float_t, const string_t&) override { return scalar(false); }
  bool binary(binary_t&) override { return false; }
  bool string(string_t& val) override {
    if (depth_ == 1) {
      if (key_ == "log") {
        log_ = std::move(val);
      } else if (key_ == "stream") {
        stream_ = std::move(val);
      } else if (key_ == "time") {
        time_ = std::move(val);
      }
    }
    return depth_ >= 1;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 1 && known_key()) return false;
    return ++depth_ <= kMaxDepth;
  }
  bool key(string_t& val) override {
    if (depth_ == 1) key_ = std::move(val);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0 || (depth_ == 1 && known_key())) return false;
    return ++depth_ <= kMaxDepth;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  std::optional<LogEntry> entry() {
    if (!time_) return std::nullopt;
    LogEntry e;
    if (stream_ == "stdout") {
      e.stream = LogStream::Stdout;
    } else if (stream_ == "stderr") {
      e.stream = LogStream::Stderr;
    } else {
      return std::nullopt;
    }
    auto t = parse_time_rfc3339(*time_);
    if (!t) return std::nullopt;
    e.time = *t;
    e.log = std::move(log_);
    return e;
  }

 private:
  static constexpr int kMaxDepth = 3;
  bool known_key() const { return key_ == "log" || key_ == "stream" || key_ == "time"; }
  // A number, bool or null is fine for unknown fields; "log": null is Go's empty string.
  bool scalar(bool is_null) {
    if (depth_ < 1) return false;
    if (depth_ == 1 && known_key()) return is_null && key_ == "log";
    return true;
  }

  int depth_ = 0;
  std::string key_;
  std::string log_;
  std::string stream_;
  std::optional<std::string> time_;
};

}  // namespace

std::optional<LogEntry> decode_log_entry(std::string_view line) {
  // Cheap shape check before the parser: every entry is one object.
  size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] != '{') return std::nullopt;
  EntryHandler handler;
  try {
    if (!json::sax_parse(line.begin(), line.end(), &handler)) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  return handler.entry();
}

}  // namespace berth::engine
