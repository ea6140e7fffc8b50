#include "network/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>

#include "base/fs.h"
#include "base/strings.h"

namespace berth::network {

Result<void> run_in_netns(int netns_fd, const std::function<Result<void>()>& fn) {
  Result<void> result;
  auto body = [&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      result = FailErrno(errno, "enter network namespace (fd {})", netns_fd);
      return;
    }
    try {
      result = fn();
    } catch (const std::exception& e) {
      result = Fail(ErrorCode::Internal, "in network namespace: {}", e.what());
    }
  };
  try {
    std::thread thread(body);
    thread.join();
  } catch (const std::system_error& e) {
    return Fail(ErrorCode::Unavailable, "start a thread for network namespace: {}", e.what());
  }
  return result;
}

Result<UniqueFd> open_netns_of(pid_t pid) {
  return TRY_CTX(fmt::format("network namespace of process {}", pid),
                 open_fd(fmt::format("/proc/{}/ns/net", pid), O_RDONLY));
}

Result<void> write_sysctl(const std::string& key, const std::string& value) {
  std::string what = fmt::format("write sysctl {}={}", key, value);
  bool escapes = false;
  for (const auto& part : split(key, '/')) escapes |= part.empty() || part == "." || part == "..";
  if (key.empty() || escapes || key.find('\0') != std::string::npos)
    return Fail(ErrorCode::InvalidArgument, "{}: invalid key {}", what, quote(key));
  UniqueFd fd = TRY_CTX(what, open_fd("/proc/sys/" + key, O_WRONLY));
  TRY_CTX(what, write_all(fd.get(), value));
  return {};
}

}  // namespace berth::network
