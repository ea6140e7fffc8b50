// push_image and pull_image against a real registry: a round trip between two content stores,
// platform resolution through an index, progress events, and resuming from the store.
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "image/pull.h"
#include "registry_fixture.h"

namespace berth::image {
namespace {

using testing::RegistryFixture;
using testing::TestImage;

// Records the last phase seen per layer id, thread safe.
struct ProgressLog {
  std::mutex mu;
  std::map<std::string, std::vector<ProgressPhase>> phases;
  ProgressSink sink() {
    return [this](const ProgressEvent& e) {
      std::lock_guard lock(mu);
      auto& v = phases[e.id];
      if (v.empty() || v.back() != e.phase) v.push_back(e.phase);
    };
  }
  bool saw(const Digest& d, ProgressPhase p) {
    std::lock_guard lock(mu);
    for (auto x : phases[d.hex.substr(0, 12)])
      if (x == p) return true;
    return false;
  }
};

class PullTest : public RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    auto other = open_local_content_store(dir_ + "/pulled");
    ASSERT_TRUE(other.has_value()) << other.error().what();
    pulled_ = std::move(*other);
  }
  void TearDown() override {
    pulled_.reset();
    RegistryFixture::TearDown();
  }

  Digest push(const TestImage& img, const oci::ImageReference& r, ProgressLog* log = nullptr) {
    auto c = client();
    PushOptions opts;
    if (log) opts.progress = log->sink();
    auto d = push_image(*c, *content_, r, img.manifest, opts);
    EXPECT_TRUE(d.has_value()) << d.error().what();
    return d.value_or(Digest{});
  }

  std::unique_ptr<ContentStore> pulled_;
};

TEST_F(PullTest, PushThenPullRoundTripsEveryBlob) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  TestImage img = testing::make_image(*content_, oci::host_platform(),
                                      {std::string(400000, 'a'), "second layer", "third"});
  ProgressLog push_log;
  EXPECT_EQ(push(img, ref("app"), &push_log), img.manifest.digest);
  for (const auto& l : img.layers) EXPECT_TRUE(push_log.saw(l.digest, ProgressPhase::Pushed));

  // A second push finds every layer there.
  ProgressLog again;
  EXPECT_EQ(push(img, ref("app", "2"), &again), img.manifest.digest);
  for (const auto& l : img.layers) EXPECT_TRUE(again.saw(l.digest, ProgressPhase::LayerExists));

  auto c = client();
  ProgressLog log;
  PullOptions opts;
  opts.progress = log.sink();
  opts.max_concurrent = 2;
  auto pulled = pull_image(*c, *pulled_, ref("app"), opts);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().what();
  EXPECT_EQ(pulled->target.digest, img.manifest.digest);
  EXPECT_EQ(pulled->manifest.digest, img.manifest.digest);
  EXPECT_EQ(pulled->config_digest, img.config.digest);
  EXPECT_EQ(pulled->parsed_manifest.layers.size(), 3u);
  EXPECT_EQ(pulled->config.config.cmd, std::vector<std::string>{"/bin/sh"});
  for (const auto& l : img.layers) {
    EXPECT_EQ(pulled_->read(l.digest).value_or("?"), content_->read(l.digest).value_or("!"));
    EXPECT_TRUE(log.saw(l.digest, ProgressPhase::Waiting));
    EXPECT_TRUE(log.saw(l.digest, ProgressPhase::Downloading));
    EXPECT_TRUE(log.saw(l.digest, ProgressPhase::DownloadComplete));
  }
  EXPECT_TRUE(pulled_->stat(img.manifest.digest).value_or(std::nullopt).has_value());

  // Pulling again finds everything in the store.
  ProgressLog second;
  opts.progress = second.sink();
  ASSERT_TRUE(pull_image(*c, *pulled_, ref("app"), opts).has_value());
  for (const auto& l : img.layers) EXPECT_TRUE(second.saw(l.digest, ProgressPhase::AlreadyExists));
}

TEST_F(PullTest, UnknownTagNamesTheReference) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto r = pull_image(*c, *pulled_, ref("app"), PullOptions{});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().what(), "pull " + host() + "/app:1: manifest unknown");
}

class IndexPullTest : public PullTest {
 protected:
  // Pushes a host image and a ppc64le image under one index tagged "multi".
  void push_index() {
    oci::Platform other{"ppc64le", "linux", "", "", {}};
    host_img_ = testing::make_image(*content_, oci::host_platform(), {"host layer"});
    TestImage other_img = testing::make_image(*content_, other, {"ppc layer"});
    push(host_img_, oci::ImageReference{host(), "multi", "", host_img_.manifest.digest.to_string()});
    push(other_img, oci::ImageReference{host(), "multi", "", other_img.manifest.digest.to_string()});
    auto entry = [](const TestImage& img, const oci::Platform& p) {
      nlohmann::json plat = {{"architecture", p.architecture}, {"os", p.os}};
      if (!p.variant.empty()) plat["variant"] = p.variant;
      return nlohmann::json{{"mediaType", img.manifest.media_type},
                            {"digest", img.manifest.digest.to_string()},
                            {"size", img.manifest.size},
                            {"platform", plat}};
    };
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", oci::media_type::kOciIndex},
                            {"manifests", {entry(other_img, other), entry(host_img_, oci::host_platform())}}};
    index_bytes_ = index.dump();
    auto c = client();
    auto d = c->put_manifest(ref("multi"), "latest", std::string(oci::media_type::kOciIndex), index_bytes_);
    ASSERT_TRUE(d.has_value()) << d.error().what();
  }
  TestImage host_img_;
  std::string index_bytes_;
};

TEST_F(IndexPullTest, IndexResolvesToTheHostPlatform) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  ASSERT_NO_FATAL_FAILURE(push_index());
  auto c = client();
  auto pulled = pull_image(*c, *pulled_, ref("multi", "latest"), PullOptions{});
  ASSERT_TRUE(pulled.has_value()) << pulled.error().what();
  EXPECT_EQ(pulled->target.digest, sha256_of(index_bytes_));
  EXPECT_EQ(pulled->target.media_type, oci::media_type::kOciIndex);
  EXPECT_EQ(pulled->manifest.digest, host_img_.manifest.digest);
  EXPECT_EQ(pulled->config_digest, host_img_.config.digest);
  EXPECT_TRUE(pulled_->stat(sha256_of(index_bytes_)).value_or(std::nullopt).has_value());
}

TEST_F(IndexPullTest, MissingPlatformIsAnErrorLikeDockers) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  ASSERT_NO_FATAL_FAILURE(push_index());
  auto c = client();
  PullOptions opts;
  opts.platform = oci::Platform{"arm64", "linux", "v8", "", {}};
  if (oci::platform_matches(opts.platform, oci::host_platform())) opts.platform.architecture = "s390x";
  auto pulled = pull_image(*c, *pulled_, ref("multi", "latest"), opts);
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code(), ErrorCode::NotFound);
  EXPECT_NE(pulled.error().what().find("no matching manifest for " + opts.platform.to_string() +
                                       " in the manifest list entries"),
            std::string::npos)
      << pulled.error().what();
}

}  // namespace
}  // namespace berth::image
