#include "image/layer_apply.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/digest.h"
#include "base/fs.h"
#include "image/tar_builder.h"

namespace berth::image {
namespace {

using testing::Compression;
using testing::memfd_with;
using testing::TarBuilder;
using testing::TarEntry;

class LayerApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-apply-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    target_ = base_ + "/target";
    outside_ = base_ + "/outside";
    ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
  }
  void TearDown() override { (void)remove_all(base_); }

  Result<ApplyResult> apply(const std::string& bytes, ApplyOptions opts = {}) {
    if (opts.layer_name.empty()) opts.layer_name = "sha256:test";
    UniqueFd fd = memfd_with(bytes);
    return apply_layer(fd.get(), target_, opts);
  }
  std::string t(const std::string& rel) const { return target_ + "/" + rel; }
  bool outside_empty() const {
    struct stat st;
    std::string probe = outside_ + "/file";
    return ::lstat(probe.c_str(), &st) != 0 && ::rmdir(outside_.c_str()) == 0 &&
           ::mkdir(outside_.c_str(), 0755) == 0;
  }
  std::string read(const std::string& rel) const {
    auto r = read_file(t(rel));
    return r ? *r : "<missing>";
  }
  bool exists(const std::string& rel) const {
    struct stat st;
    return ::lstat(t(rel).c_str(), &st) == 0;
  }

  std::string base_, target_, outside_;
};

ApplyOptions options(Snapshotter::Whiteouts w, std::string name = "sha256:test", bool devices = true,
                     int64_t limit = int64_t{64} << 30) {
  ApplyOptions o;
  o.whiteouts = w;
  o.layer_name = std::move(name);
  o.allow_devices = devices;
  o.max_uncompressed = limit;
  return o;
}

TarBuilder rich_tree() {
  TarBuilder b;
  b.add({.path = "etc/", .type = AE_IFDIR, .mode = 0750, .uid = 1000, .gid = 1001, .mtime = 1600000000});
  b.add({.path = "etc/passwd", .mode = 0640, .uid = 1000, .gid = 1001, .mtime = 1500000000, .content = "root:x:0:0\n"});
  b.add({.path = "bin/su", .mode = 04755, .content = "#!suid"});
  b.add({.path = "tmp", .type = AE_IFDIR, .mode = 01777});
  b.symlink("etc/link", "/etc/passwd");
  b.hardlink("etc/passwd-hard", "etc/passwd");
  b.add({.path = "run/fifo", .type = AE_IFIFO, .mode = 0620});
  b.device("dev/null", AE_IFCHR, 1, 3);
  b.add({.path = "bin/ping", .mode = 0755, .content = "ping",
         .xattrs = {{"user.berth", "yes"}, {"security.capability", std::string("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20)}}});
  return b;
}

class LayerApplyCompressionTest : public LayerApplyTest, public ::testing::WithParamInterface<Compression> {};

TEST_P(LayerApplyCompressionTest, AppliesTreeAndComputesDiffId) {
  TarBuilder b = rich_tree();
  std::string bytes = b.build(GetParam());
  std::string plain = testing::decompress(bytes);
  auto r = apply(bytes);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->diff_id, sha256_of(plain));
  EXPECT_EQ(r->uncompressed_size, static_cast<int64_t>(plain.size()));
  EXPECT_EQ(r->entries, 9);

  struct stat st;
  ASSERT_EQ(::lstat(t("etc").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mtime, 1600000000);  // set after its contents were written

  ASSERT_EQ(::lstat(t("etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtime, 1500000000);
  EXPECT_EQ(read("etc/passwd"), "root:x:0:0\n");
  struct stat hard;
  ASSERT_EQ(::lstat(t("etc/passwd-hard").c_str(), &hard), 0);
  EXPECT_EQ(hard.st_ino, st.st_ino);

  ASSERT_EQ(::lstat(t("bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat(t("tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);

  char link[256] = {};
  ASSERT_GT(::readlink(t("etc/link").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_STREQ(link, "/etc/passwd");

  ASSERT_EQ(::lstat(t("run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  ASSERT_EQ(::lstat(t("dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);

  char value[64] = {};
  ssize_t n = ::lgetxattr(t("bin/ping").c_str(), "user.berth", value, sizeof(value));
  if (n >= 0) {
    EXPECT_EQ(std::string(value, static_cast<size_t>(n)), "yes");
  }
  n = ::lgetxattr(t("bin/ping").c_str(), "security.capability", value, sizeof(value));
  EXPECT_EQ(n, 20);
}

INSTANTIATE_TEST_SUITE_P(Formats, LayerApplyCompressionTest,
                         ::testing::Values(Compression::None, Compression::Gzip, Compression::Zstd));

TEST_F(LayerApplyTest, SparseFileKeepsHoles) {
  std::string content(8 << 20, '\0');
  std::fill(content.begin(), content.begin() + 4096, 'a');
  std::fill(content.end() - 4096, content.end(), 'z');
  TarBuilder b;
  b.add({.path = "sparse", .content = content, .sparse = {{0, 4096}, {(8 << 20) - 4096, 4096}}});
  auto r = apply(b.build());
  ASSERT_TRUE(r.has_value()) << r.error().what();
  struct stat st;
  ASSERT_EQ(::lstat(t("sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);
  EXPECT_EQ(read("sparse"), content);
}

TEST_F(LayerApplyTest, OverlayWhiteouts) {
  TarBuilder b;
  b.dir("a").file("a/.wh.gone", "").dir("opq").file("opq/.wh..wh..opq", "").file("opq/new", "n");
  auto r = apply(b.build(), options(Snapshotter::Whiteouts::Overlay));
  ASSERT_TRUE(r.has_value()) << r.error().what();
  struct stat st;
  ASSERT_EQ(::lstat(t("a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(exists("a/.wh.gone"));
  char v[4] = {};
  ASSERT_EQ(::lgetxattr(t("opq").c_str(), "trusted.overlay.opaque", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(read("opq/new"), "n");
}

TEST_F(LayerApplyTest, DeleteWhiteoutsRemoveLowerEntries) {
  ASSERT_TRUE(make_dirs(t("a/gone/deep")).has_value());
  ASSERT_TRUE(write_file(t("a/keep"), "k").has_value());
  ASSERT_TRUE(make_dirs(t("opq/lowerdir")).has_value());
  ASSERT_TRUE(write_file(t("opq/lower1"), "l").has_value());
  TarBuilder b;
  b.dir("a").file("a/.wh.gone", "").dir("opq").file("opq/early", "e").file("opq/.wh..wh..opq", "").file("opq/late", "l");
  auto r = apply(b.build(), options(Snapshotter::Whiteouts::Delete));
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_FALSE(exists("a/gone"));
  EXPECT_EQ(read("a/keep"), "k");
  EXPECT_FALSE(exists("opq/lower1"));
  EXPECT_FALSE(exists("opq/lowerdir"));
  EXPECT_EQ(read("opq/early"), "e");  // written by this layer before the marker: survives
  EXPECT_EQ(read("opq/late"), "l");
  EXPECT_FALSE(exists("opq/.wh..wh..opq"));
}

TEST_F(LayerApplyTest, ReplacesEntriesOfAnotherType) {
  ASSERT_TRUE(make_dirs(t("was-dir/sub")).has_value());
  ASSERT_TRUE(write_file(t("was-file"), "x").has_value());
  ASSERT_TRUE(make_dirs(t("merge")).has_value());
  ASSERT_TRUE(write_file(t("merge/old"), "o").has_value());
  ASSERT_EQ(::symlink("/nowhere", t("was-link").c_str()), 0);
  TarBuilder b;
  b.file("was-dir", "now a file").dir("was-file").file("was-file/inner", "i").dir("merge", 0700).file("merge/new", "n");
  b.file("was-link", "plain");
  auto r = apply(b.build());
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(read("was-dir"), "now a file");
  EXPECT_EQ(read("was-file/inner"), "i");
  EXPECT_EQ(read("merge/old"), "o");
  EXPECT_EQ(read("merge/new"), "n");
  struct stat st;
  ASSERT_EQ(::lstat(t("merge").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::lstat(t("was-link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(LayerApplyTest, AbsolutePathsStayInsideTheRoot) {
  TarBuilder b;
  b.file("/abs/file", "a");
  auto r = apply(b.build());
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(read("abs/file"), "a");
}

TEST_F(LayerApplyTest, RefusesDotDotEscape) {
  for (std::string path : {"../outside/file", "a/../../outside/file"}) {
    TarBuilder b;
    b.file(path, "x");
    auto r = apply(b.build(), options(Snapshotter::Whiteouts::Overlay, "sha256:ab12"));
    ASSERT_FALSE(r.has_value()) << path;
    EXPECT_NE(r.error().what().find("layer sha256:ab12: entry \"" + path + "\""), std::string::npos)
        << r.error().what();
    EXPECT_TRUE(outside_empty());
  }
}

TEST_F(LayerApplyTest, SymlinkSwappedUnderLaterEntryCannotEscape) {
  {
    // An absolute target is resolved inside the root: the file lands under target/<outside>.
    TarBuilder b;
    b.symlink("evil", outside_).file("evil/file", "x");
    auto r = apply(b.build());
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_TRUE(outside_empty());
    EXPECT_EQ(read(outside_.substr(1) + "/file"), "x");
  }
  {
    TarBuilder b;
    b.symlink("evil2", "../../../../../../..").file("evil2/" + outside_.substr(1) + "/file", "x");
    auto r = apply(b.build());
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().what().find("escapes"), std::string::npos) << r.error().what();
    EXPECT_TRUE(outside_empty());
  }
  {
    TarBuilder b;
    b.symlink("up", "..").file("up/outside/file", "x");
    auto r = apply(b.build());
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(outside_empty());
  }
}

TEST_F(LayerApplyTest, RefusesHardlinkEscapesAndMissingTargets) {
  ASSERT_TRUE(write_file(outside_ + "/secret", "s").has_value());
  for (std::string target : {"../outside/secret", "missing"}) {
    TarBuilder b;
    b.hardlink("link", target);
    auto r = apply(b.build());
    ASSERT_FALSE(r.has_value()) << target;
    EXPECT_NE(r.error().what().find("entry \"link\""), std::string::npos) << r.error().what();
  }
  {
    // Through a symlink to the outside dir: resolved in the root, where it does not exist.
    TarBuilder b;
    b.symlink("out", outside_).hardlink("link", "out/secret");
    auto r = apply(b.build());
    ASSERT_FALSE(r.has_value());
  }
  struct stat st;
  ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(LayerApplyTest, RefusesDevicesWhenNotAllowed) {
  TarBuilder b;
  b.device("dev/sda", AE_IFBLK, 8, 0);
  auto r = apply(b.build(), options(Snapshotter::Whiteouts::Overlay, "sha256:test", false));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what().find("device nodes are not allowed"), std::string::npos);
  EXPECT_FALSE(exists("dev/sda"));
}

TEST_F(LayerApplyTest, RefusesOverlayXattrsFromTheTar) {
  TarBuilder b;
  b.add({.path = "d", .type = AE_IFDIR, .mode = 0755, .xattrs = {{"trusted.overlay.opaque", "y"}}});
  auto r = apply(b.build());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what().find("trusted.overlay.opaque"), std::string::npos) << r.error().what();
}

TEST_F(LayerApplyTest, RefusesTarBomb) {
  TarBuilder b;
  b.file("big", std::string(1 << 20, 'b'));
  auto r = apply(b.build(Compression::Gzip), options(Snapshotter::Whiteouts::Overlay, "sha256:bomb", true, 64 << 10));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what().find("layer sha256:bomb: uncompressed size exceeds the limit of 65536 bytes"),
            std::string::npos)
      << r.error().what();
}

TEST_F(LayerApplyTest, RefusesGarbage) {
  auto r = apply(std::string(1024, 'x'));
  ASSERT_FALSE(r.has_value());
}

}  // namespace
}  // namespace berth::image
