// drop_clean_file_pages: what it drops comes back from the file; what was written stays.
#include "engine/resident_pages.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace berth::engine {
namespace {

class ResidentPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-resident-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path_ = tmpl;
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::string data(kPages * page_, 'f');
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    map_ = static_cast<char*>(
        ::mmap(nullptr, kPages * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    ::close(fd);
    ASSERT_NE(map_, MAP_FAILED);
  }
  void TearDown() override {
    if (map_ && map_ != MAP_FAILED) ::munmap(map_, kPages * page_);
    ::unlink(path_.c_str());
  }
  // The pagemap entry of page i of the mapping.
  uint64_t entry(size_t i) const {
    int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint64_t e = 0;
    auto at = static_cast<off_t>(reinterpret_cast<uintptr_t>(map_ + i * page_) / page_ * sizeof(e));
    EXPECT_EQ(::pread(fd, &e, sizeof(e), at), static_cast<ssize_t>(sizeof(e)));
    ::close(fd);
    return e;
  }
  bool present(size_t i) const { return entry(i) >> 63; }

  static constexpr size_t kPages = 8;
  std::string path_;
  size_t page_ = 0;
  char* map_ = nullptr;
};

TEST_F(ResidentPagesTest, DropsReadPagesAndKeepsWrittenOnes) {
  volatile char sum = 0;
  for (size_t i = 0; i < kPages; ++i) sum = static_cast<char>(sum + map_[i * page_]);
  map_[3 * page_] = 'w';  // copy-on-write: this page is now the process's own
  for (size_t i = 0; i < kPages; ++i) ASSERT_TRUE(present(i)) << "page " << i;

  drop_clean_file_pages(path_);

  for (size_t i = 0; i < kPages; ++i) {
    if (i == 3)
      EXPECT_TRUE(present(i)) << "the written page was dropped";
    else
      EXPECT_FALSE(present(i)) << "page " << i << " is still resident";
  }
  EXPECT_EQ(map_[3 * page_], 'w');
  EXPECT_EQ(map_[3 * page_ + 1], 'f');
  EXPECT_EQ(map_[0], 'f');  // a dropped page reads back from the file
  EXPECT_EQ(map_[7 * page_], 'f');
}

TEST_F(ResidentPagesTest, LeavesOtherFilesAlone) {
  volatile char sum = 0;
  for (size_t i = 0; i < kPages; ++i) sum = static_cast<char>(sum + map_[i * page_]);
  drop_clean_file_pages(path_ + ".other");
  for (size_t i = 0; i < kPages; ++i) EXPECT_TRUE(present(i)) << "page " << i;
}

}  // namespace
}  // namespace berth::engine
