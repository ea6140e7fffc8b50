#include "engine/container_copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/unique_fd.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;

class ContainerCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ + "/root";
    host_ = tmp_ + "/host";
    outside_ = tmp_ + "/outside";
    for (const auto& d : {root_, host_, outside_, root_ + "/etc", root_ + "/data"})
      fs::create_directories(d);
    write(outside_ + "/secret", "host secret");
    write(root_ + "/etc/hostname", "ctr");
  }
  void TearDown() override { fs::remove_all(tmp_); }

  static void write(const std::string& path, const std::string& data, mode_t mode = 0644) {
    std::ofstream(path) << data;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  static bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  static void symlink(const std::string& target, const std::string& at) {
    ASSERT_EQ(::symlink(target.c_str(), at.c_str()), 0) << at;
  }
  static void set_mtime(const std::string& path, time_t t) {
    timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  }
  // The names in outside_: it must only ever hold "secret" with its original content.
  void expect_outside_untouched() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(outside_)) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"secret"});
    EXPECT_EQ(read(outside_ + "/secret"), "host secret");
  }
  // A host directory tree: d/{a (0640, mtime 1000), sub/b, link -> a}.
  std::string make_host_tree() {
    std::string d = host_ + "/d";
    fs::create_directories(d + "/sub");
    write(d + "/a", "alpha", 0640);
    write(d + "/sub/b", "beta");
    symlink("a", d + "/link");
    set_mtime(d + "/a", 1000);
    EXPECT_EQ(::chmod((d + "/sub").c_str(), 0750), 0);
    return d;
  }
  std::string tmp_, root_, host_, outside_;
  CopyOptions opts_;
};

// ---- into the container -------------------------------------------------------------------

TEST_F(ContainerCopyTest, IntoFileToNewFileKeepsModeAndMtime) {
  write(host_ + "/f", "hello", 0640);
  set_mtime(host_ + "/f", 12345);
  ASSERT_TRUE(copy_into_container(root_, host_ + "/f", "/newfile", opts_));
  EXPECT_EQ(read(root_ + "/newfile"), "hello");
  auto st = lstat_of(root_ + "/newfile");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 12345);
}

TEST_F(ContainerCopyTest, IntoFileIntoExistingDirUsesTheBaseName) {
  write(host_ + "/f", "hello");
  ASSERT_TRUE(copy_into_container(root_, host_ + "/f", "/etc", opts_));
  EXPECT_EQ(read(root_ + "/etc/f"), "hello");
  ASSERT_TRUE(copy_into_container(root_, host_ + "/f", "/data/", opts_));
  EXPECT_EQ(read(root_ + "/data/f"), "hello");
}

TEST_F(ContainerCopyTest, IntoFileOverwritesAFile) {
  write(host_ + "/f", "new");
  ASSERT_TRUE(copy_into_container(root_, host_ + "/f", "/etc/hostname", opts_));
  EXPECT_EQ(read(root_ + "/etc/hostname"), "new");
}

TEST_F(ContainerCopyTest, IntoFileToMissingDirWithSlashFails) {
  write(host_ + "/f", "x");
  auto r = copy_into_container(root_, host_ + "/f", "/nodir/", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("destination directory /nodir/ must be a directory"),
            std::string::npos)
      << r.error().what();
  EXPECT_FALSE(exists(root_ + "/nodir"));
  r = copy_into_container(root_, host_ + "/f", "/etc/hostname/", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("must be a directory"), std::string::npos) << r.error().what();
  EXPECT_EQ(read(root_ + "/etc/hostname"), "ctr");
}

TEST_F(ContainerCopyTest, IntoMissingParentIsAnError) {
  write(host_ + "/f", "x");
  auto r = copy_into_container(root_, host_ + "/f", "/nope/x", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().what(), "Could not find the file /nope in container");
}

TEST_F(ContainerCopyTest, IntoMissingHostSourceNamesIt) {
  auto r = copy_into_container(root_, host_ + "/missing", "/", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_NE(r.error().what().find(host_ + "/missing"), std::string::npos) << r.error().what();
}

TEST_F(ContainerCopyTest, IntoDirToNewDirCopiesTheTree) {
  std::string d = make_host_tree();
  ASSERT_TRUE(copy_into_container(root_, d, "/new", opts_));
  EXPECT_EQ(read(root_ + "/new/a"), "alpha");
  EXPECT_EQ(read(root_ + "/new/sub/b"), "beta");
  EXPECT_EQ(fs::read_symlink(root_ + "/new/link"), "a");
  EXPECT_EQ(lstat_of(root_ + "/new/a").st_mode & 07777, 0640u);
  EXPECT_EQ(lstat_of(root_ + "/new/a").st_mtim.tv_sec, 1000);
  EXPECT_EQ(lstat_of(root_ + "/new/sub").st_mode & 07777, 0750u);
}

TEST_F(ContainerCopyTest, IntoDirIntoExistingDirCopiesTheDirectory) {
  std::string d = make_host_tree();
  ASSERT_TRUE(copy_into_container(root_, d, "/etc", opts_));
  EXPECT_EQ(read(root_ + "/etc/d/a"), "alpha");
  EXPECT_EQ(read(root_ + "/etc/hostname"), "ctr");
}

TEST_F(ContainerCopyTest, IntoDirDotCopiesTheContents) {
  std::string d = make_host_tree();
  ASSERT_TRUE(copy_into_container(root_, d + "/.", "/etc", opts_));
  EXPECT_EQ(read(root_ + "/etc/a"), "alpha");
  EXPECT_EQ(read(root_ + "/etc/sub/b"), "beta");
  EXPECT_FALSE(exists(root_ + "/etc/d"));
}

TEST_F(ContainerCopyTest, IntoDirToFileFails) {
  std::string d = make_host_tree();
  auto r = copy_into_container(root_, d, "/etc/hostname", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("cannot copy directory"), std::string::npos) << r.error().what();
  EXPECT_EQ(read(root_ + "/etc/hostname"), "ctr");
}

TEST_F(ContainerCopyTest, IntoOwnershipIsRootUnlessArchive) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string d = make_host_tree();
  ASSERT_EQ(::lchown((d + "/a").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::lchown((d + "/link").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chown(d.c_str(), 1234, 5678), 0);
  ASSERT_TRUE(copy_into_container(root_, d, "/plain", opts_));
  EXPECT_EQ(lstat_of(root_ + "/plain/a").st_uid, 0u);
  EXPECT_EQ(lstat_of(root_ + "/plain/a").st_gid, 0u);
  EXPECT_EQ(lstat_of(root_ + "/plain/link").st_uid, 0u);
  EXPECT_EQ(lstat_of(root_ + "/plain").st_uid, 0u);
  CopyOptions archive;
  archive.archive = true;
  ASSERT_TRUE(copy_into_container(root_, d, "/kept", archive));
  EXPECT_EQ(lstat_of(root_ + "/kept/a").st_uid, 1234u);
  EXPECT_EQ(lstat_of(root_ + "/kept/a").st_gid, 5678u);
  EXPECT_EQ(lstat_of(root_ + "/kept/link").st_uid, 1234u);
  EXPECT_EQ(lstat_of(root_ + "/kept").st_gid, 5678u);
}

TEST_F(ContainerCopyTest, IntoFollowLinkCopiesTheTarget) {
  write(host_ + "/real", "target data");
  symlink(host_ + "/real", host_ + "/lnk");
  ASSERT_TRUE(copy_into_container(root_, host_ + "/lnk", "/plain", opts_));
  EXPECT_TRUE(fs::is_symlink(root_ + "/plain"));
  CopyOptions follow;
  follow.follow_link = true;
  ASSERT_TRUE(copy_into_container(root_, host_ + "/lnk", "/etc", follow));
  EXPECT_FALSE(fs::is_symlink(root_ + "/etc/lnk"));
  EXPECT_EQ(read(root_ + "/etc/lnk"), "target data");
}

TEST_F(ContainerCopyTest, IntoDirectoryNeverReplacedByAFileOrTheReverse) {
  std::string d = make_host_tree();
  fs::create_directories(root_ + "/x/d/a");  // a directory where the tree has file "a"
  auto r = copy_into_container(root_, d, "/x", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("cannot overwrite directory"), std::string::npos)
      << r.error().what();
  EXPECT_TRUE(fs::is_directory(root_ + "/x/d/a"));
}

TEST_F(ContainerCopyTest, IntoHardlinksStayLinked) {
  std::string d = host_ + "/hl";
  fs::create_directories(d);
  write(d + "/one", "same");
  ASSERT_EQ(::link((d + "/one").c_str(), (d + "/two").c_str()), 0);
  ASSERT_TRUE(copy_into_container(root_, d, "/hl", opts_));
  EXPECT_EQ(lstat_of(root_ + "/hl/one").st_ino, lstat_of(root_ + "/hl/two").st_ino);
  EXPECT_EQ(read(root_ + "/hl/two"), "same");
}

// ---- out of the container -----------------------------------------------------------------

TEST_F(ContainerCopyTest, OutFileToNewFileAndIntoDir) {
  write(root_ + "/data/f", "payload", 0600);
  set_mtime(root_ + "/data/f", 4242);
  ASSERT_TRUE(copy_from_container(root_, "/data/f", host_ + "/copy", opts_));
  EXPECT_EQ(read(host_ + "/copy"), "payload");
  EXPECT_EQ(lstat_of(host_ + "/copy").st_mode & 07777, 0600u);
  EXPECT_EQ(lstat_of(host_ + "/copy").st_mtim.tv_sec, 4242);
  ASSERT_TRUE(copy_from_container(root_, "/data/f", host_, opts_));
  EXPECT_EQ(read(host_ + "/f"), "payload");
  write(host_ + "/copy", "old");
  ASSERT_TRUE(copy_from_container(root_, "data/f", host_ + "/copy", opts_));
  EXPECT_EQ(read(host_ + "/copy"), "payload");
}

TEST_F(ContainerCopyTest, OutRulesForDirectories) {
  fs::create_directories(root_ + "/data/d/sub");
  write(root_ + "/data/d/a", "alpha");
  write(root_ + "/data/d/sub/b", "beta");
  ASSERT_TRUE(copy_from_container(root_, "/data/d", host_ + "/new", opts_));
  EXPECT_EQ(read(host_ + "/new/sub/b"), "beta");
  ASSERT_TRUE(copy_from_container(root_, "/data/d", host_ + "/new", opts_));
  EXPECT_EQ(read(host_ + "/new/d/a"), "alpha");
  fs::create_directories(host_ + "/contents");
  ASSERT_TRUE(copy_from_container(root_, "/data/d/.", host_ + "/contents", opts_));
  EXPECT_EQ(read(host_ + "/contents/a"), "alpha");
  EXPECT_FALSE(exists(host_ + "/contents/d"));
  write(host_ + "/file", "f");
  auto r = copy_from_container(root_, "/data/d", host_ + "/file", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("cannot copy directory"), std::string::npos) << r.error().what();
}

TEST_F(ContainerCopyTest, OutFileToMissingDirWithSlashOrMissingParentFails) {
  write(root_ + "/data/f", "x");
  auto r = copy_from_container(root_, "/data/f", host_ + "/nodir/", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("must be a directory"), std::string::npos) << r.error().what();
  r = copy_from_container(root_, "/data/f", host_ + "/nope/x", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(exists(host_ + "/nodir"));
  EXPECT_FALSE(exists(host_ + "/nope"));
}

TEST_F(ContainerCopyTest, OutMissingSourceUsesDockersMessage) {
  auto r = copy_from_container(root_, "/x", host_ + "/out", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().what(), "Could not find the file /x in container");
  r = copy_from_container(root_, "/nodir/x", host_ + "/out", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Could not find the file /nodir/x in container");
}

TEST_F(ContainerCopyTest, OutSourceWithSlashMustBeADirectory) {
  auto r = copy_from_container(root_, "/etc/hostname/", host_ + "/out", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("not a directory"), std::string::npos) << r.error().what();
}

TEST_F(ContainerCopyTest, OutOwnershipIsTheCallerUnlessArchive) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  write(root_ + "/data/f", "x");
  ASSERT_EQ(::chown((root_ + "/data/f").c_str(), 1234, 5678), 0);
  ASSERT_TRUE(copy_from_container(root_, "/data/f", host_ + "/plain", opts_));
  EXPECT_EQ(lstat_of(host_ + "/plain").st_uid, ::geteuid());
  EXPECT_EQ(lstat_of(host_ + "/plain").st_gid, ::getegid());
  CopyOptions archive;
  archive.archive = true;
  ASSERT_TRUE(copy_from_container(root_, "/data/f", host_ + "/kept", archive));
  EXPECT_EQ(lstat_of(host_ + "/kept").st_uid, 1234u);
  EXPECT_EQ(lstat_of(host_ + "/kept").st_gid, 5678u);
}

TEST_F(ContainerCopyTest, OutSymlinksAreCopiedAsLinksAndFollowedInRootWithL) {
  write(root_ + "/data/real", "inside");
  symlink("/data/real", root_ + "/lnk");
  ASSERT_TRUE(copy_from_container(root_, "/lnk", host_ + "/plain", opts_));
  EXPECT_EQ(fs::read_symlink(host_ + "/plain"), "/data/real");
  CopyOptions follow;
  follow.follow_link = true;
  ASSERT_TRUE(copy_from_container(root_, "/lnk", host_, follow));
  EXPECT_FALSE(fs::is_symlink(host_ + "/lnk"));
  EXPECT_EQ(read(host_ + "/lnk"), "inside");
}

TEST_F(ContainerCopyTest, OutFifoIsCopiedAndDevicesAreRefused) {
  ASSERT_EQ(::mkfifo((root_ + "/data/fifo").c_str(), 0640), 0);
  ASSERT_TRUE(copy_from_container(root_, "/data/fifo", host_ + "/fifo", opts_));
  EXPECT_TRUE(S_ISFIFO(lstat_of(host_ + "/fifo").st_mode));
  if (::geteuid() != 0) return;
  ASSERT_EQ(::mknod((root_ + "/data/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  auto r = copy_from_container(root_, "/data/null", host_ + "/null", opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("device nodes are not copied"), std::string::npos)
      << r.error().what();
}

// ---- symlink escapes ------------------------------------------------------------------------

TEST_F(ContainerCopyTest, EscapeRootSymlinkAsDestParentStaysInside) {
  symlink("/", root_ + "/evil");
  write(host_ + "/f", "planted");
  // /evil/<outside>/ resolves to <root>/<outside>, which does not exist in the container.
  auto r = copy_into_container(root_, host_ + "/f", "/evil" + outside_ + "/f", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound) << r.error().what();
  // Made to exist inside the root, the copy lands there.
  fs::create_directories(root_ + outside_);
  ASSERT_TRUE(copy_into_container(root_, host_ + "/f", "/evil" + outside_ + "/f", opts_));
  EXPECT_EQ(read(root_ + outside_ + "/f"), "planted");
  expect_outside_untouched();
}

TEST_F(ContainerCopyTest, EscapeRelativeSymlinkAsDestParentIsRefused) {
  symlink("../../../../../../../.." + outside_, root_ + "/rel");
  write(host_ + "/f", "planted");
  auto r = copy_into_container(root_, host_ + "/f", "/rel/f", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied) << r.error().what();
  std::string dir = make_host_tree();
  EXPECT_FALSE(copy_into_container(root_, dir, "/rel/d", opts_));
  expect_outside_untouched();
}

TEST_F(ContainerCopyTest, EscapeSymlinkAsDestItselfStaysInside) {
  write(host_ + "/secret", "planted");
  symlink("/", root_ + "/evil");
  symlink(outside_ + "/secret", root_ + "/abs");
  symlink("../../../../../../../.." + outside_ + "/secret", root_ + "/rel");
  // evil -> / is the container root: the file goes in as /secret.
  ASSERT_TRUE(copy_into_container(root_, host_ + "/secret", "/evil", opts_));
  EXPECT_EQ(read(root_ + "/secret"), "planted");
  // The targets of abs and rel are looked up inside the root, where their parent is missing.
  EXPECT_FALSE(copy_into_container(root_, host_ + "/secret", "/abs", opts_));
  EXPECT_FALSE(copy_into_container(root_, host_ + "/secret", "/rel", opts_));
  fs::create_directories(root_ + outside_);
  ASSERT_TRUE(copy_into_container(root_, host_ + "/secret", "/abs", opts_));
  EXPECT_EQ(read(root_ + outside_ + "/secret"), "planted");
  write(host_ + "/secret", "again");
  ASSERT_TRUE(copy_into_container(root_, host_ + "/secret", "/rel", opts_));
  EXPECT_EQ(read(root_ + outside_ + "/secret"), "again");
  expect_outside_untouched();
}

TEST_F(ContainerCopyTest, EscapeSymlinkAsSourceParentReadsNothingOutside) {
  symlink("/", root_ + "/evil");
  symlink("../../../../../../../.." + outside_, root_ + "/rel");
  auto r = copy_from_container(root_, "/evil" + outside_ + "/secret", host_ + "/got", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound) << r.error().what();
  r = copy_from_container(root_, "/rel/secret", host_ + "/got", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied) << r.error().what();
  // ..-climbing in the path itself is clamped at the root.
  r = copy_from_container(root_, "/../../../../../.." + outside_ + "/secret", host_ + "/got",
                          opts_);
  ASSERT_FALSE(r);
  EXPECT_FALSE(exists(host_ + "/got"));
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  EXPECT_FALSE(copy_from_container_tar(root_, "/evil" + outside_ + "/secret", wr.get(), opts_));
  EXPECT_FALSE(copy_from_container_tar(root_, "/rel/secret", wr.get(), opts_));
  expect_outside_untouched();
}

TEST_F(ContainerCopyTest, EscapeSymlinkAsSourceWithFollowStaysInside) {
  symlink(outside_ + "/secret", root_ + "/abs");
  CopyOptions follow;
  follow.follow_link = true;
  auto r = copy_from_container(root_, "/abs", host_ + "/got", follow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound) << r.error().what();
  EXPECT_FALSE(exists(host_ + "/got"));
  // Symlinks inside a copied tree are copied as links, never followed.
  fs::create_directories(root_ + "/data/t");
  symlink(outside_, root_ + "/data/t/out");
  ASSERT_TRUE(copy_from_container(root_, "/data/t", host_ + "/t", follow));
  EXPECT_TRUE(fs::is_symlink(host_ + "/t/out"));
}

TEST_F(ContainerCopyTest, EscapePlantedSymlinkAtAWrittenNameIsReplaced) {
  std::string d = make_host_tree();
  fs::create_directories(root_ + "/x/d");
  symlink(outside_ + "/secret", root_ + "/x/d/a");          // absolute, would hit the host
  symlink("../../../outside/secret", root_ + "/x/d/link");  // relative, would hit the host
  ASSERT_TRUE(copy_into_container(root_, d, "/x", opts_));
  EXPECT_FALSE(fs::is_symlink(root_ + "/x/d/a"));
  EXPECT_EQ(read(root_ + "/x/d/a"), "alpha");
  EXPECT_EQ(fs::read_symlink(root_ + "/x/d/link"), "a");
  expect_outside_untouched();
}

// ---- tar streams ----------------------------------------------------------------------------

class ContainerCopyTarTest : public ContainerCopyTest {
 protected:
  UniqueFd temp_file() {
    int fd = ::open(tmp_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    return UniqueFd(fd);
  }
};

TEST_F(ContainerCopyTarTest, RoundTripKeepsTreeModesTimesLinks) {
  fs::create_directories(root_ + "/data/d/sub");
  write(root_ + "/data/d/a", "alpha", 0751);
  write(root_ + "/data/d/sub/b", "beta");
  set_mtime(root_ + "/data/d/a", 777);
  symlink("/etc/hostname", root_ + "/data/d/link");
  ASSERT_EQ(::link((root_ + "/data/d/a").c_str(), (root_ + "/data/d/hard").c_str()), 0);
  UniqueFd tar = temp_file();
  ASSERT_TRUE(copy_from_container_tar(root_, "/data/d", tar.get(), opts_));
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  std::string root2 = tmp_ + "/root2";
  fs::create_directories(root2 + "/dst");
  auto r = copy_tar_into_container(root2, tar.get(), "/dst", opts_);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(read(root2 + "/dst/d/a"), "alpha");
  EXPECT_EQ(read(root2 + "/dst/d/sub/b"), "beta");
  EXPECT_EQ(lstat_of(root2 + "/dst/d/a").st_mode & 07777, 0751u);
  EXPECT_EQ(lstat_of(root2 + "/dst/d/a").st_mtim.tv_sec, 777);
  EXPECT_EQ(fs::read_symlink(root2 + "/dst/d/link"), "/etc/hostname");
  EXPECT_EQ(lstat_of(root2 + "/dst/d/a").st_ino, lstat_of(root2 + "/dst/d/hard").st_ino);
}

TEST_F(ContainerCopyTarTest, DotSourceTarsTheContents) {
  fs::create_directories(root_ + "/data/d");
  write(root_ + "/data/d/a", "alpha");
  UniqueFd tar = temp_file();
  ASSERT_TRUE(copy_from_container_tar(root_, "/data/d/.", tar.get(), opts_));
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  ASSERT_TRUE(copy_tar_into_container(root_, tar.get(), "/etc", opts_));
  EXPECT_EQ(read(root_ + "/etc/a"), "alpha");
}

TEST_F(ContainerCopyTarTest, ExtractOwnershipRootUnlessArchive) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  write(root_ + "/data/f", "x");
  ASSERT_EQ(::chown((root_ + "/data/f").c_str(), 1234, 5678), 0);
  UniqueFd tar = temp_file();
  ASSERT_TRUE(copy_from_container_tar(root_, "/data/f", tar.get(), opts_));
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  ASSERT_TRUE(copy_tar_into_container(root_, tar.get(), "/etc", opts_));
  EXPECT_EQ(lstat_of(root_ + "/etc/f").st_uid, 0u);
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  CopyOptions archive;
  archive.archive = true;
  ASSERT_TRUE(copy_tar_into_container(root_, tar.get(), "/", archive));
  EXPECT_EQ(lstat_of(root_ + "/f").st_uid, 1234u);
}

TEST_F(ContainerCopyTarTest, ExtractDestinationMustBeAnExistingDirectory) {
  UniqueFd tar = temp_file();
  ASSERT_TRUE(copy_from_container_tar(root_, "/etc/hostname", tar.get(), opts_));
  auto r = copy_tar_into_container(root_, tar.get(), "/etc/hostname", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "destination \"/etc/hostname\" must be a directory");
  r = copy_tar_into_container(root_, tar.get(), "/nope", opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Could not find the file /nope in container");
}

TEST_F(ContainerCopyTarTest, ExtractThroughPlantedSymlinksStaysInside) {
  // A hostile stream: "evil" -> <outside> (absolute), then "evil/pwn", then "../pwn2".
  UniqueFd tar = temp_file();
  {
    struct archive* a = archive_write_new();
    ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    ASSERT_EQ(archive_write_open_fd(a, tar.get()), ARCHIVE_OK);
    auto add = [&](const char* path, mode_t type, const char* link, const std::string& data) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, path);
      archive_entry_set_filetype(e, type);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
      if (link) archive_entry_set_symlink(e, link);
      EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
      if (!data.empty()) archive_write_data(a, data.data(), data.size());
      archive_entry_free(e);
    };
    add("evil", AE_IFLNK, outside_.c_str(), "");
    add("evil/pwn", AE_IFREG, nullptr, "pwned");
    add("../pwn2", AE_IFREG, nullptr, "pwned");
    ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
  }
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  symlink("/", root_ + "/rootlink");
  auto r = copy_tar_into_container(root_, tar.get(), "/rootlink", opts_);
  // "evil/pwn" follows evil -> <outside> inside the root; "../pwn2" is refused.
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("\"../pwn2\""), std::string::npos) << r.error().what();
  EXPECT_EQ(read(root_ + outside_ + "/pwn"), "pwned");
  expect_outside_untouched();
  symlink("../../../../../../../.." + outside_, root_ + "/rel");
  ASSERT_EQ(::lseek(tar.get(), 0, SEEK_SET), 0);
  r = copy_tar_into_container(root_, tar.get(), "/rel", opts_);
  ASSERT_FALSE(r);
  expect_outside_untouched();
}

}  // namespace
}  // namespace berth::engine
