// compile_seccomp_cached: a profile compiled once is read back from its file, the program
// read back is the one compiled, and a damaged file or a bad profile never gets used.
#include "runtime/seccomp_cache.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "base/fs.h"

namespace berth::runtime {
namespace {

oci::Seccomp deny_uname(uint32_t errno_ret) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64"};
  oci::SeccompSyscall rule;
  rule.names = {"uname"};
  rule.action = "SCMP_ACT_ERRNO";
  rule.errno_ret = errno_ret;
  s.syscalls = {rule};
  return s;
}

bool same(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.use_listener == b.use_listener && a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

// The errno uname fails with once prog is installed in a child (0 when it succeeds).
int uname_errno_under(const SeccompProgram& prog) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ChildError err;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || apply_seccomp(prog, &err) < 0) ::_exit(255);
    struct utsname u;
    ::_exit(::uname(&u) == 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SeccompCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-seccomp-cache-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    dir_ = base_ + "/cache";  // made by the cache itself
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  std::string file_of(const oci::Seccomp& s) { return dir_ + "/" + seccomp_cache_name(s); }

  std::string base_, dir_;
};

TEST_F(SeccompCacheTest, FirstUseCompilesAndFilesTheProgramPrivately) {
  auto prog = compile_seccomp_cached(deny_uname(42), dir_);
  ASSERT_TRUE(prog) << prog.error().what();
  auto direct = compile_seccomp(deny_uname(42));
  ASSERT_TRUE(direct);
  EXPECT_TRUE(same(*prog, *direct));
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(file_of(deny_uname(42)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(uname_errno_under(*prog), 42);
}

TEST_F(SeccompCacheTest, TheFiledProgramIsWhatLaterStartsUse) {
  ASSERT_TRUE(compile_seccomp_cached(deny_uname(42), dir_));
  // Swap in the program of another profile under this profile's name: a later start must
  // read the file (uname then fails with 7), not compile again (which would give 42).
  auto other = compile_seccomp_cached(deny_uname(7), dir_);
  ASSERT_TRUE(other);
  std::filesystem::copy_file(file_of(deny_uname(7)), file_of(deny_uname(42)),
                             std::filesystem::copy_options::overwrite_existing);
  auto again = compile_seccomp_cached(deny_uname(42), dir_);
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(uname_errno_under(*again), 7);
}

TEST_F(SeccompCacheTest, EveryFieldOfTheProfileChangesTheName) {
  oci::Seccomp base = deny_uname(42);
  std::vector<oci::Seccomp> variants(6, base);
  variants[0].syscalls[0].errno_ret = 43;
  variants[1].syscalls[0].names = {"unam", "e"};
  variants[2].architectures.push_back("SCMP_ARCH_X86");
  variants[3].flags = {"SECCOMP_FILTER_FLAG_LOG"};
  variants[4].default_action = "SCMP_ACT_LOG";
  variants[5].syscalls[0].args = {oci::SeccompArg{0, 1, 0, "SCMP_CMP_EQ"}};
  std::set<std::string> names = {seccomp_cache_name(base)};
  for (const auto& v : variants) names.insert(seccomp_cache_name(v));
  EXPECT_EQ(names.size(), variants.size() + 1);
  EXPECT_EQ(seccomp_cache_name(base), seccomp_cache_name(deny_uname(42)));
}

TEST_F(SeccompCacheTest, ADamagedFileIsCompiledAgainAndReplaced) {
  ASSERT_TRUE(compile_seccomp_cached(deny_uname(42), dir_));
  std::string path = file_of(deny_uname(42));
  for (std::string junk : {std::string(), std::string("bertheader-but-short"), std::string(100, 'x')}) {
    ASSERT_TRUE(write_file(path, junk, 0600));
    auto prog = compile_seccomp_cached(deny_uname(42), dir_);
    ASSERT_TRUE(prog) << prog.error().what();
    EXPECT_EQ(uname_errno_under(*prog), 42);
    auto now = read_file(path);
    ASSERT_TRUE(now);
    EXPECT_NE(*now, junk);
  }
}

TEST_F(SeccompCacheTest, ABadProfileFailsAndLeavesNoFile) {
  oci::Seccomp bad = deny_uname(42);
  bad.default_action = "SCMP_ACT_NOPE";
  auto prog = compile_seccomp_cached(bad, dir_);
  ASSERT_FALSE(prog);
  EXPECT_NE(std::string(prog.error().what()).find("linux.seccomp.defaultAction"), std::string::npos);
  EXPECT_FALSE(path_exists(file_of(bad)));
}

TEST_F(SeccompCacheTest, AnUnwritableCacheStillGivesTheProgram) {
  ASSERT_TRUE(write_file(dir_, "a file where the directory should be", 0600));
  auto prog = compile_seccomp_cached(deny_uname(42), dir_);
  ASSERT_TRUE(prog) << prog.error().what();
  EXPECT_EQ(uname_errno_under(*prog), 42);
}

TEST_F(SeccompCacheTest, NoDirectoryMeansNoCache) {
  auto prog = compile_seccomp_cached(deny_uname(42), "");
  ASSERT_TRUE(prog);
  EXPECT_FALSE(path_exists(dir_));
}

}  // namespace
}  // namespace berth::runtime
