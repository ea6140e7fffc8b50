// ImageService: getting images in and out — pull, push, load, save, import — and recording
// what arrived (unpacked into snapshots, named in berth.db).
#include <algorithm>

#include "base/clock.h"
#include "base/strings.h"
#include "engine/image_service.h"
#include "image/archive.h"
#include "image/credentials.h"
#include "image/pull.h"
#include "image/unpack.h"

namespace berth::engine {
namespace {

Result<std::unique_ptr<image::RegistryClient>> registry_for(const EngineOptions& options) {
  image::CredentialStore creds(options.docker_config.empty() ? image::default_docker_config_path()
                                                             : options.docker_config);
  image::RegistryOptions ro;
  ro.credentials = creds.lookup();
  ro.insecure_registries = options.insecure_registries;
  ro.user_agent = "berth/0.1.0";
  return image::make_registry_client(std::move(ro));
}

Result<oci::Platform> platform_or_host(const std::string& text) {
  if (text.empty()) return oci::host_platform();
  return oci::parse_platform(text);
}

}  // namespace

Result<std::string> ImageService::record(const oci::Descriptor& manifest,
                                         const std::vector<std::string>& names,
                                         const image::ProgressSink& progress) {
  auto parsed = TRY_CTX(fmt::format("manifest {}", manifest.digest.to_string()),
                        oci::parse_manifest(TRY(content_->read(manifest.digest))));
  std::string id = parsed.config.digest.to_string();
  auto config = TRY_CTX(fmt::format("image config {}", id),
                        oci::parse_image_config(TRY(content_->read(parsed.config.digest))));
  image::UnpackOptions unpack;
  unpack.progress = progress;
  unpack.max_layer_uncompressed = options_.max_layer_size;
  std::string top = TRY(image::unpack_image(*content_, *snapshots_, parsed, config, unpack));
  int64_t size = 0;
  for (const auto& chain : oci::chain_ids(config.diff_ids))
    size += TRY(snapshots_->usage(chain.to_string())).size;

  TRY(db_->transaction([&]() -> Result<void> {
    auto existing = TRY(records_->get(id));
    store::ImageRecord r = existing ? *existing : store::ImageRecord{};
    r.id = id;
    r.manifest_digest = manifest.digest.to_string();
    r.manifest_type = manifest.media_type;
    r.manifest_size = manifest.size;
    r.size = size;
    r.snapshot = top;
    if (r.created.empty()) r.created = now_rfc3339();
    if (!names.empty()) r.last_tag_time = now_rfc3339();
    TRY(records_->put(r));
    for (const auto& name : names) TRY(records_->tag(name, id));
    return {};
  }));
  return id;
}

Result<PullResult> ImageService::pull(const std::string& reference, const PullRequest& request) {
  auto ref = TRY(oci::parse_image_reference(reference));
  auto ctx = fmt::format("pull {}", ref.familiar());
  auto registry = TRY_CTX(ctx, registry_for(options_));
  image::PullOptions po;
  po.platform = TRY(platform_or_host(request.platform));
  po.progress = request.progress;
  auto pulled = TRY_CTX(ctx, image::pull_image(*registry, *content_, ref, po));

  std::optional<std::string> before;
  if (!ref.tag.empty()) before = TRY(records_->find_by_name(ref.to_string()));
  std::vector<std::string> names;
  if (!ref.tag.empty()) names.push_back(ref.to_string());
  std::string id = TRY_CTX(ctx, record(pulled.manifest, names, request.progress));
  std::string repo_digest = ref.name() + "@" + pulled.target.digest.to_string();
  TRY(records_->add_repo_digest(repo_digest, id));
  return PullResult{ref, id, pulled.target.digest, !before || *before != id};
}

Result<std::pair<Digest, int64_t>> ImageService::push(const std::string& name,
                                                      const image::ProgressSink& progress) {
  auto ref = TRY(oci::parse_image_reference(name));
  std::string id = TRY(resolve_id(ref.to_string()));
  auto record = TRY(records_->get(id));
  auto ctx = fmt::format("push {}", ref.familiar());
  oci::Descriptor manifest;
  manifest.media_type = record->manifest_type;
  manifest.digest = TRY(parse_digest(record->manifest_digest));
  manifest.size = record->manifest_size;
  auto registry = TRY_CTX(ctx, registry_for(options_));
  image::PushOptions po;
  po.progress = progress;
  Digest pushed = TRY_CTX(ctx, image::push_image(*registry, *content_, ref, manifest, po));
  TRY(records_->add_repo_digest(ref.name() + "@" + pushed.to_string(), id));
  return std::make_pair(pushed, manifest.size);
}

Result<std::vector<LoadedImage>> ImageService::load(int fd, const image::ProgressSink& progress) {
  image::LoadOptions lo;
  lo.progress = progress;
  auto images = TRY_CTX("load", image::load_archive(fd, *content_, lo));
  std::vector<LoadedImage> out;
  for (const auto& img : images) {
    std::string id = TRY_CTX("load", record(img.manifest, img.repo_tags, progress));
    LoadedImage loaded{{}, id};
    for (const auto& name : img.repo_tags) loaded.names.push_back(familiar_name(name));
    out.push_back(std::move(loaded));
  }
  return out;
}

Result<void> ImageService::save(const std::vector<std::string>& images, int fd) {
  std::vector<image::ArchiveImage> items;
  for (const auto& name : images) {
    std::string id = TRY(resolve_id(name));
    auto record = TRY(records_->get(id));
    image::ArchiveImage item;
    item.manifest.media_type = record->manifest_type;
    item.manifest.digest = TRY(parse_digest(record->manifest_digest));
    item.manifest.size = record->manifest_size;
    item.config_digest = TRY(parse_digest(id));
    // A name saves that name; an ID saves the image untagged, as Docker does.
    auto ref = oci::parse_image_reference(name);
    if (ref && ref->digest.empty() && TRY(records_->find_by_name(ref->to_string())))
      item.repo_tags.push_back(ref->to_string());
    auto same = std::find_if(items.begin(), items.end(), [&](const image::ArchiveImage& i) {
      return i.config_digest == item.config_digest;
    });
    if (same != items.end()) {
      same->repo_tags.insert(same->repo_tags.end(), item.repo_tags.begin(), item.repo_tags.end());
    } else {
      items.push_back(std::move(item));
    }
  }
  TRY_CTX("save", image::save_archive(fd, *content_, items));
  return {};
}

Result<std::string> ImageService::import(int fd, const ImportRequest& request) {
  image::ImportOptions io;
  io.changes = request.changes;
  io.message = request.message;
  io.platform = TRY(platform_or_host(request.platform));
  std::vector<std::string> names;
  if (!request.reference.empty()) {
    auto ref = TRY(oci::parse_image_reference(request.reference));
    if (!ref.digest.empty())
      return Fail(ErrorCode::InvalidArgument, "import: a digest reference cannot name an image: {}",
                  request.reference);
    names.push_back(ref.to_string());
  }
  auto img = TRY_CTX("import", image::import_rootfs(fd, *content_, io));
  return TRY_CTX("import", record(img.manifest, names, {}));
}

}  // namespace berth::engine
