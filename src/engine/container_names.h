// Names and IDs of containers, made and checked the way Docker does: random
// "<adjective>_<surname>" names, the restricted name pattern, and 64-hex-digit IDs.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::engine {

// Docker's random name: "<adjective>_<surname>" from two word lists (about 100 adjectives and
// 200 surnames of scientists and hackers, like Docker's namesgenerator); retry > 0 appends a
// random digit as Docker does. Never "boring_wozniak".
std::string generate_container_name(int retry = 0);

// Docker's rule: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ ; returns the name without a leading "/".
// InvalidArgument "Invalid container name (NAME), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed".
Result<std::string> validate_container_name(std::string_view name);

// 64 lowercase hex digits from getrandom(2); never all digits in the first 12 (Docker
// regenerates those: a short ID that parses as a number breaks hostnames and lookups).
std::string new_container_id();

}  // namespace berth::engine
