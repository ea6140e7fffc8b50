#include "base/file_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace berth {
namespace {

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-lock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/lock";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // Whether another process could take the lock exclusively right now.
  bool free_for_others() {
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
      _exit(fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  std::string dir_, path_;
};

TEST_F(FileLockTest, SharedLockKeepsOthersFromTakingItExclusively) {
  auto lock = FileLock::acquire(path_, FileLock::Mode::Shared);
  ASSERT_TRUE(lock) << lock.error().what();
  EXPECT_FALSE(free_for_others());
}

TEST_F(FileLockTest, FailedConversionKeepsTheSharedLock) {
  auto lock = FileLock::acquire(path_, FileLock::Mode::Shared);
  ASSERT_TRUE(lock) << lock.error().what();
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t holder = ::fork();
  if (holder == 0) {  // another berth command holding the store
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 || ::flock(fd, LOCK_SH) != 0) _exit(1);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    if (::read(release[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto converted = lock->convert(FileLock::Mode::Exclusive, /*wait=*/false);
  ASSERT_FALSE(converted);
  EXPECT_EQ(converted.error().code(), ErrorCode::Unavailable);
  ASSERT_EQ(::write(release[1], &c, 1), 1);
  int status = 0;
  ::waitpid(holder, &status, 0);
  // The holder is gone; our shared lock must still be there.
  EXPECT_FALSE(free_for_others());
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST_F(FileLockTest, ConvertsToExclusiveAndBack) {
  auto lock = FileLock::acquire(path_, FileLock::Mode::Shared);
  ASSERT_TRUE(lock) << lock.error().what();
  ASSERT_TRUE(lock->convert(FileLock::Mode::Exclusive, false));
  EXPECT_FALSE(free_for_others());
  ASSERT_TRUE(lock->convert(FileLock::Mode::Shared));
  EXPECT_FALSE(free_for_others());
}

}  // namespace
}  // namespace berth
