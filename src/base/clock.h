// Wall-clock timestamps as berth records them.
#pragma once

#include <string>

namespace berth {

// Now, RFC 3339 UTC with nanoseconds ("2026-11-26T05:21:54.123456789Z"), as runc writes
// "created" and Docker its metadata times.
std::string now_rfc3339();

}  // namespace berth
