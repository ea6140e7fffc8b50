// libFuzzer target for image archives (`docker load` input): the bytes are loaded into a fresh
// content store in a temp dir, removed afterwards. Any result is fine; crashes, leaks and
// sanitizer reports are not.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "image/archive.h"

namespace {

// One temp dir per fuzzing process, removed at exit; each input gets a fresh store below it.
struct TempRoot {
  TempRoot() {
    char tmpl[] = "/tmp/berth-archive-fuzz.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path = tmpl;
  }
  ~TempRoot() { (void)berth::remove_all(path); }
  std::string path;
};

const std::string& fuzz_root() {
  static const TempRoot root;
  return root.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  berth::UniqueFd fd(::memfd_create("image-archive-fuzz", MFD_CLOEXEC));
  if (!fd) std::abort();
  if (!berth::write_all(fd.get(), std::string_view(reinterpret_cast<const char*>(data), size))
           .has_value() ||
      ::lseek(fd.get(), 0, SEEK_SET) != 0)
    std::abort();
  std::string store_dir = fuzz_root() + "/store";
  {
    auto store = berth::image::open_local_content_store(store_dir);
    if (!store.has_value()) {
      std::fprintf(stderr, "open store: %s\n", store.error().what().c_str());
      std::abort();
    }
    auto images = berth::image::load_archive(fd.get(), **store, {});
    (void)images;
  }
  if (!berth::remove_all(store_dir).has_value()) std::abort();
  return 0;
}
