// berth-init -- COMMAND [ARG...]: the container's PID 1, bind-mounted at /run/berth-init.
// A program of its own, not a verb of berth: it is exec'd in every container, and a small
// static binary starts in a fraction of the page faults of the 20 MB one (the berth binary
// carries it, see init/image.h).
#include <cstdio>
#include <cstring>

#include "init/reaper_init.h"

int main(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "--") != 0) {
    std::fprintf(stderr, "usage: berth-init -- COMMAND [ARG...]\n");
    return 127;
  }
  return berth::init::run_reaper_init(argv + 2);
}
