#include "cli/flag_values.h"

namespace berth::cli {

std::map<std::string, std::string> key_values(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return out;
}

Result<std::vector<FilterArg>> split_filters(const std::vector<std::string>& raw) {
  std::vector<FilterArg> out;
  for (const auto& item : raw) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return Fail(ErrorCode::InvalidArgument, "bad format of filter (expected name=value): {}", item);
    out.push_back({item.substr(0, eq), item.substr(eq + 1)});
  }
  return out;
}

Result<bool> filter_bool(const FilterArg& filter) {
  if (filter.value == "true" || filter.value == "1") return true;
  if (filter.value == "false" || filter.value == "0") return false;
  return Fail(ErrorCode::InvalidArgument, "invalid filter '{}={}': must be true or false", filter.key,
              filter.value);
}

}  // namespace berth::cli
