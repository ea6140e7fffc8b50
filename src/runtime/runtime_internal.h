// Helpers shared by the files that implement Runtime.
#pragma once

#include <memory>
#include <string>

#include "runtime/cgroup_manager.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"

namespace berth::runtime {

// The live status: stopped when the init is gone, paused when frozen, else as recorded.
std::string live_status(const ContainerRecord& record, CgroupManager* cgroup);
// A unix stream socket listening at path (mode 0600).
Result<UniqueFd> listen_unix(const std::string& path);
Result<UniqueFd> connect_unix(const std::string& path);
// Waits until pid (not necessarily our child) has exited, up to timeout_ms.
bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms);

}  // namespace berth::runtime
