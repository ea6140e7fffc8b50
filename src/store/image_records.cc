#include "store/image_records.h"

#include "base/strings.h"

namespace berth::store {
namespace {

constexpr std::string_view kColumns =
    "id, manifest_digest, manifest_type, manifest_size, size, snapshot, created, last_tag_time";

ImageRecord row_to_image(const Statement& q) {
  ImageRecord r;
  r.id = q.text(0);
  r.manifest_digest = q.text(1);
  r.manifest_type = q.text(2);
  r.manifest_size = q.integer(3);
  r.size = q.integer(4);
  r.snapshot = q.text(5);
  r.created = q.text(6);
  r.last_tag_time = q.text(7);
  return r;
}

Result<std::vector<std::string>> strings_of(Database& db, std::string_view sql, const std::string& arg) {
  auto q = TRY(db.prepare(sql));
  q.bind(1, arg);
  std::vector<std::string> out;
  while (TRY(q.step())) out.push_back(q.text(0));
  return out;
}

Result<std::optional<std::string>> first_string(Database& db, std::string_view sql, const std::string& arg) {
  auto rows = TRY(strings_of(db, sql, arg));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.front());
}

}  // namespace

Result<void> ImageRecords::put(const ImageRecord& image) {
  auto q = TRY(db_.prepare(fmt::format(
      "INSERT INTO images ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET "
      "manifest_digest = ?2, manifest_type = ?3, manifest_size = ?4, size = ?5, snapshot = ?6, "
      "last_tag_time = ?8",
      kColumns)));
  q.bind(1, image.id).bind(2, image.manifest_digest).bind(3, image.manifest_type);
  q.bind(4, image.manifest_size).bind(5, image.size).bind(6, image.snapshot);
  q.bind(7, image.created).bind(8, image.last_tag_time);
  return q.run();
}

Result<void> ImageRecords::fill_names(ImageRecord& image) {
  image.names = TRY(strings_of(db_, "SELECT name FROM image_names WHERE image_id = ? ORDER BY name", image.id));
  image.repo_digests = TRY(strings_of(
      db_, "SELECT repo_digest FROM image_digests WHERE image_id = ? ORDER BY repo_digest", image.id));
  return {};
}

Result<std::optional<ImageRecord>> ImageRecords::get(const std::string& id) {
  auto q = TRY(db_.prepare(fmt::format("SELECT {} FROM images WHERE id = ?", kColumns)));
  q.bind(1, id);
  if (!TRY(q.step())) return std::optional<ImageRecord>();
  ImageRecord r = row_to_image(q);
  TRY(fill_names(r));
  return std::optional<ImageRecord>(std::move(r));
}

Result<std::vector<ImageRecord>> ImageRecords::list() {
  auto q = TRY(db_.prepare(fmt::format("SELECT {} FROM images ORDER BY created DESC, id", kColumns)));
  std::vector<ImageRecord> out;
  while (TRY(q.step())) out.push_back(row_to_image(q));
  for (auto& r : out) TRY(fill_names(r));
  return out;
}

Result<void> ImageRecords::remove(const std::string& id) {
  auto q = TRY(db_.prepare("DELETE FROM images WHERE id = ?"));
  q.bind(1, id);
  TRY(q.run());
  if (db_.changes() == 0) return Fail(ErrorCode::NotFound, "no such image: {}", id);
  return {};
}

Result<std::optional<std::string>> ImageRecords::tag(const std::string& name, const std::string& id) {
  auto previous = TRY(find_by_name(name));
  auto q = TRY(db_.prepare(
      "INSERT INTO image_names (name, image_id) VALUES (?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET image_id = ?2"));
  q.bind(1, name).bind(2, id);
  TRY(q.run());
  if (previous && *previous == id) return std::optional<std::string>();
  return previous;
}

Result<void> ImageRecords::untag(const std::string& name) {
  auto q = TRY(db_.prepare("DELETE FROM image_names WHERE name = ?"));
  q.bind(1, name);
  TRY(q.run());
  if (db_.changes() == 0) return Fail(ErrorCode::NotFound, "no such image: {}", name);
  return {};
}

Result<std::optional<std::string>> ImageRecords::find_by_name(const std::string& name) {
  return first_string(db_, "SELECT image_id FROM image_names WHERE name = ?", name);
}

Result<void> ImageRecords::add_repo_digest(const std::string& repo_digest, const std::string& id) {
  auto q = TRY(db_.prepare(
      "INSERT INTO image_digests (repo_digest, image_id) VALUES (?1, ?2) "
      "ON CONFLICT(repo_digest) DO UPDATE SET image_id = ?2"));
  q.bind(1, repo_digest).bind(2, id);
  return q.run();
}

Result<void> ImageRecords::remove_repo_digest(const std::string& repo_digest) {
  auto q = TRY(db_.prepare("DELETE FROM image_digests WHERE repo_digest = ?"));
  q.bind(1, repo_digest);
  return q.run();
}

Result<std::optional<std::string>> ImageRecords::find_by_repo_digest(const std::string& repo_digest) {
  return first_string(db_, "SELECT image_id FROM image_digests WHERE repo_digest = ?", repo_digest);
}

Result<std::vector<std::string>> ImageRecords::find_by_id_prefix(const std::string& hex_prefix) {
  for (char c : hex_prefix)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::vector<std::string>();
  return strings_of(db_, "SELECT id FROM images WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id",
                    "sha256:" + hex_prefix);
}

}  // namespace berth::store
