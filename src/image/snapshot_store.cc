#include "image/snapshot_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <set>
#include <utility>

#include "base/clock.h"
#include "base/digest.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "oci/json_reader.h"

namespace berth::image {
namespace {

constexpr int kIdCandidates = 5;
constexpr size_t kIdLength = 12;
constexpr int kMaxChain = 4096;

std::vector<std::string> id_candidates(const std::string& key) {
  std::string hex = sha256_of(key).hex;
  std::vector<std::string> out;
  for (int i = 0; i < kIdCandidates; ++i) out.push_back(hex.substr(i * kIdLength, kIdLength));
  return out;
}

const char* kind_name(const SnapshotRecord& rec) {
  if (rec.view) return "view";
  return rec.info.kind == SnapshotKind::Committed ? "committed" : "active";
}


// Bytes and inodes under dir_fd, hardlinked inodes once, not crossing into other filesystems.
Result<void> count_usage(int dir_fd, dev_t dev, std::set<std::pair<dev_t, ino_t>>& seen, SnapshotUsage& u) {
  for (const auto& n : TRY(list_dir_at(dir_fd))) {
    struct stat st;
    if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "stat {}", quote(n));
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    ++u.inodes;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) u.size += st.st_size;
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
      int sub = ::openat(dir_fd, n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) return FailErrno(errno, "open {}", quote(n));
      UniqueFd close_sub(sub);
      TRY_CTX(n, count_usage(sub, dev, seen, u));
    }
  }
  return {};
}

}  // namespace

std::string random_hex(size_t n) {
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Result<SnapshotRecord> read_snapshot_record(const std::string& dir, const std::string& id) {
  std::string path = dir + "/info.json";
  std::string text = TRY(read_file(path));
  auto doc = oci::jsonio::parse_json(text);
  if (!doc) return Err(doc.error().context(path));
  SnapshotRecord rec;
  rec.id = id;
  std::string kind;
  auto r = oci::jsonio::ObjectReader(*doc, "")
               .required("key", rec.info.key)
               .field("parent", rec.info.parent)
               .required("kind", kind)
               .field("created", rec.info.created)
               .field("labels", rec.info.labels)
               .done();
  if (!r) return Err(r.error().context(path));
  if (kind == "committed") {
    rec.info.kind = SnapshotKind::Committed;
  } else if (kind == "active" || kind == "view") {
    rec.view = kind == "view";
  } else {
    return Fail(ErrorCode::InvalidArgument, "{}: kind: unknown kind {}", path, quote(kind));
  }
  return rec;
}

Result<void> write_snapshot_record(const std::string& dir, const SnapshotRecord& rec) {
  nlohmann::json j = nlohmann::json::object();
  j["key"] = rec.info.key;
  j["parent"] = rec.info.parent;
  j["kind"] = kind_name(rec);
  j["created"] = rec.info.created;
  j["labels"] = rec.info.labels;
  return write_file_atomic(dir + "/info.json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                           0600);
}

StoredSnapshotter::StoredSnapshotter(std::string root)
    : root_(std::move(root)), snapshots_(root_ + "/snapshots") {}

Result<void> StoredSnapshotter::init() { return make_dirs(snapshots_, 0700); }

Result<std::optional<SnapshotRecord>> StoredSnapshotter::find(const std::string& key) {
  for (const auto& id : id_candidates(key)) {
    std::string dir = dir_of(id);
    if (!path_exists(dir + "/info.json")) continue;
    SnapshotRecord rec = TRY_CTX("snapshot " + quote(key), read_snapshot_record(dir, id));
    if (rec.info.key == key) return std::optional<SnapshotRecord>(std::move(rec));
  }
  return std::optional<SnapshotRecord>();
}

Result<std::string> StoredSnapshotter::free_id(const std::string& key) {
  for (const auto& id : id_candidates(key)) {
    if (!path_exists(dir_of(id))) return id;
  }
  return Fail(ErrorCode::Conflict, "snapshot {}: every id derived from the key is taken", quote(key));
}

Result<std::vector<SnapshotRecord>> StoredSnapshotter::all() {
  std::vector<SnapshotRecord> out;
  for (const auto& name : TRY(list_dir(snapshots_))) {
    if (starts_with(name, "tmp-") || starts_with(name, ".")) continue;  // "." files: snapshotter notes
    auto rec = read_snapshot_record(dir_of(name), name);
    if (!rec) {
      log::warn("snapshots: skipping {}: {}", name, rec.error().what());
      continue;
    }
    out.push_back(std::move(*rec));
  }
  return out;
}

Result<std::vector<SnapshotRecord>> StoredSnapshotter::chain_of(const SnapshotRecord& rec) {
  std::vector<SnapshotRecord> chain;
  std::string parent = rec.info.parent;
  while (!parent.empty()) {
    if (chain.size() > kMaxChain) return Fail(ErrorCode::Internal, "snapshot {}: parent chain too long", quote(rec.info.key));
    auto p = TRY(find(parent));
    if (!p) return Fail(ErrorCode::NotFound, "snapshot {}: parent {} not found", quote(rec.info.key), quote(parent));
    parent = p->info.parent;
    chain.push_back(std::move(*p));
  }
  return chain;
}

Result<std::vector<oci::Mount>> StoredSnapshotter::create(const std::string& key, const std::string& parent,
                                                          const std::map<std::string, std::string>& labels,
                                                          bool view) {
  if (key.empty()) return Fail(ErrorCode::InvalidArgument, "snapshot key is empty");
  if (TRY(find(key))) return Fail(ErrorCode::AlreadyExists, "snapshot {} already exists", quote(key));
  std::optional<SnapshotRecord> parent_rec;
  if (!parent.empty()) {
    parent_rec = TRY(find(parent));
    if (!parent_rec || parent_rec->info.kind != SnapshotKind::Committed) {
      return Fail(ErrorCode::NotFound, "snapshot {}: parent {} is not a committed snapshot", quote(key), quote(parent));
    }
  }
  std::string id = TRY(free_id(key));
  std::string tmp = snapshots_ + "/tmp-" + random_hex(8);
  if (::mkdir(tmp.c_str(), 0700) != 0) return FailErrno(errno, "create {}", tmp);
  auto discard = defer([&] { (void)remove_all(tmp); });
  if (::mkdir((tmp + "/fs").c_str(), 0755) != 0) return FailErrno(errno, "create {}/fs", tmp);
  TRY_CTX("snapshot " + quote(key), populate(tmp, parent_rec ? &*parent_rec : nullptr, view));
  SnapshotRecord rec;
  rec.id = id;
  rec.view = view;
  rec.info.key = key;
  rec.info.parent = parent;
  rec.info.kind = SnapshotKind::Active;
  rec.info.created = now_rfc3339();
  rec.info.labels = labels;
  TRY(write_snapshot_record(tmp, rec));
  if (::rename(tmp.c_str(), dir_of(id).c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {
      return Fail(ErrorCode::AlreadyExists, "snapshot {} already exists", quote(key));
    }
    return FailErrno(errno, "rename {} to {}", tmp, dir_of(id));
  }
  discard.dismiss();
  auto chain = TRY(chain_of(rec));
  return mounts_for(rec, chain);
}

Result<std::vector<oci::Mount>> StoredSnapshotter::prepare(const std::string& key, const std::string& parent,
                                                           const std::map<std::string, std::string>& labels) {
  return create(key, parent, labels, false);
}

Result<std::vector<oci::Mount>> StoredSnapshotter::view(const std::string& key, const std::string& parent) {
  return create(key, parent, {}, true);
}

Result<std::vector<oci::Mount>> StoredSnapshotter::mounts(const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return Fail(ErrorCode::NotFound, "snapshot {} not found", quote(key));
  if (rec->info.kind == SnapshotKind::Committed) {
    return Fail(ErrorCode::InvalidArgument, "snapshot {} is committed: mount a view of it", quote(key));
  }
  auto chain = TRY(chain_of(*rec));
  return mounts_for(*rec, chain);
}

Result<void> StoredSnapshotter::commit(const std::string& name, const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return Fail(ErrorCode::NotFound, "snapshot {} not found", quote(key));
  if (rec->view || rec->info.kind != SnapshotKind::Active) {
    return Fail(ErrorCode::InvalidArgument, "commit {}: snapshot {} is not an active snapshot", quote(name), quote(key));
  }
  if (TRY(find(name))) return Fail(ErrorCode::AlreadyExists, "snapshot {} already exists", quote(name));
  std::string new_id = TRY(free_id(name));
  SnapshotRecord committed = *rec;
  committed.info.key = name;
  committed.info.kind = SnapshotKind::Committed;
  std::string old_dir = dir_of(rec->id);
  TRY_CTX("commit " + quote(key), write_snapshot_record(old_dir, committed));
  if (::rename(old_dir.c_str(), dir_of(new_id).c_str()) != 0) {
    int err = errno;
    (void)write_snapshot_record(old_dir, *rec);
    if (err == EEXIST || err == ENOTEMPTY) return Fail(ErrorCode::AlreadyExists, "snapshot {} already exists", quote(name));
    return FailErrno(err, "commit {}: rename {} to {}", quote(key), old_dir, dir_of(new_id));
  }
  return {};
}

Result<void> StoredSnapshotter::remove(const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return Fail(ErrorCode::NotFound, "snapshot {} not found", quote(key));
  for (const auto& other : TRY(all())) {
    if (other.info.parent == key) {
      return Fail(ErrorCode::Conflict, "snapshot {} is the parent of {}: remove that first", quote(key),
                  quote(other.info.key));
    }
  }
  // Disappear atomically first, then delete at leisure (a crash leaves only a tmp- dir).
  std::string doomed = snapshots_ + "/tmp-rm-" + random_hex(8);
  if (::rename(dir_of(rec->id).c_str(), doomed.c_str()) != 0) {
    return FailErrno(errno, "remove snapshot {}: rename {}", quote(key), dir_of(rec->id));
  }
  return remove_all(doomed);
}

Result<std::optional<SnapshotInfo>> StoredSnapshotter::stat(const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(rec->info);
}

Result<std::vector<SnapshotInfo>> StoredSnapshotter::list() {
  std::vector<SnapshotInfo> out;
  for (auto& rec : TRY(all())) out.push_back(std::move(rec.info));
  return out;
}

Result<SnapshotUsage> StoredSnapshotter::usage(const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return Fail(ErrorCode::NotFound, "snapshot {} not found", quote(key));
  std::string fs = dir_of(rec->id) + "/fs";
  UniqueFd fd = TRY(open_fd(fs, O_PATH | O_DIRECTORY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "stat {}", fs);
  SnapshotUsage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  TRY_CTX("usage of " + fs, count_usage(fd.get(), st.st_dev, seen, u));
  return u;
}

Result<std::string> StoredSnapshotter::apply_dir(const std::string& key) {
  auto rec = TRY(find(key));
  if (!rec) return Fail(ErrorCode::NotFound, "snapshot {} not found", quote(key));
  if (rec->view || rec->info.kind != SnapshotKind::Active) {
    return Fail(ErrorCode::InvalidArgument, "snapshot {} is not an active snapshot", quote(key));
  }
  return dir_of(rec->id) + "/fs";
}

Result<int> StoredSnapshotter::cleanup() {
  int removed = 0;
  for (const auto& name : TRY(list_dir(snapshots_))) {
    if (starts_with(name, ".")) continue;
    std::string dir = dir_of(name);
    if (starts_with(name, "tmp-")) {
      TRY_CTX("cleanup", remove_all(dir));
      ++removed;
      continue;
    }
    // A commit interrupted between writing info.json and the rename: finish it.
    auto rec = read_snapshot_record(dir, name);
    if (!rec) continue;
    auto ids = id_candidates(rec->info.key);
    bool placed = false;
    for (const auto& id : ids) placed = placed || id == name;
    if (placed) continue;
    if (TRY(find(rec->info.key))) {
      TRY_CTX("cleanup", remove_all(dir));
      ++removed;
    } else if (auto id = free_id(rec->info.key); id && ::rename(dir.c_str(), dir_of(*id).c_str()) != 0) {
      return FailErrno(errno, "cleanup: rename {} to {}", dir, dir_of(*id));
    }
  }
  return removed;
}

}  // namespace berth::image
