// The contract every Snapshotter keeps, run for each implementation (containerd's snapshotter
// test suite, in spirit): chains of layers applied with layer apply, and the returned mounts
// really mounted and read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "image/layer_apply.h"
#include "image/snapshotter.h"
#include "image/tar_builder.h"

namespace berth::image {
namespace {

using testing::memfd_with;
using testing::TarBuilder;

struct OverlayKind {
  static Result<std::unique_ptr<Snapshotter>> open(const std::string& root) { return open_overlay_snapshotter(root); }
};
struct CopyKind {
  static Result<std::unique_ptr<Snapshotter>> open(const std::string& root) { return open_copy_snapshotter(root); }
};

template <class Kind>
class SnapshotterConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-snap-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto s = Kind::open(root_);
    if (!s && s.error().code() == ErrorCode::Unavailable) GTEST_SKIP() << s.error().what();
    ASSERT_TRUE(s.has_value()) << s.error().what();
    sn_ = std::move(*s);
  }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    (void)remove_all(root_);
  }

  void apply(const std::string& key, const TarBuilder& layer) {
    auto dir = sn_->apply_dir(key);
    ASSERT_TRUE(dir.has_value()) << dir.error().what();
    ApplyOptions opts;
    opts.layer_name = key;
    opts.whiteouts = sn_->whiteout_format();
    UniqueFd fd = memfd_with(layer.build());
    auto r = apply_layer(fd.get(), *dir, opts);
    ASSERT_TRUE(r.has_value()) << r.error().what();
  }

  // Mounts what the snapshotter returned on a fresh dir, as the engine would.
  std::string mount(const std::vector<oci::Mount>& mounts) {
    std::string target = root_ + "/mnt" + std::to_string(++mount_count_);
    EXPECT_EQ(::mkdir(target.c_str(), 0755), 0);
    for (const auto& m : mounts) {
      bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
      if (m.type == "bind") {
        EXPECT_EQ(::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0) << m.source;
        if (ro) {
          EXPECT_EQ(::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0);
        }
      } else {
        EXPECT_EQ(m.type, "overlay");
        std::string data = join(m.options, ",");
        EXPECT_EQ(::mount(m.source.c_str(), target.c_str(), "overlay", 0, data.c_str()), 0) << data;
      }
    }
    mounted_.push_back(target);
    return target;
  }
  void unmount(const std::string& target) {
    EXPECT_EQ(::umount2(target.c_str(), 0), 0);
    mounted_.erase(std::remove(mounted_.begin(), mounted_.end(), target), mounted_.end());
  }
  static std::string read(const std::string& path) {
    auto r = read_file(path);
    return r ? *r : "<missing>";
  }
  static bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  // base layer "l1", then "l2" on top: l2 deletes gone, makes opq opaque, adds etc/new.
  void make_chain() {
    ASSERT_TRUE(sn_->prepare("extract-1", "").has_value());
    apply("extract-1", TarBuilder()
                           .dir("etc")
                           .file("etc/hosts", "127.0.0.1 localhost\n")
                           .file("gone", "bye")
                           .dir("opq")
                           .file("opq/lower", "l")
                           .file("big", std::string(4000, 'b')));
    ASSERT_TRUE(sn_->commit("l1", "extract-1").has_value());
    ASSERT_TRUE(sn_->prepare("extract-2", "l1").has_value());
    apply("extract-2", TarBuilder()
                           .dir("etc")
                           .file("etc/new", "new")
                           .file(".wh.gone", "")
                           .dir("opq")
                           .file("opq/.wh..wh..opq", "")
                           .file("opq/upper", "u"));
    ASSERT_TRUE(sn_->commit("l2", "extract-2").has_value());
  }

  std::string root_;
  std::unique_ptr<Snapshotter> sn_;
  std::vector<std::string> mounted_;
  int mount_count_ = 0;
};

using Kinds = ::testing::Types<OverlayKind, CopyKind>;
TYPED_TEST_SUITE(SnapshotterConformance, Kinds);

TYPED_TEST(SnapshotterConformance, ViewOfChainShowsLayersAndHidesWhiteouts) {
  this->make_chain();
  auto mounts = this->sn_->view("view", "l2");
  ASSERT_TRUE(mounts.has_value()) << mounts.error().what();
  std::string m = this->mount(*mounts);
  EXPECT_EQ(this->read(m + "/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(this->read(m + "/etc/new"), "new");
  EXPECT_FALSE(this->exists(m + "/gone"));
  EXPECT_FALSE(this->exists(m + "/opq/lower"));
  EXPECT_EQ(this->read(m + "/opq/upper"), "u");
  EXPECT_FALSE(write_file(m + "/etc/x", "x").has_value());  // read-only
  this->unmount(m);

  auto one = this->sn_->view("view-1", "l1");
  ASSERT_TRUE(one.has_value()) << one.error().what();
  m = this->mount(*one);
  EXPECT_EQ(this->read(m + "/gone"), "bye");
  this->unmount(m);
}

TYPED_TEST(SnapshotterConformance, ActiveSnapshotIsWritableAndKeepsWritesInItsOwnLayer) {
  this->make_chain();
  ASSERT_TRUE(this->sn_->prepare("ctr", "l2", {{"purpose", "container"}}).has_value());
  auto mounts = this->sn_->mounts("ctr");
  ASSERT_TRUE(mounts.has_value()) << mounts.error().what();
  std::string m = this->mount(*mounts);
  EXPECT_EQ(this->read(m + "/etc/hosts"), "127.0.0.1 localhost\n");
  ASSERT_TRUE(write_file(m + "/etc/written", "w").has_value());
  this->unmount(m);
  auto dir = this->sn_->apply_dir("ctr");
  ASSERT_TRUE(dir.has_value());
  EXPECT_EQ(this->read(*dir + "/etc/written"), "w");

  auto l1 = this->sn_->view("check", "l1");
  ASSERT_TRUE(l1.has_value());
  m = this->mount(*l1);
  EXPECT_FALSE(this->exists(m + "/etc/written"));
  this->unmount(m);

  auto info = this->sn_->stat("ctr");
  ASSERT_TRUE(info.has_value() && info->has_value());
  EXPECT_EQ((*info)->labels.at("purpose"), "container");
}

TYPED_TEST(SnapshotterConformance, BaseSnapshotMountsAsBind) {
  auto mounts = this->sn_->prepare("base", "");
  ASSERT_TRUE(mounts.has_value()) << mounts.error().what();
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].type, "bind");
  std::string m = this->mount(*mounts);
  ASSERT_TRUE(write_file(m + "/f", "f").has_value());
  this->unmount(m);
  EXPECT_EQ(this->read(*this->sn_->apply_dir("base") + "/f"), "f");
}

TYPED_TEST(SnapshotterConformance, StatAndList) {
  this->make_chain();
  auto l2 = this->sn_->stat("l2");
  ASSERT_TRUE(l2.has_value() && l2->has_value());
  EXPECT_EQ((*l2)->parent, "l1");
  EXPECT_EQ((*l2)->kind, SnapshotKind::Committed);
  EXPECT_FALSE((*l2)->created.empty());
  auto missing = this->sn_->stat("extract-1");  // committed away
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(this->sn_->prepare("active", "l2").has_value());
  auto all = this->sn_->list();
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> keys;
  for (const auto& i : *all) keys.push_back(i.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"active", "l1", "l2"}));
  auto usage = this->sn_->usage("l1");
  ASSERT_TRUE(usage.has_value()) << usage.error().what();
  EXPECT_GE(usage->size, 4000);
  EXPECT_GE(usage->inodes, 6);
}

TYPED_TEST(SnapshotterConformance, Errors) {
  this->make_chain();
  ASSERT_TRUE(this->sn_->prepare("a", "l2").has_value());
  EXPECT_EQ(this->sn_->prepare("a", "l2").error().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(this->sn_->prepare("b", "nope").error().code(), ErrorCode::NotFound);
  EXPECT_EQ(this->sn_->prepare("b", "a").error().code(), ErrorCode::NotFound);  // parent not committed
  EXPECT_EQ(this->sn_->commit("l1", "a").error().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(this->sn_->commit("x", "nope").error().code(), ErrorCode::NotFound);
  EXPECT_EQ(this->sn_->remove("nope").error().code(), ErrorCode::NotFound);
  EXPECT_EQ(this->sn_->mounts("nope").error().code(), ErrorCode::NotFound);
  EXPECT_FALSE(this->sn_->apply_dir("l1").has_value());  // committed: read-only
  ASSERT_TRUE(this->sn_->view("v", "l2").has_value());
  EXPECT_FALSE(this->sn_->commit("vv", "v").has_value());  // views never become layers
}

TYPED_TEST(SnapshotterConformance, RemoveRefusesParentsWithChildren) {
  this->make_chain();
  ASSERT_TRUE(this->sn_->prepare("a", "l2").has_value());
  EXPECT_EQ(this->sn_->remove("l1").error().code(), ErrorCode::Conflict);
  EXPECT_EQ(this->sn_->remove("l2").error().code(), ErrorCode::Conflict);
  ASSERT_TRUE(this->sn_->remove("a").has_value());
  ASSERT_TRUE(this->sn_->remove("l2").has_value());
  ASSERT_TRUE(this->sn_->remove("l1").has_value());
  auto all = this->sn_->list();
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->empty());
}

TYPED_TEST(SnapshotterConformance, CleanupRemovesHalfMadeSnapshots) {
  ASSERT_TRUE(make_dirs(this->root_ + "/snapshots/tmp-deadbeef/fs/usr").has_value());
  ASSERT_TRUE(this->sn_->prepare("kept", "").has_value());
  auto n = this->sn_->cleanup();
  ASSERT_TRUE(n.has_value()) << n.error().what();
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(this->exists(this->root_ + "/snapshots/tmp-deadbeef"));
  EXPECT_TRUE(this->sn_->stat("kept")->has_value());
}

TEST(SnapshotterIds, ManyLayersFitInOneOverlayOption) {
  char tmpl[] = "/tmp/berth-snap-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  auto s = open_overlay_snapshotter(root);
  if (!s) {
    (void)remove_all(root);
    GTEST_SKIP() << s.error().what();
  }
  std::string parent;
  for (int i = 0; i < 40; ++i) {
    std::string key = "sha256:" + std::string(64, static_cast<char>('a' + i % 6)) + std::to_string(i);
    ASSERT_TRUE((*s)->prepare("x", parent).has_value());
    ASSERT_TRUE((*s)->commit(key, "x").has_value());
    parent = key;
  }
  auto mounts = (*s)->prepare("top", parent);
  ASSERT_TRUE(mounts.has_value());
  size_t total = 0;
  for (const auto& o : (*mounts)[0].options) total += o.size() + 1;
  EXPECT_LT(total, 4096u);
  (void)remove_all(root);
}

}  // namespace
}  // namespace berth::image
