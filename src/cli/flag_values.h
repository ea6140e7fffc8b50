// Values of repeated KEY=VALUE flags as Docker's CLI reads them: `--label`, `--opt`, and the
// `--filter name=value` of the list and prune verbs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cli {

// KEY=VALUE items as a map; a bare KEY has an empty value (Docker's --label).
std::map<std::string, std::string> key_values(const std::vector<std::string>& items);

struct FilterArg {
  std::string key;
  std::string value;
};

// --filter values split at the first "="; one without "=" is InvalidArgument, as Docker's
// "bad format of filter (expected name=value)".
Result<std::vector<FilterArg>> split_filters(const std::vector<std::string>& raw);

// A boolean filter (dangling=true): true/false/1/0, else InvalidArgument naming the filter.
Result<bool> filter_bool(const FilterArg& filter);

}  // namespace berth::cli
