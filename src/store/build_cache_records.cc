#include "store/build_cache_records.h"

namespace berth::store {

Result<std::optional<BuildCacheRecord>> BuildCacheRecords::get(const std::string& key) {
  auto s = TRY(db_.prepare(
      "SELECT key, kind, diff_id, digest, media_type, size, created FROM build_cache WHERE key = ?"));
  s.bind(1, key);
  if (!TRY(s.step())) return std::optional<BuildCacheRecord>{};
  return std::optional<BuildCacheRecord>{
      BuildCacheRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.integer(5), s.text(6)}};
}

Result<void> BuildCacheRecords::put(const BuildCacheRecord& r) {
  auto s = TRY(db_.prepare(
      "INSERT OR REPLACE INTO build_cache (key, kind, diff_id, digest, media_type, size, created) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  s.bind(1, r.key).bind(2, r.kind).bind(3, r.diff_id).bind(4, r.digest).bind(5, r.media_type);
  s.bind(6, r.size).bind(7, r.created);
  return s.run();
}

Result<void> BuildCacheRecords::remove(const std::string& key) {
  auto s = TRY(db_.prepare("DELETE FROM build_cache WHERE key = ?"));
  s.bind(1, key);
  return s.run();
}

Result<int64_t> BuildCacheRecords::clear() {
  auto count = TRY(db_.prepare("SELECT count(*) FROM build_cache"));
  int64_t n = TRY(count.step()) ? count.integer(0) : 0;
  TRY(db_.exec("DELETE FROM build_cache"));
  return n;
}

}  // namespace berth::store
