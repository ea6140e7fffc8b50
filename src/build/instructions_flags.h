// Internal to the instruction decoders: errors with the instruction's position, and the
// builder flags (BuildKit's BFlags) each instruction accepts.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "build/dockerfile.h"

namespace berth::build::detail {

// InvalidArgument "FILE:LINE:COL: KEYWORD: message".
Unexpected ins_fail(const Instruction& ins, std::string_view message);

enum class FlagKind { Bool, String, Strings };
struct FlagSpec {
  std::string_view name;
  FlagKind kind;
};
// The values of the flags that were given: Bool "true"/"false", String its value, Strings all.
struct FlagValues {
  std::map<std::string, std::vector<std::string>> values;
  bool has(const std::string& name) const { return values.count(name) > 0; }
  std::string get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? std::string() : it->second.back();
  }
};
// Checks ins.flags against `specs` ("unknown flag: --x", "duplicate flag specified: --x", ...).
Result<FlagValues> parse_flags(const Instruction& ins, const std::vector<FlagSpec>& specs);

}  // namespace berth::build::detail
