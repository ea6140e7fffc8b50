// Container logs in Docker's json-file format: one JSON object a line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-26T05:21:54.123456789Z"}
// written by the container's monitor (log_writer.h) and read by `logs` (log_reader.h).
// This file holds what both sides share: the entry model, its exact encoding and decoding,
// timestamps, and where a container's log lives.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::engine {

// Nanosecond wall-clock time, the precision Docker records.
using LogTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

enum class LogStream { Stdout, Stderr };

std::string_view to_string(LogStream stream);

// One decoded line of a json-file log. log keeps its trailing "\n" when the line was
// complete; a partial line (16 KiB without a newline, or the end of output) has none.
struct LogEntry {
  LogStream stream = LogStream::Stdout;
  std::string log;
  LogTime time{};
};

// <root>/containers/<id>/<id>-json.log
std::string container_log_path(std::string_view root, std::string_view id);

// Appends s as a JSON string exactly as Docker's json-file driver escapes it: '"', '\\',
// "\n", "\r" as two-character escapes; other control bytes and '<' '>' '&' as \u00XX;
// U+2028/U+2029 as \u2028/\u2029; every byte of invalid UTF-8 as \ufffd.
void append_json_string(std::string& out, std::string_view s);

// The full line for one entry, trailing "\n" included; byte-identical to dockerd's.
std::string encode_log_entry(LogStream stream, std::string_view log, LogTime time);

// Parses one line (without its "\n"); nullopt for anything that is not a json-file entry
// (bad JSON, nesting, missing or mistyped fields, a bad time). Never throws.
std::optional<LogEntry> decode_log_entry(std::string_view line);

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped
// ("2026-11-26T05:21:54.1234Z"); the form of the "time" field.
std::string format_time_rfc3339nano(LogTime t);
// Docker's RFC3339NanoFixed in UTC, always nine digits: the `logs -t` prefix.
std::string format_time_fixed(LogTime t);
// Parses RFC3339 with optional fraction and a "Z" or "+hh:mm" zone; nullopt otherwise.
std::optional<LogTime> parse_time_rfc3339(std::string_view s);

// Parses a --since/--until value as Docker does: a Go duration ("10m", "1h30m", "1.5s")
// counted back from now; an RFC3339-like date or time ("2026-11-26", "2026-11-26T05:21",
// "2026-11-26T05:21:54.5+01:00"; no zone means the local zone); or Unix seconds with an
// optional fraction ("1700000000.123"). what names the flag in the error.
Result<LogTime> parse_log_time(std::string_view value, LogTime now, std::string_view what);

// Parses a Go duration ("300ms", "-1.5h", "2h45m"); nullopt when it is not one.
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s);

}  // namespace berth::engine
