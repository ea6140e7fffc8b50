// ImageService: opening the store, resolving images, and the read-only and naming verbs.
#include "engine/image_service.h"

#include <algorithm>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

Unexpected no_such_image(const std::string& image) {
  return Fail(ErrorCode::NotFound, "No such image: {}", image);
}

}  // namespace

Result<std::unique_ptr<ImageService>> ImageService::open(const EngineOptions& options, bool tidy,
                                                         std::shared_ptr<store::Database> db) {
  TRY(make_dirs(options.root, 0700));
  auto lock = TRY(FileLock::acquire(options.root + "/lock", FileLock::Mode::Shared));
  std::unique_ptr<ImageService> s(new ImageService(options, std::move(lock)));
  s->db_ = TRY(store::Database::shared(std::move(db), options.root + "/berth.db"));
  s->records_ = std::make_unique<store::ImageRecords>(*s->db_);
  s->content_ = TRY(image::open_local_content_store(options.root));
  s->snapshots_ = TRY(image::open_default_snapshotter(options.root));
  if (tidy && s->lock_.convert(FileLock::Mode::Exclusive, false)) {
    if (auto r = s->snapshots_->cleanup(); !r) log::warn("snapshot cleanup: {}", r.error().what());
    if (auto list = s->snapshots_->list()) {
      for (const auto& info : *list)
        if (starts_with(info.key, "extract-")) (void)s->snapshots_->remove(info.key);
    }
    // Only pulls resume (their refs name the blob); a killed load or import is garbage.
    auto resumable = [](std::string_view ref) { return starts_with(ref, "pull-"); };
    if (auto r = s->content_->prune_ingests(std::chrono::hours(24), resumable); !r)
      log::warn("ingest cleanup: {}", r.error().what());
    TRY(s->lock_.convert(FileLock::Mode::Shared));
  }
  return s;
}

Result<std::string> ImageService::resolve_id(const std::string& image) {
  if (starts_with(image, "sha256:")) {
    if (TRY(records_->get(image))) return image;
    auto matches = TRY(records_->find_by_id_prefix(image.substr(7)));
    if (matches.size() == 1) return matches.front();
    return no_such_image(image);
  }
  if (auto ref = oci::parse_image_reference(image)) {
    std::optional<std::string> id;
    if (!ref->digest.empty()) {
      id = TRY(records_->find_by_repo_digest(ref->name() + "@" + ref->digest));
    } else {
      id = TRY(records_->find_by_name(ref->to_string()));
    }
    if (id) return *id;
  }
  if (is_lower_hex(image)) {
    auto matches = TRY(records_->find_by_id_prefix(image));
    if (matches.size() == 1) return matches.front();
    if (matches.size() > 1)
      return Fail(ErrorCode::Conflict, "ambiguous image ID {}: matches {} images", image, matches.size());
  }
  return no_such_image(image);
}

Result<ImageDetail> ImageService::detail(const std::string& id) {
  auto record = TRY(records_->get(id));
  if (!record) return no_such_image(id);
  return detail(*record);
}

Result<ImageDetail> ImageService::detail(const store::ImageRecord& record) {
  const std::string& id = record.id;
  ImageDetail d{record, {}, {}};
  auto manifest_digest = TRY(parse_digest(record.manifest_digest));
  d.manifest = TRY_CTX(fmt::format("manifest {}", record.manifest_digest),
                       oci::parse_manifest(TRY(content_->read(manifest_digest))));
  d.config = TRY_CTX(fmt::format("image config {}", id),
                     oci::parse_image_config(TRY(content_->read(d.manifest.config.digest))));
  return d;
}

Result<ImageDetail> ImageService::inspect(const std::string& image) {
  return detail(TRY(resolve_id(image)));
}

Result<std::vector<ImageDetail>> ImageService::list() {
  std::vector<ImageDetail> out;
  for (const auto& r : TRY(records_->list())) out.push_back(TRY(detail(r)));
  std::stable_sort(out.begin(), out.end(), [](const ImageDetail& a, const ImageDetail& b) {
    return a.config.created > b.config.created;
  });
  return out;
}

Result<void> ImageService::tag(const std::string& source, const std::string& target) {
  std::string id = TRY(resolve_id(source));
  auto ref = TRY(oci::parse_image_reference(target));
  if (!ref.digest.empty())
    return Fail(ErrorCode::InvalidArgument, "refusing to create a tag with a digest reference: {}", target);
  return db_->transaction([&]() -> Result<void> {
    TRY(records_->tag(ref.to_string(), id));
    auto record = TRY(records_->get(id));
    record->last_tag_time = now_rfc3339();
    return records_->put(*record);
  });
}

std::vector<std::string> ImageService::users(const std::string& id) {
  auto ids = store::ContainerRecords(*db_).using_image(id);
  return ids ? *ids : std::vector<std::string>{};
}

Result<std::vector<RemoveEvent>> ImageService::remove(const std::string& image, bool force) {
  std::string id = TRY(resolve_id(image));
  auto record = TRY(records_->get(id));
  std::vector<RemoveEvent> events;
  auto ref = oci::parse_image_reference(image);
  bool by_name = ref && ref->digest.empty() &&
                 std::find(record->names.begin(), record->names.end(), ref->to_string()) != record->names.end();
  if (!by_name && record->names.size() > 1 && !force)
    return Fail(ErrorCode::Conflict,
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short_id(id));
  // An image a container uses keeps existing; -f only takes its names away, as Docker does.
  auto users = this->users(id);
  if (!users.empty() && !force) {
    return Fail(ErrorCode::Conflict,
                "conflict: unable to remove repository reference \"{}\" (must force) - container {} is using its referenced image {}",
                image, users[0].substr(0, 12), short_id(id));
  }
  TRY(db_->transaction([&]() -> Result<void> {
    std::vector<std::string> untag = by_name ? std::vector<std::string>{ref->to_string()} : record->names;
    for (const auto& name : untag) {
      TRY(records_->untag(name));
      events.push_back({false, familiar_name(name)});
    }
    if ((by_name && record->names.size() > 1) || !users.empty()) return {};
    for (const auto& d : record->repo_digests) events.push_back({false, familiar_name(d)});
    TRY(records_->remove(id));
    events.push_back({true, id});
    return {};
  }));
  if (!events.empty() && events.back().deleted) {
    int64_t reclaimed = 0;
    if (lock_.convert(FileLock::Mode::Exclusive, false)) {
      auto gc = collect_garbage(reclaimed);
      TRY(lock_.convert(FileLock::Mode::Shared));
      TRY(std::move(gc));
    }
  }
  return events;
}

Result<std::vector<HistoryRow>> ImageService::history(const std::string& image) {
  auto d = TRY(inspect(image));
  auto chains = oci::chain_ids(d.config.diff_ids);
  std::vector<HistoryRow> rows;
  size_t layer = 0;
  for (const auto& entry : d.config.history) {
    HistoryRow row{"<missing>", entry, 0};
    if (!entry.empty_layer && layer < chains.size()) {
      if (auto usage = snapshots_->usage(chains[layer].to_string())) row.size = usage->size;
      ++layer;
    }
    rows.push_back(std::move(row));
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) rows.front().id = d.record.id;
  return rows;
}

std::string short_id(const std::string& id) {
  std::string_view hex = id;
  if (starts_with(hex, "sha256:")) hex.remove_prefix(7);
  return std::string(hex.substr(0, 12));
}

std::string familiar_name(const std::string& name) {
  auto ref = oci::parse_image_reference(name);
  return ref ? ref->familiar() : name;
}


}  // namespace berth::engine
