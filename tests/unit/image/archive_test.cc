#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "image/archive.h"
#include "image/tar_writer.h"

namespace berth::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A file entry ({path, data}), a directory (data "<dir>"), or a symlink (data "-> target").
using Entries = std::vector<std::pair<std::string, std::string>>;

UniqueFd memfd() {
  UniqueFd fd(::memfd_create("archive-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd) << "memfd_create failed";
  return fd;
}

std::string read_back(int fd) {
  EXPECT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  auto data = read_all(fd);
  EXPECT_TRUE(data.has_value());
  return data.has_value() ? *data : "";
}

UniqueFd fd_with(std::string_view data) {
  UniqueFd fd = memfd();
  EXPECT_TRUE(write_all(fd.get(), data).has_value());
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  return fd;
}

std::string make_tar(const Entries& entries, oci::Compression c = oci::Compression::None) {
  UniqueFd fd = memfd();
  auto w = TarWriter::open(fd.get(), c);
  EXPECT_TRUE(w.has_value()) << w.error().what();
  for (const auto& [path, data] : entries) {
    Result<void> r;
    if (data == "<dir>") {
      r = w->add_dir(path);
    } else if (data.starts_with("-> ")) {
      r = w->add_symlink(path, data.substr(3));
    } else {
      r = w->add_file(path, data);
    }
    EXPECT_TRUE(r.has_value()) << r.error().what();
  }
  auto r = w->close();
  EXPECT_TRUE(r.has_value()) << r.error().what();
  return read_back(fd.get());
}

// Names of the entries of a tar, in order.
std::vector<std::string> tar_names(const std::string& data) {
  std::vector<std::string> names;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, data.data(), data.size()), ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    names.push_back(archive_entry_pathname(e));
    EXPECT_EQ(archive_entry_mtime(e), 0);
    EXPECT_EQ(archive_entry_uid(e), 0);
  }
  archive_read_free(a);
  return names;
}

std::string tar_file(const std::string& data, const std::string& name) {
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, data.data(), data.size()), ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  std::string out;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (name != archive_entry_pathname(e)) continue;
    out.resize(static_cast<size_t>(archive_entry_size(e)));
    archive_read_data(a, out.data(), out.size());
  }
  archive_read_free(a);
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-archive-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = fresh_store("a");
  }
  void TearDown() override { (void)remove_all(dir_); }

  std::unique_ptr<ContentStore> fresh_store(const std::string& name) {
    auto s = open_local_content_store(dir_ + "/" + name);
    EXPECT_TRUE(s.has_value()) << s.error().what();
    return s.has_value() ? std::move(*s) : nullptr;
  }

  Result<std::vector<ArchiveImage>> load(const std::string& bytes, ContentStore* store = nullptr,
                                         LoadOptions options = {}) {
    UniqueFd fd = fd_with(bytes);
    return load_archive(fd.get(), store ? *store : *store_, options);
  }

  std::string error_of(const std::string& bytes) {
    auto r = load(bytes);
    if (r.has_value()) {
      ADD_FAILURE() << "archive was accepted";
      return "";
    }
    return r.error().what();
  }

  oci::Manifest manifest_of(const ArchiveImage& img, ContentStore* store = nullptr) {
    auto bytes = (store ? *store : *store_).read(img.manifest.digest);
    EXPECT_TRUE(bytes.has_value());
    auto m = oci::parse_manifest(bytes.has_value() ? *bytes : "");
    EXPECT_TRUE(m.has_value()) << m.error().what();
    return m.has_value() ? *m : oci::Manifest{};
  }

  std::string dir_;
  std::unique_ptr<ContentStore> store_;
};

const Entries kRootfs = {{"bin", "<dir>"},
                         {"bin/hello", "#!/bin/sh\necho hello\n"},
                         {"etc", "<dir>"},
                         {"etc/os-release", "ID=test\n"},
                         {"sh", "-> bin/hello"}};

std::string config_json(const std::vector<Digest>& diff_ids) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& d : diff_ids) ids.push_back(d.to_string());
  oci::Platform host = oci::host_platform();
  nlohmann::json j = {{"architecture", host.architecture},
                      {"os", host.os},
                      {"config", {{"Cmd", {"/bin/sh"}}}},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", ids}}}};
  return j.dump();
}

// A `docker save` archive as Docker 20.10 writes it: <id>/layer.tar, <config hex>.json,
// manifest.json, repositories. The second layer is a symlink to the first, as Docker writes
// layers shared between images.
struct LegacyArchive {
  std::string layer = make_tar(kRootfs);
  std::string config;
  std::string layer_dir = std::string(64, 'a');
  std::string link_dir = std::string(64, 'b');

  std::string build(std::string layer_bytes, std::vector<Digest> diff_ids,
                    oci::Compression outer = oci::Compression::None) {
    config = config_json(diff_ids);
    std::string config_name = sha256_of(config).hex + ".json";
    nlohmann::json manifest = nlohmann::json::array(
        {{{"Config", config_name},
          {"RepoTags", {"busybox:latest"}},
          {"Layers", {layer_dir + "/layer.tar", link_dir + "/layer.tar"}}}});
    return make_tar({{layer_dir, "<dir>"},
                     {layer_dir + "/VERSION", "1.0"},
                     {layer_dir + "/json", "{}"},
                     {layer_dir + "/layer.tar", layer_bytes},
                     {link_dir, "<dir>"},
                     {link_dir + "/layer.tar", "-> ../" + layer_dir + "/layer.tar"},
                     {config_name, config},
                     {"manifest.json", manifest.dump()},
                     {"repositories", R"({"busybox":{"latest":"x"}})"}},
                    outer);
  }
  std::string build() { return build(layer, {sha256_of(layer), sha256_of(layer)}); }
};

TEST_F(ArchiveTest, ImportSaveLoadRoundTrip) {
  UniqueFd rootfs = fd_with(make_tar(kRootfs, oci::Compression::Gzip));
  ImportOptions opts;
  opts.changes = {"CMD [\"/bin/hello\"]", "ENV A=b"};
  opts.message = "test import";
  auto imported = import_rootfs(rootfs.get(), *store_, opts);
  ASSERT_TRUE(imported.has_value()) << imported.error().what();
  EXPECT_TRUE(imported->repo_tags.empty());
  EXPECT_EQ(imported->manifest.media_type, oci::media_type::kDockerManifest);

  oci::Manifest m = manifest_of(*imported);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, oci::media_type::kDockerLayerGzip);
  EXPECT_EQ(m.config.digest, imported->config_digest);
  auto config = oci::parse_image_config(*store_->read(imported->config_digest));
  ASSERT_TRUE(config.has_value()) << config.error().what();
  EXPECT_THAT(config->diff_ids, ElementsAre(sha256_of(make_tar(kRootfs))));
  EXPECT_THAT(config->config.cmd, ElementsAre("/bin/hello"));
  EXPECT_THAT(config->config.env, ElementsAre("A=b"));
  EXPECT_EQ(config->architecture, oci::host_platform().architecture);
  ASSERT_EQ(config->history.size(), 1u);
  EXPECT_EQ(config->history[0].comment, "test import");
  EXPECT_THAT(config->created, StartsWith("20"));

  ArchiveImage named = *imported;
  named.repo_tags = {"docker.io/library/test:1.0", "docker.io/example/app:latest"};
  UniqueFd out = memfd();
  auto saved = save_archive(out.get(), *store_, {named});
  ASSERT_TRUE(saved.has_value()) << saved.error().what();
  std::string archive = read_back(out.get());

  std::string hex_m = imported->manifest.digest.hex, hex_c = imported->config_digest.hex,
              hex_l = m.layers[0].digest.hex;
  std::vector<std::string> blobs = {"blobs/sha256/" + hex_m, "blobs/sha256/" + hex_c,
                                    "blobs/sha256/" + hex_l};
  std::sort(blobs.begin(), blobs.end());
  EXPECT_THAT(tar_names(archive),
              ElementsAre("blobs/", "blobs/sha256/", blobs[0], blobs[1], blobs[2], "index.json",
                          "manifest.json", "oci-layout", "repositories"));
  auto manifest_json = nlohmann::json::parse(tar_file(archive, "manifest.json"));
  EXPECT_EQ(manifest_json[0]["Config"], "blobs/sha256/" + hex_c);
  EXPECT_EQ(manifest_json[0]["RepoTags"], nlohmann::json({"test:1.0", "example/app:latest"}));
  EXPECT_EQ(manifest_json[0]["Layers"], nlohmann::json({"blobs/sha256/" + hex_l}));
  EXPECT_EQ(nlohmann::json::parse(tar_file(archive, "repositories")),
            nlohmann::json({{"test", {{"1.0", hex_c}}}, {"example/app", {{"latest", hex_c}}}}));
  auto index = oci::parse_index(tar_file(archive, "index.json"));
  ASSERT_TRUE(index.has_value());
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[0].annotations.at("io.containerd.image.name"),
            "docker.io/library/test:1.0");
  EXPECT_EQ(index->manifests[0].annotations.at("org.opencontainers.image.ref.name"), "1.0");
  EXPECT_EQ(tar_file(archive, "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");

  // Deterministic: the same images give the same bytes.
  UniqueFd again = memfd();
  ASSERT_TRUE(save_archive(again.get(), *store_, {named}).has_value());
  EXPECT_EQ(read_back(again.get()), archive);

  auto fresh = fresh_store("b");
  auto loaded = load(archive, fresh.get());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().what();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].manifest.digest, imported->manifest.digest);
  EXPECT_EQ((*loaded)[0].manifest.media_type, oci::media_type::kDockerManifest);
  EXPECT_EQ((*loaded)[0].config_digest, imported->config_digest);
  EXPECT_EQ((*loaded)[0].repo_tags, named.repo_tags);
  EXPECT_EQ(*fresh->read(imported->config_digest), *store_->read(imported->config_digest));
  EXPECT_TRUE(fresh->stat(m.layers[0].digest)->has_value());
}

TEST_F(ArchiveTest, SaveUntaggedImageHasNoAnnotations) {
  UniqueFd rootfs = fd_with(make_tar(kRootfs));
  auto imported = import_rootfs(rootfs.get(), *store_, {});
  ASSERT_TRUE(imported.has_value()) << imported.error().what();
  UniqueFd out = memfd();
  ASSERT_TRUE(save_archive(out.get(), *store_, {*imported}).has_value());
  std::string archive = read_back(out.get());
  auto index = oci::parse_index(tar_file(archive, "index.json"));
  ASSERT_TRUE(index.has_value());
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_TRUE(index->manifests[0].annotations.empty());
  auto loaded = load(archive, fresh_store("b").get());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().what();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE((*loaded)[0].repo_tags.empty());
}

TEST_F(ArchiveTest, ImportRejectsNonTarAndAppliesBadChangesFirst) {
  UniqueFd text = fd_with(std::string(2000, 'x'));
  auto r = import_rootfs(text.get(), *store_, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().what(), HasSubstr("not a tar archive"));
  UniqueFd empty = fd_with("");
  r = import_rootfs(empty.get(), *store_, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().what(), HasSubstr("empty input"));
  UniqueFd rootfs = fd_with(make_tar(kRootfs));
  ImportOptions opts;
  opts.changes = {"RUN x"};
  r = import_rootfs(rootfs.get(), *store_, opts);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().what(), HasSubstr("RUN is not a valid change instruction"));
}

TEST_F(ArchiveTest, LoadsDockerLegacyArchive) {
  LegacyArchive legacy;
  std::string archive = legacy.build();
  std::mutex mu;
  std::vector<ProgressEvent> events;
  LoadOptions options;
  options.progress = [&](const ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  };
  auto r = load(archive, nullptr, options);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->size(), 1u);
  const ArchiveImage& img = (*r)[0];
  EXPECT_THAT(img.repo_tags, ElementsAre("docker.io/library/busybox:latest"));
  EXPECT_EQ(img.config_digest, sha256_of(legacy.config));
  EXPECT_EQ(img.manifest.media_type, oci::media_type::kDockerManifest);
  oci::Manifest m = manifest_of(img);
  EXPECT_EQ(m.media_type, oci::media_type::kDockerManifest);
  EXPECT_EQ(m.config.media_type, oci::media_type::kDockerConfig);
  EXPECT_EQ(m.config.digest, sha256_of(legacy.config));
  ASSERT_EQ(m.layers.size(), 2u);
  for (const auto& l : m.layers) {
    EXPECT_EQ(l.media_type, oci::media_type::kDockerLayer);
    EXPECT_EQ(l.digest, sha256_of(legacy.layer));
    EXPECT_EQ(l.size, static_cast<int64_t>(legacy.layer.size()));
  }
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().id, std::string(12, 'a'));
  EXPECT_EQ(events.front().phase, ProgressPhase::Loading);
  EXPECT_EQ(events.back().phase, ProgressPhase::Loaded);
  // The per-layer v1 metadata is not stored.
  EXPECT_FALSE(store_->stat(sha256_of("{}"))->has_value());
}

TEST_F(ArchiveTest, LoadsGzipLayersAndCompressedArchives) {
  LegacyArchive legacy;
  std::string gz_layer = make_tar(kRootfs, oci::Compression::Gzip);
  std::string archive = legacy.build(gz_layer, {sha256_of(legacy.layer), sha256_of(legacy.layer)},
                                     oci::Compression::Gzip);
  auto r = load(archive);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->size(), 1u);
  oci::Manifest m = manifest_of((*r)[0]);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].media_type, oci::media_type::kDockerLayerGzip);
  EXPECT_EQ(m.layers[0].digest, sha256_of(gz_layer));

  std::string zst = legacy.build(legacy.layer, {sha256_of(legacy.layer), sha256_of(legacy.layer)},
                                 oci::Compression::Zstd);
  auto z = load(zst, fresh_store("z").get());
  ASSERT_TRUE(z.has_value()) << z.error().what();
  EXPECT_THAT((*z)[0].repo_tags, ElementsAre("docker.io/library/busybox:latest"));
}

TEST_F(ArchiveTest, LegacyDiffIdMismatchNamesTheEntry) {
  LegacyArchive legacy;
  std::string archive = legacy.build(legacy.layer, {sha256_of("other"), sha256_of(legacy.layer)});
  std::string err = error_of(archive);
  EXPECT_THAT(err, HasSubstr("manifest.json: archive entry \"" + legacy.layer_dir +
                             "/layer.tar\": content digest " + sha256_of(legacy.layer).to_string() +
                             " does not match rootfs.diff_ids[0] " + sha256_of("other").to_string()));
  err = error_of(legacy.build(legacy.layer, {sha256_of(legacy.layer)}));
  EXPECT_THAT(err, HasSubstr("lists 2 layers but its config"));
}

TEST_F(ArchiveTest, LegacyMissingFilesAreNamed) {
  std::string config = config_json({sha256_of("x")});
  std::string config_name = sha256_of(config).hex + ".json";
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", config_name}, {"RepoTags", nullptr}, {"Layers", {"abc/layer.tar"}}}});
  std::string err = error_of(make_tar({{config_name, config}, {"manifest.json", manifest.dump()}}));
  EXPECT_THAT(err, HasSubstr(R"(manifest.json: layer "abc/layer.tar" is not in the archive)"));
  err = error_of(make_tar({{"manifest.json", manifest.dump()}}));
  EXPECT_THAT(err, HasSubstr("manifest.json: config \"" + config_name + "\" is not in the archive"));
  err = error_of(make_tar({{"manifest.json", R"([{"Layers":[]}])"}}));
  EXPECT_THAT(err, HasSubstr("manifest.json: [0].Config: must be set"));
  err = error_of(make_tar({{"manifest.json", "{nope"}}));
  EXPECT_THAT(err, HasSubstr("manifest.json: line 1"));
}

oci::Descriptor desc(std::string_view media_type, const std::string& data) {
  oci::Descriptor d;
  d.media_type = media_type;
  d.digest = sha256_of(data);
  d.size = static_cast<int64_t>(data.size());
  return d;
}

// An OCI layout whose index.json points at a nested index with one manifest per platform.
struct OciLayout {
  std::string layer = make_tar(kRootfs, oci::Compression::Gzip);
  std::string config = config_json({sha256_of(make_tar(kRootfs))});
  std::string manifest, nested;

  std::string build(bool corrupt_layer = false) {
    oci::Manifest m;
    m.media_type = oci::media_type::kOciManifest;
    m.config = desc(oci::media_type::kOciConfig, config);
    m.layers = {desc(oci::media_type::kOciLayerGzip, layer)};
    manifest = oci::to_json(m);
    oci::Index idx;
    idx.media_type = oci::media_type::kOciIndex;
    oci::Descriptor other = desc(oci::media_type::kOciManifest, "absent");
    other.platform = oci::Platform{};
    other.platform->architecture = "s390x";
    other.platform->os = "linux";
    oci::Descriptor mine = desc(oci::media_type::kOciManifest, manifest);
    mine.platform = oci::host_platform();
    idx.manifests = {other, mine};
    nested = oci::to_json(idx);
    oci::Index top;
    top.media_type = oci::media_type::kOciIndex;
    oci::Descriptor d = desc(oci::media_type::kOciIndex, nested);
    d.annotations = {{"io.containerd.image.name", "example.com/app:2"},
                     {"org.opencontainers.image.ref.name", "2"}};
    oci::Descriptor bare = d;
    bare.annotations = {{"org.opencontainers.image.ref.name", "1.0"}};
    top.manifests = {d, bare};
    auto blob = [](const std::string& s) { return "blobs/sha256/" + sha256_of(s).hex; };
    return make_tar({{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                     {"index.json", oci::to_json(top)},
                     {blob(layer), corrupt_layer ? layer + "x" : layer},
                     {blob(config), config},
                     {blob(manifest), manifest},
                     {blob(nested), nested}});
  }
};

TEST_F(ArchiveTest, LoadsOciLayoutWithNestedIndex) {
  OciLayout layout;
  auto r = load(layout.build());
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].manifest.digest, sha256_of(layout.manifest));
  EXPECT_EQ((*r)[0].manifest.media_type, oci::media_type::kOciManifest);
  EXPECT_EQ((*r)[0].config_digest, sha256_of(layout.config));
  EXPECT_THAT((*r)[0].repo_tags, ElementsAre("example.com/app:2"));
}

TEST_F(ArchiveTest, OciBlobNotMatchingItsNameIsRejected) {
  OciLayout layout;
  std::string err = error_of(layout.build(/*corrupt_layer=*/true));
  EXPECT_THAT(err, HasSubstr("archive entry \"blobs/sha256/" + sha256_of(layout.layer).hex + "\""));
  err = error_of(make_tar({{"index.json", "{}"}, {"blobs/sha256/xyz", "1"}}));
  EXPECT_THAT(err, HasSubstr("archive entry \"blobs/sha256/xyz\""));
  err = error_of(make_tar({{"index.json", R"({"schemaVersion":2,"manifests":[{"mediaType":")" +
                                             std::string(oci::media_type::kOciManifest) +
                                             R"(","digest":")" + sha256_of("m").to_string() +
                                             R"(","size":1}]})"}}));
  EXPECT_THAT(err, HasSubstr("index.json: manifests[0]: blob " + sha256_of("m").to_string() +
                             " is not in the archive"));
}

TEST_F(ArchiveTest, RejectsGarbageTruncatedAndEscapingArchives) {
  const std::string kNot = "not a docker save archive or OCI layout: no manifest.json or index.json";
  EXPECT_THAT(error_of(std::string(4096, 'g')), HasSubstr(kNot));
  EXPECT_THAT(error_of(""), HasSubstr(kNot));
  EXPECT_THAT(error_of(make_tar({{"hello.txt", "hi"}})), HasSubstr(kNot));

  LegacyArchive legacy;
  std::string full = legacy.build();
  std::string err = error_of(full.substr(0, 2048));
  EXPECT_THAT(err, HasSubstr("archive entry"));

  EXPECT_THAT(error_of(make_tar({{"../evil", "x"}, {"manifest.json", "[]"}})),
              HasSubstr(R"(archive entry "../evil": path leaves the archive)"));
  EXPECT_THAT(error_of(make_tar({{"/etc/evil", "x"}})),
              HasSubstr(R"(archive entry "/etc/evil": path leaves the archive)"));
  EXPECT_THAT(error_of(make_tar({{"a/../../b", "x"}})), HasSubstr("path leaves the archive"));
  EXPECT_THAT(error_of(make_tar({{"link", "-> ../../etc/passwd"}})),
              HasSubstr(R"(archive entry "link": symlink target "../../etc/passwd" leaves)"));
}

TEST_F(ArchiveTest, EmptyManifestListLoadsNothing) {
  auto r = load(make_tar({{"manifest.json", "[]"}}));
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace berth::image
