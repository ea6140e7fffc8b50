#include "engine/resident_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"

namespace berth::engine {
namespace {

constexpr uint64_t kPresent = 1ULL << 63;
constexpr uint64_t kSwapped = 1ULL << 62;
constexpr uint64_t kFilePage = 1ULL << 61;  // or shared anonymous

// A page this process wrote: an anonymous page in a private file mapping.
bool written(uint64_t entry) {
  return (entry & kSwapped) || ((entry & kPresent) && !(entry & kFilePage));
}

}  // namespace

void drop_clean_file_pages(const std::string& path) {
  auto maps = read_file("/proc/self/maps");
  if (!maps) return;
  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  std::vector<std::pair<uintptr_t, uintptr_t>> drop;  // [start, end) runs of unwritten pages
  std::vector<uint64_t> entries;
  const std::string suffix = " " + path;
  for (const auto& line : split(*maps, '\n')) {
    if (!line.ends_with(suffix)) continue;
    auto dash = line.find('-'), space = line.find(' ');
    if (dash == std::string::npos || space == std::string::npos || dash > space) continue;
    uintptr_t start = std::stoull(line.substr(0, dash), nullptr, 16);
    uintptr_t end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
    entries.assign((end - start) / page, 0);
    auto bytes = static_cast<ssize_t>(entries.size() * sizeof(uint64_t));
    if (::pread(pagemap.get(), entries.data(), bytes,
                static_cast<off_t>(start / page * sizeof(uint64_t))) != bytes)
      continue;
    size_t run = 0;
    for (size_t i = 0; i <= entries.size(); ++i) {
      if (i < entries.size() && !written(entries[i])) continue;
      if (i > run) drop.emplace_back(start + run * page, start + i * page);
      run = i + 1;
    }
  }
  for (auto [from, to] : drop) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

}  // namespace berth::engine
