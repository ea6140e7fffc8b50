// Internals shared by the local content store and its writer: the on-disk layout and the
// ingest lock protocol. Not part of the image layer's public interface.
//
// An ingest is <root>/ingest/<sha256(ref)>/ holding `data` (the bytes so far), `ref` (the ref
// text, for people reading the directory) and `lock`, which a writer (or the pruner) holds with
// flock(LOCK_EX) for as long as it uses the ingest. Whoever removes an ingest does so while
// holding its lock; a locker re-checks after flock that the lock file it holds is still the one
// at the path, so it never works in a directory that was just removed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/content_store.h"

namespace berth::image::detail {

// Paths of one local store.
struct StoreLayout {
  std::string root;

  std::string blobs_dir() const { return root + "/blobs/sha256"; }
  std::string ingest_root() const { return root + "/ingest"; }
  std::string blob_path(const std::string& hex) const { return blobs_dir() + "/" + hex; }
  // The ingest directory of ref: named by the sha256 of the ref so any text is a safe name.
  std::string ingest_dir(std::string_view ref) const;
};

// Outcome of trying to lock an ingest directory.
enum class LockOutcome { Locked, Busy, Gone };

// Opens (creating when create is set) dir/lock and takes flock(LOCK_EX|LOCK_NB). Busy when
// another holder has it; Gone when dir no longer exists or was replaced meanwhile.
Result<LockOutcome> try_lock_ingest(const std::string& dir, bool create, UniqueFd& lock_out);

// Removes an ingest directory whose lock the caller holds: data, ref, lock, then the directory.
Result<void> remove_locked_ingest(const std::string& dir);

// Opens or resumes the ingest of ref (the directory of ContentStore::writer()).
Result<std::unique_ptr<ContentWriter>> open_local_writer(const StoreLayout& layout,
                                                         std::string_view ref);

}  // namespace berth::image::detail
