// OCI hooks. The runtime runs prestart, createRuntime, poststart and poststop itself (in the
// runtime's namespaces); the container's init runs createContainer and startContainer in the
// container's namespaces with run_hook_in_child, which allocates nothing. Every hook gets the
// container state as JSON on stdin and is killed when its timeout expires.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/c_strings.h"
#include "runtime/child_error.h"

namespace berth::runtime {

struct PreparedHook {
  std::string path;
  CStringArray argv;  // args, or {path} when the hook has none
  CStringArray envp;
  int timeout_seconds = 0;  // 0: none
};

std::vector<PreparedHook> prepare_hooks(const std::vector<oci::Hook>& hooks);

// Runs hooks in order; the first failure stops the sequence. phase names the hook list in
// errors ("hooks.createRuntime[1]").
Result<void> run_hooks(const std::vector<PreparedHook>& hooks, std::string_view phase,
                       const std::string& state_json);

// Child side: runs one hook with state_json on stdin; -1 with err filled on failure.
int run_hook_in_child(const PreparedHook& hook, const char* phase, int index,
                      const char* state_json, ChildError* err);

}  // namespace berth::runtime
