#include "engine/network_dns.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "network/dns_server.h"

namespace berth::engine {

int run_network_dns(const std::string& dir, const std::string& gateway, int ready_fd) {
  UniqueFd ready(ready_fd);
  ::fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  auto say_ready = [&] {
    if (ready) {
      (void)write_all(ready.get(), "ready\n");
      ready.reset();
    }
  };
  std::string lock_path = dir + "/dns.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) {
    log::error("open {}: {}", lock_path, std::strerror(errno));
    return 1;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    say_ready();  // another server of this network answers already
    return 0;
  }
  auto ip = network::parse_ipv4(gateway);
  if (!ip) {
    log::error("{}", ip.error().what());
    return 1;
  }
  network::DnsServerConfig config;
  config.listen = {{*ip, 53}};
  config.records_path = dir + "/records";
  config.ready = say_ready;
  auto served = network::run_dns_server(config);
  if (!served) {
    log::error("dns server on {}:53: {}", gateway, served.error().what());
    return 1;
  }
  return 0;
}

}  // namespace berth::engine
