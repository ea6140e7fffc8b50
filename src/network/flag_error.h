// The message shape of berth's run flags, for the network flag parsers (the engine's
// flag_error lives in a layer above this one): invalid argument "X" for "--flag" flag: REASON.
#pragma once

#include <string_view>

#include "base/error.h"
#include "base/strings.h"

namespace berth::network {

// InvalidArgument naming the flag, the value given and why it was refused.
inline Error invalid_flag(std::string_view flag, std::string_view value, std::string_view reason) {
  return Error(ErrorCode::InvalidArgument,
               fmt::format("invalid argument {} for \"{}\" flag: {}", quote(value), flag, reason));
}

}  // namespace berth::network
