// The local content store: blobs under <root>/blobs/sha256/<hex>, ingests under <root>/ingest/
// (see content_writer.h for the ingest protocol).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>

#include "base/fs.h"
#include "base/strings.h"
#include "image/content_store.h"
#include "image/content_writer.h"

namespace berth::image {
namespace {

using detail::LockOutcome;
using detail::StoreLayout;

// Owner of an open directory stream.
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;


// A ref no other put() in any process uses.
std::string unique_put_ref(const Digest& digest) {
  static std::atomic<uint64_t> counter{0};
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return fmt::format("put-{}-{}-{}-{}{:09}", digest.hex, ::getpid(), counter++, ts.tv_sec,
                     ts.tv_nsec);
}

class LocalContentStore final : public ContentStore {
 public:
  explicit LocalContentStore(std::string root) : layout_{std::move(root)} {}

  Result<std::optional<BlobInfo>> stat(const Digest& digest) override {
    std::string path = layout_.blob_path(digest.hex);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return std::optional<BlobInfo>{};
      return FailErrno(errno, "stat blob {}", digest.to_string());
    }
    if (!S_ISREG(st.st_mode))
      return Fail(ErrorCode::Internal, "blob {} at {} is not a regular file", digest.to_string(),
                  path);
    return std::optional<BlobInfo>(BlobInfo{digest, static_cast<int64_t>(st.st_size)});
  }

  Result<UniqueFd> open(const Digest& digest) override {
    std::string path = layout_.blob_path(digest.hex);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
      if (errno == ENOENT)
        return Fail(ErrorCode::NotFound, "blob {} not found", digest.to_string());
      return FailErrno(errno, "open blob {}", digest.to_string());
    }
    return fd;
  }

  Result<std::string> read(const Digest& digest, int64_t max_size) override {
    UniqueFd fd = TRY(open(digest));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "stat blob {}", digest.to_string());
    if (st.st_size > max_size)
      return Fail(ErrorCode::InvalidArgument, "blob {} is {} bytes, more than the {} allowed",
                  digest.to_string(), static_cast<int64_t>(st.st_size), max_size);
    return TRY_CTX(fmt::format("read blob {}", digest.to_string()), read_all(fd.get()));
  }

  std::string path(const Digest& digest) const override { return layout_.blob_path(digest.hex); }

  Result<std::unique_ptr<ContentWriter>> writer(std::string_view ref) override {
    return detail::open_local_writer(layout_, ref);
  }

  Result<BlobInfo> put(std::string_view data) override {
    Digest digest = sha256_of(data);
    std::string ctx = fmt::format("put blob {}", digest.to_string());
    if (auto existing = TRY_CTX(ctx, stat(digest)); existing) return *existing;
    auto w = TRY_CTX(ctx, writer(unique_put_ref(digest)));
    if (auto r = w->write(data); !r) {
      (void)w->abort();
      return Err(r.error().context(ctx));
    }
    return TRY_CTX(ctx, w->commit(digest, static_cast<int64_t>(data.size())));
  }

  Result<void> remove(const Digest& digest) override {
    std::string path = layout_.blob_path(digest.hex);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT)
        return Fail(ErrorCode::NotFound, "remove blob {}: not found", digest.to_string());
      return FailErrno(errno, "remove blob {}", digest.to_string());
    }
    return {};
  }

  Result<std::vector<BlobInfo>> list() override {
    std::vector<BlobInfo> blobs;
    for (const auto& name : TRY(list_dir(layout_.blobs_dir()))) {
      auto digest = parse_digest("sha256:" + name);
      if (!digest) continue;  // not a blob (nothing else is written here, but be tolerant)
      auto info = TRY(stat(*digest));
      if (info) blobs.push_back(*info);
    }
    return blobs;
  }

  Result<int64_t> prune_ingests(std::chrono::seconds max_age,
                                const std::function<bool(std::string_view)>& resumable) override {
    int64_t freed = 0;
    std::string root = layout_.ingest_root();
    time_t cutoff = ::time(nullptr) - static_cast<time_t>(max_age.count());
    for (const auto& name : TRY(list_dir(root))) {
      std::string dir = root + "/" + name;
      std::string ctx = fmt::format("prune ingest {}", dir);
      UniqueFd lock;
      LockOutcome outcome = TRY_CTX(ctx, detail::try_lock_ingest(dir, /*create=*/false, lock));
      if (outcome == LockOutcome::Gone) {
        (void)::rmdir(dir.c_str());  // left empty by a crash right after mkdir; else not ours
        continue;
      }
      if (outcome == LockOutcome::Busy) continue;
      struct stat st;
      std::string data = dir + "/data";
      bool has_data = ::stat(data.c_str(), &st) == 0;
      if (!has_data && ::stat(dir.c_str(), &st) != 0) continue;
      bool keep_for_resume = true;
      if (resumable) {
        auto ref = read_file(dir + "/ref");
        keep_for_resume = ref && resumable(*ref);
      }
      if (keep_for_resume && max_age.count() > 0 && st.st_mtime >= cutoff) continue;
      TRY_CTX(ctx, detail::remove_locked_ingest(dir));
      if (has_data) freed += static_cast<int64_t>(st.st_size);
    }
    return freed;
  }

 private:
  StoreLayout layout_;
};

}  // namespace

Result<std::unique_ptr<ContentStore>> open_local_content_store(const std::string& root) {
  std::string ctx = fmt::format("open content store {}", root);
  StoreLayout layout{root};
  TRY_CTX(ctx, make_dirs(root, 0700));
  TRY_CTX(ctx, make_dirs(root + "/blobs", 0700));
  TRY_CTX(ctx, make_dirs(layout.blobs_dir(), 0700));
  TRY_CTX(ctx, make_dirs(layout.ingest_root(), 0700));
  return std::unique_ptr<ContentStore>(std::make_unique<LocalContentStore>(root));
}

}  // namespace berth::image
