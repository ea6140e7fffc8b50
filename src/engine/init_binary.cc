#include "engine/init_binary.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "init/image.h"

namespace berth::engine {

Result<std::string> init_binary(const std::string& runroot) {
  std::string_view image = init::image();
  std::string path = runroot + "/berth-init-" + std::string(init::image_digest().substr(0, 16));
  // Written only through a rename, so a file of the right size is the whole program.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      static_cast<size_t>(st.st_size) == image.size())
    return path;
  TRY(make_dirs(runroot, 0700));
  TRY_CTX("write the containers' init", write_file_atomic(path, image, 0555));
  return path;
}

}  // namespace berth::engine
