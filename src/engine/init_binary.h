// Where the containers' init (berth-init, carried inside berth) is on the host.
#pragma once

#include <string>

#include "base/error.h"

namespace berth::engine {

// <runroot>/berth-init-<first 16 hex of its digest>, written (0555, atomically) when missing
// or not the program this berth carries; several berth versions can share a runroot.
Result<std::string> init_binary(const std::string& runroot);

}  // namespace berth::engine
