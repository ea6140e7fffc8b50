// The content store: immutable blobs addressed by their sha256 digest.
//
// Contract (every implementation passes tests/unit/image/content_store_conformance.cc):
// - A blob becomes visible only by commit(), after its bytes were verified against the expected
//   digest and size; a crash at any point leaves either no blob or a whole, correct one.
// - Writes go through an ingest named by a caller-chosen ref (e.g. "pull-<digest>"). An ingest
//   survives its writer, so an interrupted download resumes where it stopped: open the same ref
//   again and continue from offset(). Only one writer may hold a ref at a time (Conflict).
// - Readers of a committed blob never see it change; remove() of a blob being read is safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::image {

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
};

// Writes one blob. Destroying a writer without commit() keeps the ingest for a later resume;
// abort() discards it.
class ContentWriter {
 public:
  virtual ~ContentWriter() = default;
  // Bytes already in the ingest (non-zero when resuming).
  virtual int64_t offset() const = 0;
  virtual Result<void> write(std::string_view data) = 0;
  // Verifies size (when expected_size >= 0) and digest, then publishes the blob by rename.
  // A mismatch is InvalidArgument naming both digests and discards the ingest. Committing a
  // blob that already exists succeeds and discards the ingest.
  virtual Result<BlobInfo> commit(const Digest& expected, int64_t expected_size = -1) = 0;
  // Commits under the digest of the bytes written (for content berth produces itself).
  virtual Result<BlobInfo> commit_computed() = 0;
  virtual Result<void> abort() = 0;
  // Drops resumed bytes and starts the ingest over (e.g. when a server ignored a Range).
  virtual Result<void> truncate() = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  virtual Result<std::optional<BlobInfo>> stat(const Digest& digest) = 0;
  // NotFound when absent.
  virtual Result<UniqueFd> open(const Digest& digest) = 0;
  // Whole blob in memory; for manifests and configs (refuses blobs over max_size).
  virtual Result<std::string> read(const Digest& digest, int64_t max_size = 8 << 20) = 0;
  // Path of a committed blob, for zero-copy readers (libarchive, sendfile).
  virtual std::string path(const Digest& digest) const = 0;
  // Opens or resumes the ingest named ref; Conflict while another writer holds it.
  virtual Result<std::unique_ptr<ContentWriter>> writer(std::string_view ref) = 0;
  // Convenience: writes and commits a whole buffer, verified against its own digest.
  virtual Result<BlobInfo> put(std::string_view data) = 0;
  // NotFound when absent.
  virtual Result<void> remove(const Digest& digest) = 0;
  virtual Result<std::vector<BlobInfo>> list() = 0;
  // Removes ingests no writer holds. Those whose ref `resumable` accepts (all, when it is
  // empty) go only once last written before now - max_age (zero: at once); the others, which
  // nobody will resume, go at once. Returns the bytes freed.
  virtual Result<int64_t> prune_ingests(std::chrono::seconds max_age,
                                        const std::function<bool(std::string_view ref)>& resumable = {}) = 0;
};

// Blobs under <root>/blobs/sha256/<hex>, ingests under <root>/ingest/<sha256(ref)>/, held
// with flock while a writer is open. Blob files are 0444.
Result<std::unique_ptr<ContentStore>> open_local_content_store(const std::string& root);

}  // namespace berth::image
