// Compiled seccomp programs kept on disk, so that starting a container does not compile the
// same profile again: libseccomp takes ~20 ms and a megabyte of heap for Docker's default
// profile, reading the program back takes one small file.
//
// A program is filed under the SHA-256 of everything that decides it: the profile (every
// field of linux.seccomp), libseccomp's version, and the kernel (flags are checked against
// the running kernel). A file that is missing, short or not a program is compiled again and
// replaced; a profile that does not compile is never cached.
#pragma once

#include <string>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/seccomp.h"

namespace berth::runtime {

// compile_seccomp through the cache in dir (made 0700 when missing); dir "" compiles every
// time. A cache that cannot be written is not an error: the program is compiled and used.
Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& config, const std::string& dir);

// The file name the program for config has in a cache: 64 hex digits and ".bpf".
std::string seccomp_cache_name(const oci::Seccomp& config);

}  // namespace berth::runtime
