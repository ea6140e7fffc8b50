#include "image/unpack.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/strings.h"
#include "image/tar_builder.h"

namespace berth::image {
namespace {

using testing::Compression;
using testing::TarBuilder;

struct Layer {
  oci::Descriptor desc;
  Digest diff_id;
};

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-unpack-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto store = open_local_content_store(root_);
    ASSERT_TRUE(store.has_value()) << store.error().what();
    content_ = std::move(*store);
    auto snaps = open_copy_snapshotter(root_);
    ASSERT_TRUE(snaps.has_value()) << snaps.error().what();
    snapshots_ = std::move(*snaps);
  }
  void TearDown() override {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
    (void)remove_all(root_);
  }

  Layer put(const TarBuilder& b, Compression c = Compression::Gzip) {
    std::string bytes = b.build(c);
    auto info = content_->put(bytes);
    EXPECT_TRUE(info.has_value()) << info.error().what();
    Layer l;
    l.desc.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    l.desc.digest = info->digest;
    l.desc.size = info->size;
    l.diff_id = sha256_of(testing::decompress(bytes));
    return l;
  }
  static std::pair<oci::Manifest, oci::ImageConfig> image(const std::vector<Layer>& layers) {
    oci::Manifest m;
    oci::ImageConfig c;
    for (const auto& l : layers) {
      m.layers.push_back(l.desc);
      c.diff_ids.push_back(l.diff_id);
    }
    return {m, c};
  }
  Result<std::string> unpack(const std::vector<Layer>& layers) {
    auto [m, c] = image(layers);
    UnpackOptions opts;
    opts.progress = [this](const ProgressEvent& ev) {
      std::lock_guard lock(mu_);
      events_.push_back(ev);
    };
    return unpack_image(*content_, *snapshots_, m, c, opts);
  }
  // The tree of committed snapshot key, through a view (the copy snapshotter binds a full tree).
  std::string tree(const std::string& key) {
    auto mounts = snapshots_->view("view-" + key, key);
    EXPECT_TRUE(mounts.has_value());
    return mounts ? (*mounts)[0].source : "";
  }
  std::vector<std::string> keys() {
    std::vector<std::string> out;
    auto all = snapshots_->list();
    EXPECT_TRUE(all.has_value());
    if (all) {
      for (const auto& i : *all) out.push_back(i.key);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string root_, mounted_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<Snapshotter> snapshots_;
  std::mutex mu_;
  std::vector<ProgressEvent> events_;
};

TEST_F(UnpackTest, TwoLayersWithWhiteout) {
  Layer l1 = put(TarBuilder().dir("etc").file("etc/hosts", "h").file("etc/old", "o"));
  Layer l2 = put(TarBuilder().file("etc/.wh.old", "").file("etc/new", "n"), Compression::Zstd);
  auto top = unpack({l1, l2});
  ASSERT_TRUE(top.has_value()) << top.error().what();
  std::vector<Digest> chains = oci::chain_ids({l1.diff_id, l2.diff_id});
  EXPECT_EQ(*top, chains[1].to_string());
  auto info = snapshots_->stat(*top);
  ASSERT_TRUE(info.has_value() && info->has_value());
  EXPECT_EQ((*info)->parent, chains[0].to_string());
  EXPECT_EQ((*info)->kind, SnapshotKind::Committed);

  std::string fs = tree(*top);
  EXPECT_EQ(*read_file(fs + "/etc/hosts"), "h");
  EXPECT_EQ(*read_file(fs + "/etc/new"), "n");
  EXPECT_FALSE(path_exists(fs + "/etc/old"));

  ASSERT_EQ(events_.size(), 4u);
  EXPECT_EQ(events_[0].id, l1.desc.digest.hex.substr(0, 12));
  EXPECT_EQ(events_[0].phase, ProgressPhase::Extracting);
  EXPECT_EQ(events_[1].phase, ProgressPhase::PullComplete);

  // Idempotent: a second unpack finds both layers.
  events_.clear();
  ASSERT_EQ(*unpack({l1, l2}), *top);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].phase, ProgressPhase::AlreadyExists);
}

TEST_F(UnpackTest, SharedBaseLayerIsUnpackedOnce) {
  Layer base = put(TarBuilder().file("base", "b"));
  Layer a = put(TarBuilder().file("a", "a"));
  Layer b = put(TarBuilder().file("b", "b"));
  ASSERT_TRUE(unpack({base, a}).has_value());
  events_.clear();
  auto top = unpack({base, b});
  ASSERT_TRUE(top.has_value()) << top.error().what();
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].phase, ProgressPhase::AlreadyExists);
  EXPECT_EQ(events_[0].id, base.desc.digest.hex.substr(0, 12));
  EXPECT_EQ(keys().size(), 3u);
  std::string fs = tree(*top);
  EXPECT_TRUE(path_exists(fs + "/base"));
  EXPECT_TRUE(path_exists(fs + "/b"));
  EXPECT_FALSE(path_exists(fs + "/a"));
}

TEST_F(UnpackTest, WrongDiffIdFailsAndLeavesNoExtractSnapshot) {
  Layer l1 = put(TarBuilder().file("one", "1"));
  Layer l2 = put(TarBuilder().file("two", "2"));
  l2.diff_id = sha256_of("something else");
  auto r = unpack({l1, l2});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what().find("layer " + l2.desc.digest.to_string() + ": diff ID mismatch"), std::string::npos)
      << r.error().what();
  for (const auto& k : keys()) EXPECT_FALSE(starts_with(k, "extract-")) << k;
  EXPECT_EQ(keys().size(), 1u);  // the good first layer stays committed
}

TEST_F(UnpackTest, LayerCountMustMatchDiffIds) {
  Layer l1 = put(TarBuilder().file("one", "1"));
  auto [m, c] = image({l1});
  c.diff_ids.push_back(l1.diff_id);
  auto r = unpack_image(*content_, *snapshots_, m, c, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
}

TEST_F(UnpackTest, OverlaySnapshotterUnpacksAndMounts) {
  auto overlay = open_overlay_snapshotter(root_ + "/ov");
  if (!overlay) GTEST_SKIP() << overlay.error().what();
  snapshots_ = std::move(*overlay);
  Layer l1 = put(TarBuilder().dir("d").file("d/x", "x").file("d/y", "y"));
  Layer l2 = put(TarBuilder().file("d/.wh.x", "").file("z", "z"));
  auto top = unpack({l1, l2});
  ASSERT_TRUE(top.has_value()) << top.error().what();
  auto mounts = snapshots_->view("v", *top);
  ASSERT_TRUE(mounts.has_value());
  mounted_ = root_ + "/mnt";
  ASSERT_EQ(::mkdir(mounted_.c_str(), 0755), 0);
  std::string data = join((*mounts)[0].options, ",");
  ASSERT_EQ(::mount("overlay", mounted_.c_str(), "overlay", MS_RDONLY, data.c_str()), 0) << data;
  EXPECT_FALSE(path_exists(mounted_ + "/d/x"));
  EXPECT_EQ(*read_file(mounted_ + "/d/y"), "y");
  EXPECT_EQ(*read_file(mounted_ + "/z"), "z");
}

}  // namespace
}  // namespace berth::image
