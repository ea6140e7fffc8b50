// Fuzzes layer apply with arbitrary (possibly compressed) tar bytes. Each input is applied into
// a fresh target inside a fixed parent directory; afterwards the parent must hold nothing but
// the target, else an entry escaped and the fuzzer aborts.
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "image/layer_apply.h"

namespace {

const std::string& parent_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/berth-layer-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] { (void)berth::remove_all(parent_dir()); });
    return true;
  }();
  (void)cleanup_registered;
  return dir;
}

void check_nothing_escaped(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (!d) std::abort();
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == ".." || n == "target") continue;
    std::fprintf(stderr, "layer apply wrote %s/%s outside its target\n", parent.c_str(), n.c_str());
    std::abort();
  }
  ::closedir(d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unsigned runs = 0;
  const std::string& parent = parent_dir();
  std::string target = parent + "/target";
  if (::mkdir(target.c_str(), 0755) != 0) std::abort();

  berth::UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  if (!fd || (size > 0 && ::write(fd.get(), data, size) != static_cast<ssize_t>(size))) std::abort();
  ::lseek(fd.get(), 0, SEEK_SET);

  berth::image::ApplyOptions opts;
  opts.layer_name = "fuzz";
  opts.whiteouts = (runs++ % 2) ? berth::image::Snapshotter::Whiteouts::Delete
                                : berth::image::Snapshotter::Whiteouts::Overlay;
  opts.allow_devices = false;
  opts.max_uncompressed = 8 << 20;
  (void)berth::image::apply_layer(fd.get(), target, opts);

  check_nothing_escaped(parent);
  if (!berth::remove_all(target)) std::abort();
  return 0;
}
