// What `docker top CONTAINER [ps OPTIONS]` prints for the processes of a container.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::engine {

// Docker's ContainerTopOKBody: column titles and one row of cells per process.
struct ProcessTable {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

// Without ps_args: Docker's default `ps -ef` columns UID PID PPID C STIME TTY TIME CMD for the
// given host pids, read from /proc without needing ps (user names from the host /etc/passwd,
// truncated to 7 characters + "+" past 8 as ps does; STIME "HH:MM" today, "MonDD" this year,
// else the year). Rows in pid order; a pid that vanished while reading is skipped.
// With ps_args: runs the host's `ps` with those args (as docker top does), finds the PID column
// in its header and keeps only the rows whose PID is in pids. Errors name the args; a missing
// ps is Unavailable "ps not found: install procps".
Result<ProcessTable> container_top(const std::vector<pid_t>& pids,
                                   const std::vector<std::string>& ps_args);

}  // namespace berth::engine
