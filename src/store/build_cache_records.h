// The build cache in berth.db: one row per cached build step (RUN, COPY, ADD, WORKDIR) giving
// the layer it made, and one row per finished build giving the image it produced. A row only
// points at a layer blob and a snapshot; either may be gone (rmi, prune), and the builder then
// treats the row as a miss and overwrites it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "store/database.h"

namespace berth::store {

struct BuildCacheRecord {
  std::string key;         // sha256 hex of the step's cache key
  std::string kind;        // "layer" or "image"
  std::string diff_id;     // layer: the uncompressed tar's digest; image: the image ID
  std::string digest;      // layer: the blob's digest
  std::string media_type;  // layer: the blob's media type
  int64_t size = 0;        // layer: the blob's size
  std::string created;     // RFC 3339: when the step ran (the history entry's time)
};

class BuildCacheRecords {
 public:
  explicit BuildCacheRecords(Database& db) : db_(db) {}

  Result<std::optional<BuildCacheRecord>> get(const std::string& key);
  // Inserts or replaces the row with this key.
  Result<void> put(const BuildCacheRecord& record);
  Result<void> remove(const std::string& key);
  // Removes every row (`builder prune`).
  Result<int64_t> clear();

 private:
  Database& db_;
};

}  // namespace berth::store
