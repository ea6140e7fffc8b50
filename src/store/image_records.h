// Image metadata in berth.db: images by ID (the config digest), the names (repository:tag) that
// point at them, and the repository digests they were pulled or pushed by. Content and
// snapshots live in image/; this is only the index over them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/database.h"

namespace berth::store {

struct ImageRecord {
  std::string id;  // "sha256:<hex>" of the config
  std::string manifest_digest;
  std::string manifest_type;
  int64_t manifest_size = 0;
  int64_t size = 0;       // unpacked bytes of all layers
  std::string snapshot;   // top ChainID; "" for an image without layers
  std::string created;    // when berth stored it
  std::string last_tag_time;
  std::vector<std::string> names;         // normalised references, sorted
  std::vector<std::string> repo_digests;  // name@sha256:..., sorted
};

class ImageRecords {
 public:
  explicit ImageRecords(Database& db) : db_(db) {}

  // Inserts or updates the image row (names and digests untouched).
  Result<void> put(const ImageRecord& image);
  Result<std::optional<ImageRecord>> get(const std::string& id);
  Result<std::vector<ImageRecord>> list();
  // Deletes the image with its names and digests.
  Result<void> remove(const std::string& id);

  // Points name at image id; returns the image the name pointed at before, if another.
  Result<std::optional<std::string>> tag(const std::string& name, const std::string& id);
  // NotFound when no such name.
  Result<void> untag(const std::string& name);
  Result<std::optional<std::string>> find_by_name(const std::string& name);
  Result<void> add_repo_digest(const std::string& repo_digest, const std::string& id);
  Result<void> remove_repo_digest(const std::string& repo_digest);
  Result<std::optional<std::string>> find_by_repo_digest(const std::string& repo_digest);
  // IDs starting with "sha256:"+hex_prefix (Docker accepts any unique prefix of the hex).
  Result<std::vector<std::string>> find_by_id_prefix(const std::string& hex_prefix);

  Database& db() { return db_; }

 private:
  Result<void> fill_names(ImageRecord& image);
  Database& db_;
};

}  // namespace berth::store
