// The typed handshake between the runtime (parent) and the container's setup processes over a
// SOCK_SEQPACKET socketpair. Messages are fixed-size so the child sends and receives them
// without allocating.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/child_error.h"

namespace berth::runtime {

enum class SyncType : uint32_t {
  Go = 1,          // parent -> child: continue (value: the init's pid on the host)
  MapRequest,      // stage 1 -> parent: user namespace created, write uid/gid maps
  MapsWritten,     // parent -> stage 1
  InitPid,         // stage 1 -> parent: value is the init's pid on the host
  HooksPoint,      // init -> parent: mounts done, run prestart/createRuntime hooks
  HooksDone,       // parent -> init
  Ready,           // init -> parent: set up, waiting for start
  Error,           // child -> parent: setup failed; error holds errno and text
};

struct SyncMessage {
  SyncType type = SyncType::Error;
  int32_t value = 0;
  ChildError error;
};

// Child side: never allocate. Return 0 or -errno.
int sync_send(int fd, SyncType type, int32_t value = 0, int pass_fd = -1);
int sync_send_error(int fd, const ChildError& error);
int sync_recv(int fd, SyncMessage* msg, int* received_fd = nullptr);

// Parent side: waits for a message of the wanted type; an Error message from the child becomes
// the returned Error, and EOF means the child died before saying why.
Result<SyncMessage> sync_expect(int fd, SyncType want, UniqueFd* received_fd = nullptr);
Result<void> sync_reply(int fd, SyncType type, int32_t value = 0);

}  // namespace berth::runtime
