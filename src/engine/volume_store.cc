// VolumeStore: volume rows in berth.db and their directories under <root>/volumes.
#include "engine/volume_store.h"

#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

constexpr std::string_view kTrashPrefix = ".trash-";

Result<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t got = 0; got < bytes;) {
    ssize_t r = ::getrandom(raw.data() + got, bytes - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "getrandom");
    }
    got += static_cast<size_t>(r);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Docker's CreatedAt: RFC 3339 to the second.
std::string now_rfc3339_seconds() {
  time_t now = ::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string to_json(const StringMap& map) { return nlohmann::json(map).dump(); }

Result<StringMap> from_json(const std::string& text, std::string_view what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail(ErrorCode::Internal, "{}: not a JSON object: {}", what, text);
  StringMap out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Fail(ErrorCode::Internal, "{}: value of {} is not a string", what, k);
    out[k] = v.get<std::string>();
  }
  return out;
}

Unexpected no_such_volume(const std::string& name) {
  return Fail(ErrorCode::NotFound, "No such volume: {}", name);
}

// mkdir that reports whether it made the directory; an existing directory is fine.
Result<bool> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) {
    // Exact mode whatever the umask.
    if (::chmod(path.c_str(), mode) != 0) return FailErrno(errno, "chmod {}", path);
    return true;
  }
  if (errno != EEXIST) return FailErrno(errno, "mkdir {}", path);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return FailErrno(errno, "stat {}", path);
  if (!S_ISDIR(st.st_mode)) return Fail(ErrorCode::Conflict, "{} exists and is not a directory", path);
  return false;
}

// <volumes>/<name> (0700) and its _data (0755); returns whether <name> was made.
Result<bool> make_volume_dirs(const std::string& mountpoint) {
  std::string dir = mountpoint.substr(0, mountpoint.rfind('/'));
  bool made = TRY(make_dir(dir, 0700));
  auto data = make_dir(mountpoint, 0755);
  if (!data) {
    if (made) (void)remove_all(dir);
    return Err(std::move(data.error()));
  }
  return made;
}

}  // namespace

Result<std::unique_ptr<VolumeStore>> VolumeStore::open(const EngineOptions& options,
                                                       std::shared_ptr<store::Database> db) {
  TRY(make_dirs(options.root, 0700));
  std::unique_ptr<VolumeStore> s(new VolumeStore(options));
  TRY(make_dir(s->volumes_dir(), 0700));
  s->db_ = TRY(store::Database::shared(std::move(db), options.root + "/berth.db"));
  return s;
}

std::vector<std::string> VolumeStore::users(const std::string& name) const {
  if (in_use_) return in_use_(name);
  auto ids = store::ContainerRecords(*db_).using_volume(name);
  return ids ? *ids : std::vector<std::string>{};
}

Result<std::optional<Volume>> VolumeStore::find(const std::string& name) {
  auto q = TRY(db_->prepare("SELECT name, driver, mountpoint, labels, options, created FROM volumes WHERE name = ?"));
  q.bind(1, name);
  if (!TRY(q.step())) return std::optional<Volume>();
  Volume v;
  v.name = q.text(0);
  v.driver = q.text(1);
  v.mountpoint = q.text(2);
  v.labels = TRY(from_json(q.text(3), fmt::format("labels of volume {}", name)));
  v.options = TRY(from_json(q.text(4), fmt::format("options of volume {}", name)));
  v.created = q.text(5);
  return std::optional<Volume>(std::move(v));
}

Result<void> VolumeStore::insert(const Volume& v) {
  auto q = TRY(db_->prepare(
      "INSERT INTO volumes (name, driver, mountpoint, labels, options, created) VALUES (?, ?, ?, ?, ?, ?)"));
  q.bind(1, v.name).bind(2, v.driver).bind(3, v.mountpoint);
  q.bind(4, to_json(v.labels)).bind(5, to_json(v.options)).bind(6, v.created);
  return q.run();
}

Result<Volume> VolumeStore::create(const std::string& name, const StringMap& labels, const std::string& driver,
                                   const StringMap& options) {
  std::string what = name.empty() ? "create volume" : "create " + name;
  if (!name.empty()) TRY_CTX(what, validate_volume_name(name));
  if (driver != "local")
    return Fail(ErrorCode::InvalidArgument, "{}: volume driver {} is not supported (local only)", what, driver);
  TRY_CTX(what, validate_volume_options(options));

  Volume v;
  v.name = name.empty() ? TRY(random_hex(32)) : name;
  v.driver = driver;
  v.labels = labels;
  if (name.empty()) v.labels[kAnonymousVolumeLabel] = "";
  v.options = options;
  v.created = now_rfc3339_seconds();
  std::string dir = volumes_dir() + "/" + v.name;
  v.mountpoint = dir + "/_data";

  bool made = false;
  auto r = db_->transaction([&]() -> Result<void> {
    if (auto existing = TRY(find(v.name))) {
      // Docker returns the existing volume (its labels win); different options are a conflict.
      if (existing->driver != driver || existing->options != options)
        return Fail(ErrorCode::Conflict, "volume {} already exists with driver {} and different options",
                    v.name, existing->driver);
      v = std::move(*existing);
      TRY(make_volume_dirs(v.mountpoint));  // a row whose directory was lost gets an empty one
      return {};
    }
    made = TRY(make_volume_dirs(v.mountpoint));
    return insert(v);
  });
  if (!r) {
    if (made) {
      if (auto rm = remove_all(dir); !rm) log::warn("{}: {}", what, rm.error().what());
    }
    return Err(std::move(r.error().context(what)));
  }
  return v;
}

Result<Volume> VolumeStore::get(const std::string& name) {
  auto v = TRY(find(name));
  if (!v) return no_such_volume(name);
  return std::move(*v);
}

Result<std::vector<Volume>> VolumeStore::list() {
  std::vector<std::string> names;
  auto q = TRY(db_->prepare("SELECT name FROM volumes ORDER BY name"));
  while (TRY(q.step())) names.push_back(q.text(0));
  std::vector<Volume> out;
  for (const auto& name : names) {
    if (auto v = TRY(find(name))) out.push_back(std::move(*v));
  }
  return out;
}

Result<std::string> VolumeStore::unlink(const std::string& name) {
  auto q = TRY(db_->prepare("DELETE FROM volumes WHERE name = ?"));
  q.bind(1, name);
  TRY(q.run());
  std::string dir = volumes_dir() + "/" + name;
  std::string trash = volumes_dir() + "/" + std::string(kTrashPrefix) + TRY(random_hex(8));
  if (::rename(dir.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return std::string();
    return FailErrno(errno, "rename {} to {}", dir, trash);
  }
  return trash;
}

Result<void> VolumeStore::remove(const std::string& name, bool force) {
  std::string trash;
  auto r = db_->transaction([&]() -> Result<void> {
    if (!TRY(find(name))) {
      if (force) return {};
      return no_such_volume(name);
    }
    if (auto in = users(name); !in.empty())
      return Fail(ErrorCode::Conflict, "remove {}: volume is in use - [{}]", name, join(in, ", "));
    trash = TRY(unlink(name));
    return {};
  });
  if (!r) return r;
  if (!trash.empty()) TRY_CTX(fmt::format("remove {}", name), remove_all(trash));
  return {};
}

Result<std::vector<std::string>> VolumeStore::trash_orphans() {
  std::vector<std::string> trash;
  DIR* d = ::opendir(volumes_dir().c_str());
  if (!d) return FailErrno(errno, "open {}", volumes_dir());
  std::vector<std::string> entries;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") entries.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : entries) {
    if (starts_with(n, kTrashPrefix)) {
      trash.push_back(volumes_dir() + "/" + n);  // left by a crashed remove
    } else if (!TRY(find(n))) {
      log::debug("sweeping volume directory {} without a row", n);
      std::string path = TRY(unlink(n));  // no row to delete: only the rename
      if (!path.empty()) trash.push_back(std::move(path));
    }
  }
  return trash;
}

Result<VolumePruneReport> VolumeStore::prune(const VolumePruneFilter& filter) {
  auto selected = [&](const Volume& v) {
    if (!filter.all && !v.anonymous()) return false;
    for (const auto& l : filter.labels)
      if (!label_filter_matches(v.labels, l)) return false;
    for (const auto& l : filter.not_labels)
      if (label_filter_matches(v.labels, l)) return false;
    return users(v.name).empty();
  };
  VolumePruneReport report;
  std::vector<std::string> trash;
  TRY(db_->transaction([&]() -> Result<void> {
    report.deleted.clear();
    trash.clear();
    for (const auto& v : TRY(list())) {
      if (!selected(v)) continue;
      std::string path = TRY(unlink(v.name));
      if (!path.empty()) trash.push_back(std::move(path));
      report.deleted.push_back(v.name);
    }
    for (auto& path : TRY(trash_orphans())) trash.push_back(std::move(path));
    return {};
  }));
  for (const auto& path : trash) {
    if (auto size = directory_size(path)) report.reclaimed += *size;
    if (auto rm = remove_all(path); !rm) log::warn("volume prune: {}", rm.error().what());
  }
  return report;
}

Result<Volume> VolumeStore::ensure(const std::string& name) {
  if (!name.empty()) {
    if (auto v = TRY(find(name))) {
      TRY(make_volume_dirs(v->mountpoint));
      return std::move(*v);
    }
  }
  return create(name);
}

Result<int64_t> VolumeStore::size(const Volume& volume) { return directory_size(volume.mountpoint); }

Result<VolumeDiskUsage> VolumeStore::disk_usage() {
  VolumeDiskUsage u;
  for (const auto& v : TRY(list())) {
    int64_t bytes = TRY(size(v));
    bool active = !users(v.name).empty();
    ++u.count;
    u.size += bytes;
    if (active) {
      ++u.active;
    } else {
      u.reclaimable += bytes;
    }
  }
  return u;
}

}  // namespace berth::engine
