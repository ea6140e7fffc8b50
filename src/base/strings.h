// Small string helpers: split, join, trim and checked number parsing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth {

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
// True for a non-empty run of lowercase hex digits: an ID or an ID prefix.
bool is_lower_hex(std::string_view s);
// s in double quotes for an error message, with '"', '\\' and control bytes escaped so the
// message stays one line.
std::string quote(std::string_view s);
// Docker's label filter: "key" matches when the label is present, "key=value" when it has
// that value.
bool label_filter_matches(const std::map<std::string, std::string>& labels, const std::string& filter);

// Parses a whole decimal (or 0x hex) number; "what" names the input in the error.
Result<int64_t> parse_int(std::string_view s, std::string_view what);
Result<uint64_t> parse_uint(std::string_view s, std::string_view what);

}  // namespace berth
