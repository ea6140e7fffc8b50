// The writer of the local content store: appends to an ingest, resumes one left by an earlier
// writer, and publishes a verified blob by rename.
#include "image/content_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/digest.h"
#include "base/fs.h"
#include "base/strings.h"

namespace berth::image::detail {

std::string StoreLayout::ingest_dir(std::string_view ref) const {
  return ingest_root() + "/" + sha256_of(ref).hex;
}

Result<LockOutcome> try_lock_ingest(const std::string& dir, bool create, UniqueFd& lock_out) {
  std::string lock_path = dir + "/lock";
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  UniqueFd fd(::open(lock_path.c_str(), flags, 0600));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return LockOutcome::Gone;
    return FailErrno(errno, "open {}", lock_path);
  }
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return LockOutcome::Busy;
    return FailErrno(errno, "lock {}", lock_path);
  }
  // The previous holder may have removed the ingest between our open and our flock.
  struct stat held, current;
  if (::fstat(fd.get(), &held) != 0) return FailErrno(errno, "stat {}", lock_path);
  if (::stat(lock_path.c_str(), &current) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return LockOutcome::Gone;
    return FailErrno(errno, "stat {}", lock_path);
  }
  if (held.st_dev != current.st_dev || held.st_ino != current.st_ino) return LockOutcome::Gone;
  lock_out = std::move(fd);
  return LockOutcome::Locked;
}

Result<void> remove_locked_ingest(const std::string& dir) {
  for (const char* name : {"data", "ref", "lock"}) {
    std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return FailErrno(errno, "remove {}", path);
  }
  // ENOTEMPTY: a new writer of the same ref recreated its lock file; the directory is its now.
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY)
    return FailErrno(errno, "remove {}", dir);
  return {};
}

namespace {

// Makes a rename in dir durable.
void sync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) (void)::fsync(fd.get());
}

// Moves from onto to unless to exists; false (and nothing moved) when it does.
Result<bool> rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
    return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS) return FailErrno(errno, "rename {} to {}", from, to);
  // A filesystem without RENAME_NOREPLACE: the blob is the same content either way.
  if (path_exists(to)) return false;
  if (::rename(from.c_str(), to.c_str()) != 0) return FailErrno(errno, "rename {} to {}", from, to);
  return true;
}

class LocalContentWriter final : public ContentWriter {
 public:
  LocalContentWriter(const StoreLayout& layout, std::string ref, std::string dir, UniqueFd lock,
                     UniqueFd data)
      : layout_(layout),
        ref_(std::move(ref)),
        dir_(std::move(dir)),
        lock_(std::move(lock)),
        data_(std::move(data)) {}

  // Re-reads the bytes already in the ingest to rebuild the hash state and the offset.
  Result<void> resync() {
    hash_ = Sha256();
    offset_ = 0;
    char buf[64 * 1024];
    while (true) {
      ssize_t n = ::pread(data_.get(), buf, sizeof(buf), offset_);
      if (n < 0) {
        if (errno == EINTR) continue;
        return FailErrno(errno, "read ingest {}", quote(ref_));
      }
      if (n == 0) break;
      hash_.update(std::string_view(buf, static_cast<size_t>(n)));
      offset_ += n;
    }
    return {};
  }

  int64_t offset() const override { return offset_; }

  Result<void> write(std::string_view data) override {
    TRY(check_open());
    if (auto r = write_all(data_.get(), data); !r) {
      Error err = r.error();
      (void)resync();  // a short write left bytes the hash has not seen
      return Err(err.context(fmt::format("write ingest {}", quote(ref_))));
    }
    hash_.update(data);
    offset_ += static_cast<int64_t>(data.size());
    return {};
  }

  Result<BlobInfo> commit(const Digest& expected, int64_t expected_size) override {
    TRY(check_open());
    closed_ = true;
    Digest actual = hash_.digest();
    if (expected_size >= 0 && expected_size != offset_) {
      (void)discard();
      return Fail(ErrorCode::InvalidArgument, "size mismatch for {}: expected {} bytes, got {}",
                  expected.to_string(), expected_size, offset_);
    }
    if (actual != expected) {
      (void)discard();
      return Fail(ErrorCode::InvalidArgument, "digest mismatch: expected {}, got {}",
                  expected.to_string(), actual.to_string());
    }
    return publish(actual);
  }

  Result<BlobInfo> commit_computed() override {
    TRY(check_open());
    closed_ = true;
    return publish(hash_.digest());
  }

  Result<void> abort() override {
    TRY(check_open());
    closed_ = true;
    return discard();
  }

  Result<void> truncate() override {
    TRY(check_open());
    if (::ftruncate(data_.get(), 0) != 0) return FailErrno(errno, "truncate ingest {}", quote(ref_));
    hash_ = Sha256();
    offset_ = 0;
    return {};
  }

 private:
  Result<void> check_open() const {
    if (closed_)
      return Fail(ErrorCode::InvalidArgument, "ingest {} was already committed or aborted",
                  quote(ref_));
    return {};
  }

  // Removes the ingest (we hold its lock) and releases the lock.
  Result<void> discard() {
    data_.reset();
    auto r = remove_locked_ingest(dir_);
    lock_.reset();
    if (!r) return Err(r.error().context(fmt::format("discard ingest {}", quote(ref_))));
    return {};
  }

  // Makes the verified ingest the blob named digest; nothing appears under blobs/ before the
  // bytes are on disk and read-only.
  Result<BlobInfo> publish(const Digest& digest) {
    std::string ctx = fmt::format("commit {} from ingest {}", digest.to_string(), quote(ref_));
    std::string data_path = dir_ + "/data";
    if (::fsync(data_.get()) != 0) return FailErrno(errno, "{}: fsync {}", ctx, data_path);
    if (::fchmod(data_.get(), 0444) != 0) return FailErrno(errno, "{}: chmod {}", ctx, data_path);
    std::string target = layout_.blob_path(digest.hex);
    auto moved_or = rename_no_replace(data_path, target);
    if (!moved_or) {
      (void)::fchmod(data_.get(), 0644);  // keep the ingest resumable by a non-root writer
      return Err(moved_or.error().context(ctx));
    }
    bool moved = *moved_or;
    if (moved) sync_dir(layout_.blobs_dir());
    TRY_CTX(ctx, discard());
    return BlobInfo{digest, offset_};
  }

  StoreLayout layout_;
  std::string ref_;
  std::string dir_;
  UniqueFd lock_;
  UniqueFd data_;
  Sha256 hash_;
  int64_t offset_ = 0;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<ContentWriter>> open_local_writer(const StoreLayout& layout,
                                                         std::string_view ref) {
  if (ref.empty()) return Fail(ErrorCode::InvalidArgument, "open ingest: empty ref");
  std::string dir = layout.ingest_dir(ref);
  std::string ctx = fmt::format("open ingest {}", quote(ref));
  UniqueFd lock;
  // Retries while a pruner or committer removes the directory under us.
  for (int attempt = 0;; ++attempt) {
    if (attempt == 100) return Fail(ErrorCode::Conflict, "{}: directory keeps disappearing", ctx);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return FailErrno(errno, "{}: mkdir {}", ctx, dir);
    LockOutcome outcome = TRY_CTX(ctx, try_lock_ingest(dir, /*create=*/true, lock));
    if (outcome == LockOutcome::Locked) break;
    if (outcome == LockOutcome::Busy)
      return Fail(ErrorCode::Conflict, "ingest {} is in use", quote(ref));
  }
  std::string ref_path = dir + "/ref";
  if (!path_exists(ref_path)) TRY_CTX(ctx, write_file_atomic(ref_path, ref, 0600));
  std::string data_path = dir + "/data";
  UniqueFd data = TRY_CTX(ctx, open_fd(data_path, O_RDWR | O_CREAT | O_APPEND, 0644));
  auto writer = std::make_unique<LocalContentWriter>(layout, std::string(ref), dir,
                                                     std::move(lock), std::move(data));
  TRY_CTX(ctx, writer->resync());
  return std::unique_ptr<ContentWriter>(std::move(writer));
}

}  // namespace berth::image::detail
