// Layers written from directories are applied back with layer_apply and the result compared
// with the tree they came from (or, for an overlay upper dir, the overlay's merged view).
#include "image/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/fs.h"
#include "image/layer_apply.h"
#include "image/tree_copy.h"

namespace berth::image {
namespace {

// What a tree holds at one path, as layers carry it (mtimes in whole seconds).
struct Node {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 0;
  dev_t rdev = 0;
  std::string data;        // file content or symlink target
  std::string xattrs;      // "name=value;" for the kept ones, sorted
  std::string link_group;  // the first path sharing this inode, for hardlinked files
};

std::string kept_xattrs(const std::string& path) {
  char names[4096];
  ssize_t len = ::llistxattr(path.c_str(), names, sizeof(names));
  std::vector<std::string> out;
  for (ssize_t pos = 0; len > 0 && pos < len;) {
    std::string name(names + pos);
    pos += static_cast<ssize_t>(name.size()) + 1;
    bool kept = name == "security.capability" || (name.rfind("user.", 0) == 0 && name.rfind("user.overlay.", 0) != 0);
    if (!kept) continue;
    char value[512];
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    out.push_back(name + "=" + std::string(value, n > 0 ? static_cast<size_t>(n) : 0));
  }
  std::sort(out.begin(), out.end());
  std::string s;
  for (auto& x : out) s += x + ";";
  return s;
}

void scan_into(const std::string& root, const std::string& rel, std::map<std::string, Node>& out,
               std::map<std::pair<dev_t, ino_t>, std::string>& inodes) {
  auto names = list_dir(root + (rel.empty() ? "" : "/" + rel));
  ASSERT_TRUE(names) << names.error().what();
  for (const auto& name : *names) {
    std::string p = rel.empty() ? name : rel + "/" + name;
    std::string full = root + "/" + p;
    struct stat st;
    ASSERT_EQ(::lstat(full.c_str(), &st), 0) << full;
    Node n;
    n.mode = st.st_mode;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.mtime = st.st_mtim.tv_sec;
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) n.rdev = st.st_rdev;
    if (S_ISREG(st.st_mode)) n.data = read_file(full).value_or("<unreadable>");
    if (S_ISLNK(st.st_mode)) n.data = read_link(full).value_or("<unreadable>");
    if (!S_ISLNK(st.st_mode)) n.xattrs = kept_xattrs(full);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) n.link_group = inodes.try_emplace({st.st_dev, st.st_ino}, p).first->second;
    out[p] = n;
    if (S_ISDIR(st.st_mode)) scan_into(root, p, out, inodes);
  }
}

std::map<std::string, Node> scan(const std::string& root) {
  std::map<std::string, Node> out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  scan_into(root, "", out, inodes);
  return out;
}

// Every difference between two trees, one line each (empty when they match).
std::vector<std::string> compare_trees(const std::string& want_dir, const std::string& got_dir) {
  auto want = scan(want_dir);
  auto got = scan(got_dir);
  std::vector<std::string> diffs;
  if (want.empty()) diffs.push_back(want_dir + ": nothing to compare");
  for (const auto& [p, w] : want) {
    auto it = got.find(p);
    if (it == got.end()) {
      diffs.push_back(p + ": missing");
      continue;
    }
    const Node& g = it->second;
    if (w.mode != g.mode) diffs.push_back(fmt::format("{}: mode {:o} != {:o}", p, w.mode, g.mode));
    if (w.uid != g.uid || w.gid != g.gid) diffs.push_back(fmt::format("{}: owner {}:{} != {}:{}", p, w.uid, w.gid, g.uid, g.gid));
    if (w.mtime != g.mtime) diffs.push_back(fmt::format("{}: mtime {} != {}", p, w.mtime, g.mtime));
    if (w.rdev != g.rdev) diffs.push_back(p + ": rdev differs");
    if (w.data != g.data) diffs.push_back(fmt::format("{}: content {:?} != {:?}", p, w.data.substr(0, 40), g.data.substr(0, 40)));
    if (w.xattrs != g.xattrs) diffs.push_back(fmt::format("{}: xattrs {:?} != {:?}", p, w.xattrs, g.xattrs));
    if (w.link_group != g.link_group) diffs.push_back(fmt::format("{}: hardlinked to {:?} != {:?}", p, w.link_group, g.link_group));
  }
  for (const auto& [p, g] : got)
    if (!want.count(p)) diffs.push_back(p + ": unexpected");
  return diffs;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Entry paths of a layer blob, in order; xattr names per path go to xattrs when given.
std::vector<std::string> layer_entries(ContentStore& content, const LayerBlob& blob,
                                       std::map<std::string, std::set<std::string>>* xattrs = nullptr) {
  std::vector<std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  std::string path = content.path(blob.digest);
  if (archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK) {
    struct archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      out.push_back(archive_entry_pathname(e));
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      archive_entry_xattr_reset(e);
      while (xattrs && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) (*xattrs)[out.back()].insert(name);
    }
  }
  archive_read_free(a);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void put(const std::string& path, const std::string& data, mode_t mode = 0644) {
  ASSERT_TRUE(make_dirs(path.substr(0, path.rfind('/'))));
  ASSERT_TRUE(write_file(path, data, mode)) << path;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

void set_mtime(const std::string& path, time_t sec, long nsec = 0) {
  struct timespec t[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
}

std::string capability_blob() {
  struct vfs_cap_data cap {};
  cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  cap.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
  return std::string(reinterpret_cast<const char*>(&cap), XATTR_CAPS_SZ_2);
}

// A tree with every kind of entry and metadata a layer carries.
void make_rich_tree(const std::string& root) {
  put(root + "/etc/passwd", "root:x:0:0\n", 0640);
  ASSERT_EQ(::chown((root + "/etc/passwd").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((root + "/etc/passwd").c_str(), 0640), 0);
  put(root + "/bin/su", "#!suid", 04755);
  put(root + "/bin/ping", "ping", 0755);
  ASSERT_EQ(::setxattr((root + "/bin/ping").c_str(), "security.capability", capability_blob().data(), XATTR_CAPS_SZ_2, 0), 0);
  ASSERT_EQ(::setxattr((root + "/bin/su").c_str(), "user.note", "hello", 5, 0), 0);
  ASSERT_EQ(::setxattr((root + "/bin/su").c_str(), "trusted.secret", "no", 2, 0), 0);
  ASSERT_TRUE(make_dirs(root + "/tmp"));
  ASSERT_EQ(::chmod((root + "/tmp").c_str(), 01777), 0);
  ASSERT_TRUE(make_dirs(root + "/empty"));
  ASSERT_EQ(::chown((root + "/empty").c_str(), 7, 8), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (root + "/etc/link").c_str()), 0);
  ASSERT_EQ(::link((root + "/etc/passwd").c_str(), (root + "/etc/passwd-hard").c_str()), 0);
  ASSERT_EQ(::link((root + "/etc/passwd").c_str(), (root + "/bin/passwd-hard2").c_str()), 0);
  ASSERT_TRUE(make_dirs(root + "/dev"));
  ASSERT_EQ(::mknod((root + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod((root + "/dev/loop9").c_str(), S_IFBLK | 0660, makedev(7, 9)), 0);
  ASSERT_EQ(::mkfifo((root + "/dev/fifo").c_str(), 0620), 0);
  ASSERT_EQ(::chmod((root + "/dev/null").c_str(), 0666), 0);
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  put(root + "/usr/share/big", big);
  set_mtime(root + "/etc/passwd", 1500000000);
  set_mtime(root + "/etc/link", 1400000000);
  set_mtime(root + "/etc", 1600000000, 123456789);
}

// Sets the mtime of everything under root (children before their directory) to sec.
void normalize_times(const std::string& root, time_t sec) {
  auto names = list_dir(root);
  ASSERT_TRUE(names);
  for (const auto& n : *names) {
    std::string p = root + "/" + n;
    struct stat st;
    ASSERT_EQ(::lstat(p.c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) normalize_times(p, sec);
    set_mtime(p, sec);
  }
}

class LayerWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-layerw-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    auto cs = open_local_content_store(base_ + "/store");
    ASSERT_TRUE(cs) << cs.error().what();
    content_ = std::move(*cs);
  }
  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    (void)remove_all(base_);
  }

  std::string dir(const std::string& name) {
    std::string p = base_ + "/" + name;
    EXPECT_TRUE(make_dirs(p));
    return p;
  }

  // Applies blob to target (whiteouts deleting, as the copy snapshotter does, unless overlay).
  void apply(const LayerBlob& blob, const std::string& target, bool overlay = false) {
    auto fd = content_->open(blob.digest);
    ASSERT_TRUE(fd) << fd.error().what();
    ApplyOptions o;
    o.layer_name = blob.digest.to_string();
    o.whiteouts = overlay ? Snapshotter::Whiteouts::Overlay : Snapshotter::Whiteouts::Delete;
    auto r = apply_layer(fd->get(), target, o);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->diff_id, blob.diff_id);
  }

  // Mounts an overlay; false (the test then skips) when this kernel or filesystem cannot.
  bool mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                     const std::string& merged) {
    std::string opts = fmt::format("lowerdir={},upperdir={},workdir={},index=off", lower, upper, work);
    if (::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) return false;
    mounts_.push_back(merged);
    return true;
  }

  std::string base_;
  std::unique_ptr<ContentStore> content_;
  std::vector<std::string> mounts_;
};

TEST_F(LayerWriterTest, FullTreeRoundTrip) {
  std::string src = dir("src");
  make_rich_tree(src);
  auto blob = write_layer(src, DiffSource::FullTree, *content_);
  ASSERT_TRUE(blob) << blob.error().what();
  EXPECT_EQ(blob->media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto info = content_->stat(blob->digest);
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->size, blob->size);

  std::map<std::string, std::set<std::string>> xattrs;
  auto entries = layer_entries(*content_, *blob, &xattrs);
  EXPECT_TRUE(contains(entries, "etc/")) << joined(entries);
  EXPECT_TRUE(contains(entries, "empty/"));
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end())) << joined(entries);
  EXPECT_EQ(xattrs["bin/su"], (std::set<std::string>{"user.note"}));  // never trusted.*
  EXPECT_EQ(xattrs["bin/ping"], (std::set<std::string>{"security.capability"}));

  std::string out = dir("out");
  apply(*blob, out);
  auto diffs = compare_trees(src, out);
  EXPECT_TRUE(diffs.empty()) << joined(diffs);
}

TEST_F(LayerWriterTest, SameTreeGivesSameDiffIdAndBlob) {
  std::string a = dir("a");
  make_rich_tree(a);
  auto first = write_layer(a, DiffSource::FullTree, *content_);
  auto second = write_layer(a, DiffSource::FullTree, *content_);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->diff_id, second->diff_id);
  EXPECT_EQ(first->digest, second->digest);

  // The same tree made again, files in another order, in another directory.
  std::string c = dir("c");
  make_rich_tree(c);
  for (const auto& name : {"z1", "z2", "z3"}) put(a + "/more/" + name, name);
  for (const auto& name : {"z3", "z2", "z1"}) put(c + "/more/" + name, name);
  normalize_times(a, 1650000000);
  normalize_times(c, 1650000000);
  first = write_layer(a, DiffSource::FullTree, *content_);
  auto third = write_layer(c, DiffSource::FullTree, *content_);
  ASSERT_TRUE(first && third) << third.error().what();
  EXPECT_EQ(third->diff_id, first->diff_id);
  EXPECT_EQ(third->digest, first->digest);

  // The diff ID is of the tar, whatever the compression.
  auto plain = write_layer(a, DiffSource::FullTree, *content_, oci::Compression::None);
  auto zstd = write_layer(a, DiffSource::FullTree, *content_, oci::Compression::Zstd);
  ASSERT_TRUE(plain && zstd);
  EXPECT_EQ(plain->diff_id, first->diff_id);
  EXPECT_EQ(zstd->diff_id, first->diff_id);
  EXPECT_EQ(plain->digest, plain->diff_id);
  EXPECT_EQ(plain->media_type, "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(zstd->media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  std::string out = dir("out");
  apply(*zstd, out);
  auto diffs = compare_trees(a, out);
  EXPECT_TRUE(diffs.empty()) << joined(diffs);
  // No ingest is left behind by any of these writes.
  EXPECT_TRUE(list_dir(base_ + "/store/ingest").value_or(std::vector<std::string>{"?"}).empty());
}

TEST_F(LayerWriterTest, OverlayUpperAppliesToTheMergedView) {
  std::string lower = dir("lower"), upper = dir("upper"), work = dir("work"), merged = dir("merged");
  put(lower + "/a/file1", "one");
  put(lower + "/a/file2", "two");
  put(lower + "/a/sub/deep", "deep");
  put(lower + "/b/keep", "keep");
  put(lower + "/b/gone", "gone");
  put(lower + "/opq/old1", "old");
  put(lower + "/opq/olddir/x", "x");
  put(lower + "/chmod-me", "c");
  put(lower + "/owner-me", "o");
  put(lower + "/xattr-me", "x");
  put(lower + "/hard1", "h");
  ASSERT_EQ(::link((lower + "/hard1").c_str(), (lower + "/hard2").c_str()), 0);
  ASSERT_EQ(::symlink("a/file1", (lower + "/link").c_str()), 0);
  if (!mount_overlay(lower, upper, work, merged)) GTEST_SKIP() << "overlayfs cannot be mounted here: " << std::strerror(errno);

  auto m = [&](const std::string& p) { return merged + "/" + p; };
  ASSERT_EQ(::unlink(m("b/gone").c_str()), 0);
  ASSERT_TRUE(remove_all(m("opq")));
  ASSERT_EQ(::mkdir(m("opq").c_str(), 0750), 0);  // removed and made again: opaque
  put(m("opq/new"), "new");
  ASSERT_TRUE(remove_all(m("a/sub")));
  put(m("a/file1"), "changed content");
  ASSERT_EQ(::chmod(m("chmod-me").c_str(), 04711), 0);
  ASSERT_EQ(::chown(m("owner-me").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::setxattr(m("xattr-me").c_str(), "user.added", "v", 1, 0), 0);
  put(m("new/deep/file"), "secret", 0600);
  ASSERT_EQ(::chown(m("new/deep/file").c_str(), 123, 456), 0);
  ASSERT_EQ(::mkfifo(m("new/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mknod(m("new/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::symlink("../a", m("new/sl").c_str()), 0);
  ASSERT_EQ(::link(m("new/deep/file").c_str(), m("new/h2").c_str()), 0);
  put(m("new/cap"), "bin", 0755);
  ASSERT_EQ(::setxattr(m("new/cap").c_str(), "security.capability", capability_blob().data(), XATTR_CAPS_SZ_2, 0), 0);
  ASSERT_TRUE(make_dirs(m("new/tmp")));
  ASSERT_EQ(::chmod(m("new/tmp").c_str(), 01777), 0);
  set_mtime(m("new/deep/file"), 1234567890);

  auto blob = write_layer(upper, DiffSource::OverlayUpper, *content_);
  ASSERT_TRUE(blob) << blob.error().what();
  std::map<std::string, std::set<std::string>> xattrs;
  auto entries = layer_entries(*content_, *blob, &xattrs);
  EXPECT_TRUE(contains(entries, "b/.wh.gone")) << joined(entries);
  EXPECT_TRUE(contains(entries, "a/.wh.sub")) << joined(entries);
  EXPECT_TRUE(contains(entries, "opq/.wh..wh..opq")) << joined(entries);
  EXPECT_FALSE(contains(entries, "b/keep"));
  for (const auto& [path, names] : xattrs)
    for (const auto& n : names) EXPECT_FALSE(n.starts_with("trusted.") || n.starts_with("user.overlay.")) << path << " " << n;

  // As the copy snapshotter applies it: onto a copy of the lower tree, whiteouts deleting.
  std::string copy = dir("copy");
  ASSERT_TRUE(copy_tree(lower, copy));
  apply(*blob, copy);
  auto diffs = compare_trees(merged, copy);
  EXPECT_TRUE(diffs.empty()) << joined(diffs);

  // As the overlay snapshotter applies it: into a fresh upper dir over the same lower.
  std::string upper2 = dir("upper2"), work2 = dir("work2"), merged2 = dir("merged2");
  apply(*blob, upper2, /*overlay=*/true);
  ASSERT_TRUE(mount_overlay(lower, upper2, work2, merged2));
  diffs = compare_trees(merged, merged2);
  EXPECT_TRUE(diffs.empty()) << joined(diffs);
}

TEST_F(LayerWriterTest, ExcludedMountpointsStayOutUnlessTheyHoldSomething) {
  std::string src = dir("src");
  put(src + "/etc/hosts", "");
  put(src + "/etc/resolv.conf", "nameserver 1.1.1.1\n");
  put(src + "/etc/hostname", "");
  ASSERT_TRUE(make_dirs(src + "/run/secrets"));
  put(src + "/cache/keep", "data");
  ASSERT_TRUE(make_dirs(src + "/empty-kept"));
  std::set<std::string> exclude{"etc/hosts", "etc/resolv.conf", "run/secrets", "cache", "not/there"};
  auto blob = write_layer(src, DiffSource::FullTree, *content_, oci::Compression::Gzip, exclude);
  ASSERT_TRUE(blob) << blob.error().what();
  auto entries = layer_entries(*content_, *blob);
  EXPECT_FALSE(contains(entries, "etc/hosts")) << joined(entries);
  EXPECT_FALSE(contains(entries, "run/secrets/")) << joined(entries);
  EXPECT_TRUE(contains(entries, "run/")) << joined(entries);
  EXPECT_TRUE(contains(entries, "etc/resolv.conf"));
  EXPECT_TRUE(contains(entries, "etc/hostname"));  // empty but not excluded
  EXPECT_TRUE(contains(entries, "cache/keep"));
  EXPECT_TRUE(contains(entries, "empty-kept/"));

  // A diff leaves an excluded path out only when it did not exist before.
  std::string parent = dir("parent");
  put(parent + "/etc/hosts", "");
  std::string child = dir("child");
  ASSERT_TRUE(copy_tree(parent, child));
  set_mtime(child + "/etc/hosts", 1700000000);  // touched by the mount: existed before
  ASSERT_TRUE(make_dirs(child + "/run/secrets"));
  put(child + "/run/build.sock.lock", "");
  auto diff = write_layer_diff(parent, child, *content_, oci::Compression::Gzip,
                               {"etc/hosts", "run/secrets", "run/build.sock.lock"});
  ASSERT_TRUE(diff) << diff.error().what();
  entries = layer_entries(*content_, *diff);
  EXPECT_TRUE(contains(entries, "etc/hosts")) << joined(entries);
  EXPECT_FALSE(contains(entries, "run/secrets/")) << joined(entries);
  EXPECT_FALSE(contains(entries, "run/build.sock.lock")) << joined(entries);
}

TEST_F(LayerWriterTest, DiffOfCopiedTreesHoldsOnlyTheChanges) {
  std::string parent = dir("parent");
  make_rich_tree(parent);
  put(parent + "/data/same", "unchanged");
  put(parent + "/data/content", "aaaa");
  set_mtime(parent + "/data/content", 1600000000, 5);  // written well before the child step
  put(parent + "/data/secondless", "bbbb");
  put(parent + "/data/mode", "m");
  put(parent + "/data/owner", "o");
  put(parent + "/data/time", "t");
  put(parent + "/data/xattr", "x");
  put(parent + "/data/becomes-dir", "f");
  put(parent + "/data/becomes-file/inner", "i");
  put(parent + "/gone/deep/file", "g");
  put(parent + "/data/gone-file", "g");
  ASSERT_EQ(::symlink("same", (parent + "/data/link").c_str()), 0);
  set_mtime(parent + "/data/secondless", 1600000000, 0);
  std::string child = dir("child");
  ASSERT_TRUE(copy_tree(parent, child));

  auto c = [&](const std::string& p) { return child + "/" + p; };
  put(c("data/content"), "AAAA");  // same size, new mtime
  put(c("data/secondless"), "BBBB");
  set_mtime(c("data/secondless"), 1600000000, 0);  // same size and whole-second mtime: bytes decide
  ASSERT_EQ(::chmod(c("data/mode").c_str(), 0600), 0);
  ASSERT_EQ(::chown(c("data/owner").c_str(), 5, 5), 0);
  set_mtime(c("data/time"), 1111111111);
  ASSERT_EQ(::setxattr(c("data/xattr").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(::unlink(c("data/link").c_str()), 0);
  ASSERT_EQ(::symlink("content", c("data/link").c_str()), 0);
  ASSERT_EQ(::unlink(c("data/becomes-dir").c_str()), 0);
  put(c("data/becomes-dir/x"), "x");
  ASSERT_TRUE(remove_all(c("data/becomes-file")));
  put(c("data/becomes-file"), "now a file");
  ASSERT_TRUE(remove_all(c("gone")));
  ASSERT_EQ(::unlink(c("data/gone-file").c_str()), 0);
  put(c("new/file"), "new");

  auto blob = write_layer_diff(parent, child, *content_);
  ASSERT_TRUE(blob) << blob.error().what();
  auto entries = layer_entries(*content_, *blob);
  for (const auto& e : {"data/content", "data/secondless", "data/mode", "data/owner", "data/time", "data/xattr",
                        "data/link", "data/becomes-dir/", "data/becomes-dir/x", "data/becomes-file", ".wh.gone",
                        "data/.wh.gone-file", "new/", "new/file"})
    EXPECT_TRUE(contains(entries, e)) << e << " not in\n" << joined(entries);
  for (const auto& e : {"data/same", "etc/passwd", "bin/su", "usr/share/big", "dev/null", "tmp/"})
    EXPECT_FALSE(contains(entries, e)) << e << " in\n" << joined(entries);

  std::string target = dir("target");
  ASSERT_TRUE(copy_tree(parent, target));
  apply(*blob, target);
  auto diffs = compare_trees(child, target);
  EXPECT_TRUE(diffs.empty()) << joined(diffs);

  // Identical trees: an empty layer.
  auto none = write_layer_diff(parent, parent, *content_);
  ASSERT_TRUE(none) << none.error().what();
  EXPECT_TRUE(layer_entries(*content_, *none).empty());
}

TEST_F(LayerWriterTest, ErrorsNameWhatFailed) {
  auto missing = write_layer(base_ + "/nope", DiffSource::FullTree, *content_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
  EXPECT_NE(missing.error().what().find(base_ + "/nope"), std::string::npos) << missing.error().what();

  std::string src = dir("src");
  put(src + "/etc/.wh.passwd", "x");
  auto named = write_layer(src, DiffSource::FullTree, *content_);
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().what().find("etc/.wh.passwd"), std::string::npos) << named.error().what();
  EXPECT_TRUE(list_dir(base_ + "/store/ingest").value_or(std::vector<std::string>{"?"}).empty());
}

// Not a timed test: run with --gtest_also_run_disabled_tests to print the throughput of 100 MiB
// of text-like data, or of the tree BERTH_LAYER_BENCH_DIR names.
TEST_F(LayerWriterTest, DISABLED_Throughput100MB) {
  std::string src = dir("src");
  double mib = 100;
  if (const char* real = std::getenv("BERTH_LAYER_BENCH_DIR")) {
    src = real;
    int64_t bytes = 0;
    for (const auto& [p, n] : scan(src)) bytes += S_ISREG(n.mode) ? static_cast<int64_t>(n.data.size()) : 0;
    mib = static_cast<double>(bytes) / (1 << 20);
  } else {
    std::string chunk(1 << 20, '\0');
    unsigned seed = 42;
    for (int f = 0; f < 100; ++f) {
      for (size_t i = 0; i < chunk.size(); ++i) {
        seed = seed * 1103515245 + 12345;
        chunk[i] = static_cast<char>((seed >> 16) % 64 + ' ');  // text-like, compressible
      }
      put(fmt::format("{}/d{}/file{}", src, f % 10, f), chunk);
    }
  }
  for (auto compression : {oci::Compression::None, oci::Compression::Gzip, oci::Compression::Zstd}) {
    auto start = std::chrono::steady_clock::now();
    auto blob = write_layer(src, DiffSource::FullTree, *content_, compression);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(blob) << blob.error().what();
    std::printf("%-45s %.0f MiB in %.2f s: %.0f MiB/s, blob %.1f MiB\n", blob->media_type.c_str(), mib, secs,
                mib / secs, static_cast<double>(blob->size) / (1 << 20));
  }
}

}  // namespace
}  // namespace berth::image
