// What a container's monitor and its clients (`run` without -d, `start -a`, `attach`, `stop`)
// say to each other: short text messages over a SOCK_SEQPACKET unix socket, one per packet,
// a descriptor riding along with "reserve" and "stdin"/"stdout"/"stderr" (SCM_RIGHTS).
//
//   client -> monitor   "container RECORD"   the starting client: the record (encode_record)
//                       "reserve" +fd        the starting client: a socket holding a
//                                            published host port, kept while the monitor lives
//                       "stdin" +fd | "stdout" +fd | "stderr" +fd   streams to attach
//                       "go"                 the streams are all sent
//                       "signal N"           signal the container's init (sig-proxy)
//                       "resize ROWS COLS"   the client's terminal size
//                       "stop"               do not restart after the next exit
//   monitor -> client   "started PID"        the container runs
//                       "running"            another monitor already runs it
//                       "exit CODE"          the container exited (128+N: killed by N)
//                       "error ERRNO MESSAGE"  it could not start (ERRNO 0 when no syscall
//                                            failed; exit_code_for_start_error maps it)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::engine {

struct MonitorMessage {
  std::string text;  // "signal 15"
  UniqueFd fd;       // the descriptor sent with it, if any
  // The first word ("signal 15" -> "signal").
  std::string_view verb() const;
  // The n-th whitespace-separated word after the verb ("" when absent).
  std::string word(size_t n) const;
};

// Sends one message (with fd when >= 0). EPIPE/ECONNRESET are errors like any other.
Result<void> send_message(int sock, std::string_view text, int fd = -1);
// Receives one message; nullopt at EOF.
Result<std::optional<MonitorMessage>> receive_message(int sock);

// The monitor's listening socket: <dir>/monitor.sock (non-blocking accepts).
Result<UniqueFd> listen_monitor_socket(const std::string& dir);
Result<UniqueFd> connect_monitor_socket(const std::string& dir);

}  // namespace berth::engine
