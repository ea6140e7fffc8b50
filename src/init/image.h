// The berth-init program (init/main.cc), built static and carried inside the berth binary so
// that berth stays one file to install; the engine writes it out once per runroot.
#pragma once

#include <string_view>

namespace berth::init {

// The executable's bytes.
std::string_view image();
// The SHA-256 of image(), 64 hex digits, computed when berth was built.
std::string_view image_digest();

}  // namespace berth::init
