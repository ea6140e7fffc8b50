// `save`: one tar in Docker 25's format: an OCI layout (oci-layout, index.json, blobs/sha256/...)
// plus Docker's manifest.json and repositories, so that Docker 20.10's `docker load` (which reads
// manifest.json and decompresses layers itself) and OCI tools both read it. Deterministic:
// entries sorted, owned by 0:0, mtime 0.
#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/strings.h"
#include "image/archive.h"
#include "image/tar_writer.h"
#include "oci/image_reference.h"

namespace berth::image {
namespace {

constexpr std::string_view kOciLayout = R"({"imageLayoutVersion":"1.0.0"})";

std::string blob_path(const Digest& d) { return "blobs/sha256/" + d.hex; }

struct SavedImage {
  const ArchiveImage* image = nullptr;
  oci::Manifest manifest;
  std::vector<oci::ImageReference> refs;
};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Docker's manifest.json: one element per image, paths into the OCI layout.
std::string save_manifest_json(const std::vector<SavedImage>& saved) {
  nlohmann::json list = nlohmann::json::array();
  for (const SavedImage& s : saved) {
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& ref : s.refs) tags.push_back(ref.familiar());
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : s.manifest.layers) layers.push_back(blob_path(l.digest));
    nlohmann::json e = nlohmann::json::object();
    e["Config"] = blob_path(s.manifest.config.digest);
    e["RepoTags"] = std::move(tags);
    e["Layers"] = std::move(layers);
    list.push_back(std::move(e));
  }
  return dump(list);
}

// Docker's legacy `repositories`: {"busybox":{"latest":"<config hex>"}}.
std::string repositories_json(const std::vector<SavedImage>& saved) {
  nlohmann::json repos = nlohmann::json::object();
  for (const SavedImage& s : saved) {
    for (const auto& ref : s.refs) {
      if (ref.tag.empty()) continue;
      oci::ImageReference repo_only = ref;
      repo_only.tag.clear();
      repo_only.digest.clear();
      repos[repo_only.familiar()][ref.tag] = s.image->config_digest.hex;
    }
  }
  return dump(repos);
}

std::string index_json(const std::vector<SavedImage>& saved) {
  oci::Index index;
  index.schema_version = 2;
  index.media_type = oci::media_type::kOciIndex;
  for (const SavedImage& s : saved) {
    oci::Descriptor base;
    base.media_type = s.image->manifest.media_type;
    base.digest = s.image->manifest.digest;
    base.size = s.image->manifest.size;
    if (s.refs.empty()) index.manifests.push_back(base);
    for (const auto& ref : s.refs) {
      oci::Descriptor d = base;
      d.annotations["io.containerd.image.name"] = ref.to_string();
      if (!ref.tag.empty()) d.annotations["org.opencontainers.image.ref.name"] = ref.tag;
      index.manifests.push_back(std::move(d));
    }
  }
  return oci::to_json(index);
}

Result<void> copy_blob(TarWriter& tar, ContentStore& content, const Digest& digest) {
  UniqueFd fd = TRY(content.open(digest));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "stat blob {}", digest.to_string());
  return tar.add_file_from_fd(blob_path(digest), fd.get(), static_cast<int64_t>(st.st_size));
}

}  // namespace

Result<void> save_archive(int fd, ContentStore& content, const std::vector<ArchiveImage>& images) {
  std::vector<SavedImage> saved;
  std::set<Digest> blobs;
  for (const ArchiveImage& img : images) {
    std::string ctx = fmt::format("save image {}", img.manifest.digest.to_string());
    if (!oci::is_manifest_media_type(img.manifest.media_type))
      return Fail(ErrorCode::InvalidArgument, "{}: media type {} is not an image manifest", ctx,
                  quote(img.manifest.media_type));
    SavedImage s;
    s.image = &img;
    std::string bytes = TRY_CTX(ctx, content.read(img.manifest.digest));
    s.manifest = TRY_CTX(ctx, oci::parse_manifest(bytes));
    for (const std::string& name : img.repo_tags)
      s.refs.push_back(TRY_CTX(ctx, oci::parse_image_reference(name)));
    blobs.insert(img.manifest.digest);
    blobs.insert(s.manifest.config.digest);
    for (const auto& l : s.manifest.layers) {
      // Foreign layers are fetched from their URLs; only include them when we have them.
      if (!l.urls.empty() && !TRY_CTX(ctx, content.stat(l.digest))) continue;
      blobs.insert(l.digest);
    }
    saved.push_back(std::move(s));
  }

  TarWriter tar = TRY(TarWriter::open(fd));
  TRY(tar.add_dir("blobs"));
  TRY(tar.add_dir("blobs/sha256"));
  for (const Digest& d : blobs) TRY_CTX(fmt::format("save blob {}", d.to_string()), copy_blob(tar, content, d));
  TRY(tar.add_file("index.json", index_json(saved)));
  TRY(tar.add_file("manifest.json", save_manifest_json(saved)));
  TRY(tar.add_file("oci-layout", kOciLayout));
  TRY(tar.add_file("repositories", repositories_json(saved)));
  return tar.close();
}

}  // namespace berth::image
