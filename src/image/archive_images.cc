// Image assembly for `load`: turns the entries of a streamed archive into images. An OCI layout
// (index.json) names its manifests directly; a Docker save (manifest.json) names a config and
// layer files, from which a Docker schema2 manifest is built; Docker 25 archives have both, and
// manifest.json then only adds its RepoTags.
#include <map>
#include <string>
#include <vector>

#include "base/strings.h"
#include "image/archive_entries.h"
#include "oci/image_reference.h"
#include "oci/json_reader.h"

namespace berth::image::archive_detail {
namespace {

constexpr int kMaxIndexDepth = 4;
constexpr std::string_view kContainerdName = "io.containerd.image.name";
constexpr std::string_view kOciRefName = "org.opencontainers.image.ref.name";

// One element of Docker's manifest.json.
struct SaveManifestEntry {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

Result<void> read(const oci::jsonio::Json& j, const std::string& path, SaveManifestEntry& out) {
  if (!j.is_object()) return oci::jsonio::type_error(path, "an object", j);
  return oci::jsonio::ObjectReader(j, path)
      .required("Config", out.config)
      .field("RepoTags", out.repo_tags)
      .required("Layers", out.layers)
      .done();
}

std::string_view layer_media_type(oci::Compression c) {
  switch (c) {
    case oci::Compression::Gzip:
      return oci::media_type::kDockerLayerGzip;
    case oci::Compression::Zstd:
      return oci::media_type::kOciLayerZstd;
    case oci::Compression::None:
      break;
  }
  return oci::media_type::kDockerLayer;
}

class Assembler {
 public:
  Assembler(const ArchiveEntries& entries, ContentStore& content)
      : entries_(entries), content_(content), host_(oci::host_platform()) {}

  Result<std::vector<ArchiveImage>> run() {
    if (entries_.metadata.contains("index.json")) TRY(from_index());
    if (auto it = entries_.metadata.find("manifest.json"); it != entries_.metadata.end())
      TRY_CTX("manifest.json", from_save_manifest(it->second));
    return std::move(images_);
  }

 private:
  // --- OCI layout -------------------------------------------------------------------------
  Result<void> from_index() {
    if (auto it = entries_.metadata.find("oci-layout"); it != entries_.metadata.end()) {
      auto layout = TRY_CTX("oci-layout", oci::jsonio::parse_json(it->second));
      if (!layout.is_object() || !layout.contains("imageLayoutVersion"))
        return Fail(ErrorCode::InvalidArgument, "oci-layout: imageLayoutVersion: must be set");
    }
    oci::Index index = TRY_CTX("index.json", oci::parse_index(entries_.metadata.at("index.json")));
    for (size_t i = 0; i < index.manifests.size(); ++i) {
      const oci::Descriptor& d = index.manifests[i];
      std::string ctx = fmt::format("index.json: manifests[{}]", i);
      oci::Descriptor manifest = TRY_CTX(ctx, resolve(d, 0));
      Digest config = TRY_CTX(ctx, check_manifest(manifest));
      size_t at = image_for(manifest, config);
      if (auto name = TRY_CTX(ctx, name_from_annotations(d.annotations)))
        add_name(images_[at], *name);
    }
    return {};
  }

  // The platform manifest a descriptor leads to: itself, or the host's entry of an index.
  Result<oci::Descriptor> resolve(oci::Descriptor d, int depth) {
    TRY(require_blob(d.digest, d.size));
    std::string mt = d.media_type;
    if (mt.empty() || oci::is_index_media_type(mt)) {
      std::string bytes = TRY(content_.read(d.digest));
      if (mt.empty()) mt = TRY_CTX(d.digest.to_string(), oci::detect_manifest_media_type(bytes));
      if (oci::is_index_media_type(mt)) {
        std::string ctx = fmt::format("index {}", d.digest.to_string());
        if (depth >= kMaxIndexDepth)
          return Fail(ErrorCode::InvalidArgument, "{}: indexes nested deeper than {}", ctx,
                      kMaxIndexDepth);
        oci::Index nested = TRY_CTX(ctx, oci::parse_index(bytes));
        for (size_t j = 0; j < nested.manifests.size(); ++j) {
          const oci::Descriptor& sub = nested.manifests[j];
          bool single = nested.manifests.size() == 1 && !sub.platform;
          if (single || (sub.platform && oci::platform_matches(host_, *sub.platform)))
            return TRY_CTX(fmt::format("{}: manifests[{}]", ctx, j), resolve(sub, depth + 1));
        }
        return Fail(ErrorCode::NotFound, "{}: no manifest for platform {}", ctx,
                    host_.to_string());
      }
    }
    if (!oci::is_manifest_media_type(mt))
      return Fail(ErrorCode::InvalidArgument, "unsupported media type {}", quote(mt));
    d.media_type = mt;
    return d;
  }

  // Checks that the manifest's config and layers are all stored; returns the config digest.
  Result<Digest> check_manifest(const oci::Descriptor& d) {
    std::string ctx = fmt::format("manifest {}", d.digest.to_string());
    std::string bytes = TRY_CTX(ctx, content_.read(d.digest));
    oci::Manifest m = TRY_CTX(ctx, oci::parse_manifest(bytes));
    TRY_CTX(ctx + ": config", require_blob(m.config.digest, m.config.size));
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const oci::Descriptor& l = m.layers[i];
      // Foreign (non-distributable) layers live at their URLs, not in archives.
      if (!l.urls.empty() && !TRY(content_.stat(l.digest))) continue;
      TRY_CTX(fmt::format("{}: layers[{}]", ctx, i), require_blob(l.digest, l.size));
    }
    return m.config.digest;
  }

  Result<void> require_blob(const Digest& digest, int64_t size) {
    auto info = TRY(content_.stat(digest));
    if (!info)
      return Fail(ErrorCode::InvalidArgument, "blob {} is not in the archive",
                  digest.to_string());
    if (info->size != size)
      return Fail(ErrorCode::InvalidArgument, "blob {} has {} bytes, its descriptor says {}",
                  digest.to_string(), info->size, size);
    return {};
  }

  // The name an index entry's annotations give, normalised; nullopt for none. A bare
  // org.opencontainers.image.ref.name ("1.0", "latest") names a tag without a repository.
  Result<std::optional<std::string>> name_from_annotations(
      const std::map<std::string, std::string>& annotations) {
    if (auto it = annotations.find(std::string(kContainerdName)); it != annotations.end()) {
      auto ref = TRY_CTX(fmt::format("annotation {}", kContainerdName),
                         oci::parse_image_reference(it->second));
      return std::optional<std::string>(ref.to_string());
    }
    if (auto it = annotations.find(std::string(kOciRefName)); it != annotations.end()) {
      const std::string& v = it->second;
      if (v.find('/') == std::string::npos && v.find(':') == std::string::npos)
        return std::optional<std::string>();
      auto ref = oci::parse_image_reference(v);
      if (ref.has_value()) return std::optional<std::string>(ref->to_string());
    }
    return std::optional<std::string>();
  }

  // --- Docker save manifest.json -----------------------------------------------------------
  Result<void> from_save_manifest(const std::string& text) {
    auto json = TRY(oci::jsonio::parse_json(text));
    std::vector<SaveManifestEntry> list;
    TRY(oci::jsonio::read(json, "", list));
    for (size_t i = 0; i < list.size(); ++i) {
      const SaveManifestEntry& e = list[i];
      const StoredFile* config = entries_.find(e.config);
      if (!config)
        return Fail(ErrorCode::InvalidArgument, "config {} is not in the archive", quote(e.config));
      size_t at = 0;
      if (auto it = by_config_.find(config->blob.digest.to_string()); it != by_config_.end()) {
        at = it->second;  // Docker 25: the image came from index.json already
      } else {
        oci::Descriptor manifest = TRY(build_manifest(e, *config));
        at = image_for(manifest, config->blob.digest);
      }
      for (size_t t = 0; t < e.repo_tags.size(); ++t) {
        auto ref = TRY_CTX(fmt::format("[{}].RepoTags[{}]", i, t),
                           oci::parse_image_reference(e.repo_tags[t]));
        add_name(images_[at], ref.to_string());
      }
    }
    return {};
  }

  // A Docker schema2 manifest for a save entry, stored; plain-tar layers are checked against
  // the config's rootfs.diff_ids (compressed ones are checked when unpacked).
  Result<oci::Descriptor> build_manifest(const SaveManifestEntry& e, const StoredFile& config) {
    std::string config_text = TRY(entries_.small_file(e.config, content_));
    oci::ImageConfig image_config = TRY_CTX(fmt::format("archive entry {}", quote(e.config)),
                                            oci::parse_image_config(config_text));
    if (image_config.diff_ids.size() != e.layers.size())
      return Fail(ErrorCode::InvalidArgument,
                  "image {} lists {} layers but its config {} has {} rootfs.diff_ids",
                  quote(e.config), e.layers.size(), quote(e.config), image_config.diff_ids.size());
    oci::Manifest m;
    m.schema_version = 2;
    m.media_type = oci::media_type::kDockerManifest;
    m.config.media_type = oci::media_type::kDockerConfig;
    m.config.digest = config.blob.digest;
    m.config.size = config.blob.size;
    for (size_t i = 0; i < e.layers.size(); ++i) {
      const StoredFile* layer = entries_.find(e.layers[i]);
      if (!layer)
        return Fail(ErrorCode::InvalidArgument, "layer {} is not in the archive",
                    quote(e.layers[i]));
      if (layer->compression == oci::Compression::None &&
          layer->blob.digest != image_config.diff_ids[i])
        return Fail(ErrorCode::InvalidArgument,
                    "archive entry {}: content digest {} does not match rootfs.diff_ids[{}] {} "
                    "of config {}",
                    quote(e.layers[i]), layer->blob.digest.to_string(), i,
                    image_config.diff_ids[i].to_string(), quote(e.config));
      oci::Descriptor d;
      d.media_type = layer_media_type(layer->compression);
      d.digest = layer->blob.digest;
      d.size = layer->blob.size;
      m.layers.push_back(std::move(d));
    }
    std::string json = oci::to_json(m);
    BlobInfo stored = TRY_CTX("store manifest", content_.put(json));
    oci::Descriptor d;
    d.media_type = oci::media_type::kDockerManifest;
    d.digest = stored.digest;
    d.size = stored.size;
    if (!image_config.architecture.empty() && !image_config.os.empty())
      d.platform = image_config.platform();
    return d;
  }

  // --- results -----------------------------------------------------------------------------
  size_t image_for(const oci::Descriptor& manifest, const Digest& config) {
    std::string key = manifest.digest.to_string();
    if (auto it = by_manifest_.find(key); it != by_manifest_.end()) return it->second;
    ArchiveImage img;
    img.manifest = manifest;
    img.config_digest = config;
    images_.push_back(std::move(img));
    size_t at = images_.size() - 1;
    by_manifest_[key] = at;
    by_config_.emplace(config.to_string(), at);
    return at;
  }

  static void add_name(ArchiveImage& img, const std::string& name) {
    for (const std::string& n : img.repo_tags)
      if (n == name) return;
    img.repo_tags.push_back(name);
  }

  const ArchiveEntries& entries_;
  ContentStore& content_;
  oci::Platform host_;
  std::vector<ArchiveImage> images_;
  std::map<std::string, size_t> by_manifest_;
  std::map<std::string, size_t> by_config_;
};

}  // namespace

Result<std::vector<ArchiveImage>> assemble_images(const ArchiveEntries& entries,
                                                  ContentStore& content) {
  return Assembler(entries, content).run();
}

}  // namespace berth::image::archive_detail
