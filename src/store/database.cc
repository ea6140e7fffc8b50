#include "store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <array>

namespace berth::store {
namespace {

Unexpected sqlite_error(sqlite3* db, std::string_view what) {
  int code = sqlite3_errcode(db);
  ErrorCode category = ErrorCode::Internal;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) category = ErrorCode::Unavailable;
  if (code == SQLITE_CONSTRAINT) category = ErrorCode::AlreadyExists;
  if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_CANTOPEN)
    category = ErrorCode::PermissionDenied;
  return Fail(category, "{}: {}", what, sqlite3_errmsg(db));
}

// Migration N brings the schema from version N to N+1. Never edit one that has shipped.
constexpr std::array<std::string_view, 5> kMigrations = {
    R"sql(
    CREATE TABLE images (
      id              TEXT PRIMARY KEY,   -- config digest, the image ID
      manifest_digest TEXT NOT NULL,
      manifest_type   TEXT NOT NULL,
      manifest_size   INTEGER NOT NULL,
      size            INTEGER NOT NULL,   -- unpacked bytes
      snapshot        TEXT NOT NULL,      -- top ChainID, '' for no layers
      created         TEXT NOT NULL,      -- when berth stored it (RFC 3339)
      last_tag_time   TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE image_names (
      name     TEXT PRIMARY KEY,          -- docker.io/library/busybox:latest
      image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX image_names_by_image ON image_names(image_id);
    CREATE TABLE image_digests (
      repo_digest TEXT PRIMARY KEY,       -- docker.io/library/busybox@sha256:...
      image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX image_digests_by_image ON image_digests(image_id);
    )sql",
    R"sql(
    CREATE TABLE volumes (
      name       TEXT PRIMARY KEY,
      driver     TEXT NOT NULL DEFAULT 'local',
      mountpoint TEXT NOT NULL,           -- <root>/volumes/<name>/_data
      labels     TEXT NOT NULL DEFAULT '{}',  -- JSON object
      options    TEXT NOT NULL DEFAULT '{}',  -- JSON object
      created    TEXT NOT NULL
    );
    CREATE TABLE secrets (
      id      TEXT PRIMARY KEY,           -- 25 lowercase alphanumerics, as Docker's
      name    TEXT NOT NULL UNIQUE,
      labels  TEXT NOT NULL DEFAULT '{}',
      created TEXT NOT NULL,
      updated TEXT NOT NULL               -- the value: <root>/secrets/<id>, AES-256-GCM
    );
    )sql",
    R"sql(
    CREATE TABLE containers (
      id       TEXT PRIMARY KEY,          -- 64 hex digits
      name     TEXT NOT NULL UNIQUE,      -- without Docker's leading '/'
      image_id TEXT NOT NULL,             -- images(id), kept while the container exists
      created  TEXT NOT NULL,
      config   TEXT NOT NULL,             -- JSON: the create request and resolved mounts
      state    TEXT NOT NULL              -- JSON: status, pids, exit, health
    );
    CREATE INDEX containers_by_image ON containers(image_id);
    CREATE TABLE container_volumes (
      container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
      volume       TEXT NOT NULL,
      PRIMARY KEY (container_id, volume)
    );
    CREATE INDEX container_volumes_by_volume ON container_volumes(volume);
    )sql",
    R"sql(
    CREATE TABLE networks (
      id      TEXT PRIMARY KEY,           -- 64 hex digits
      name    TEXT NOT NULL UNIQUE,
      created TEXT NOT NULL,
      config  TEXT NOT NULL               -- JSON: driver, subnet, gateway, ip range, bridge, labels
    );
    CREATE TABLE network_endpoints (      -- addresses handed out to running containers
      network_id   TEXT NOT NULL REFERENCES networks(id),
      container_id TEXT NOT NULL,
      ip           TEXT NOT NULL,
      names        TEXT NOT NULL,         -- space-separated names the network's DNS answers with ip
      PRIMARY KEY (network_id, container_id),
      UNIQUE (network_id, ip)
    );
    CREATE INDEX network_endpoints_by_container ON network_endpoints(container_id);
    )sql",
    R"sql(
    CREATE TABLE build_cache (            -- berth build: a cached step's layer, or a build's image
      key        TEXT PRIMARY KEY,        -- sha256 hex of the step's cache key
      kind       TEXT NOT NULL,           -- layer | image
      diff_id    TEXT NOT NULL,           -- layer: its diff ID; image: the image ID
      digest     TEXT NOT NULL,           -- layer: the blob's digest
      media_type TEXT NOT NULL,
      size       INTEGER NOT NULL,
      created    TEXT NOT NULL
    );
    )sql",
};

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, sqlite3_sql(stmt_));
}

Result<void> Statement::run() {
  while (TRY(step())) {
  }
  return {};
}

std::string Statement::text(int column) const {
  auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column)) : "";
}
int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  // Create the file 0600 first (sqlite would use the umask), and only when it is absent:
  // closing a descriptor of a file drops every POSIX lock this process holds on it, which
  // would silently release the locks of this process's other connections to berth.db and
  // let another process reset the WAL under them (commits then vanish for new readers).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  else if (errno != EEXIST) return FailErrno(errno, "open {}", path);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) return sqlite_error(raw, "open " + path);
  sqlite3_busy_timeout(raw, 10000);
  TRY_CTX(path, db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  // Every berth command is a short process, usually the last one with the database open: it
  // would checkpoint and delete the WAL on close (two fsyncs and a directory sync each time).
  // The WAL stays, and is checkpointed once it holds 64 pages (a container's run and removal
  // write ~10). Not SQLite's 1000: the first connection of a process opened while no other
  // has the database open rebuilds the WAL index by reading every page in the WAL (4 MB at
  // 1000 pages, ~5 ms on these VMs), and most berth processes are such first connections.
  TRY_CTX(path, db->exec("PRAGMA wal_autocheckpoint=64;"));
  int one = 1;
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_file_control(raw, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
  TRY_CTX(path, db->migrate());
  return db;
}

Result<std::shared_ptr<Database>> Database::shared(std::shared_ptr<Database> db, const std::string& path) {
  if (db) return db;
  return std::shared_ptr<Database>(TRY(open(path)));
}

Database::~Database() { sqlite3_close_v2(db_); }

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(db_, fmt::format("prepare {}", sql));
  return Statement(db_, stmt);
}

Result<void> Database::exec(std::string_view sql) {
  std::string text(sql);
  char* msg = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Fail(sqlite3_errcode(db_) == SQLITE_BUSY ? ErrorCode::Unavailable : ErrorCode::Internal,
                "sqlite: {}", m);
  }
  return {};
}

Result<void> Database::transaction(const std::function<Result<void>()>& fn) {
  TRY(exec("BEGIN IMMEDIATE"));
  auto r = fn();
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  if (auto c = exec("COMMIT"); !c) {
    (void)exec("ROLLBACK");
    return c;
  }
  return {};
}

int64_t Database::changes() const { return sqlite3_changes64(db_); }

Result<void> Database::migrate() {
  auto read_version = [&]() -> Result<size_t> {
    auto q = TRY(prepare("PRAGMA user_version"));
    TRY(q.step());
    return static_cast<size_t>(q.integer(0));
  };
  // Up to date, as nearly always: no write lock taken (it would queue behind other writers).
  if (TRY(read_version()) == kMigrations.size()) return {};
  return transaction([&]() -> Result<void> {
    auto version = TRY(read_version());
    if (version > kMigrations.size())
      return Fail(ErrorCode::Conflict,
                  "database schema version {} is newer than this berth understands ({})", version,
                  kMigrations.size());
    for (size_t v = version; v < kMigrations.size(); ++v)
      TRY_CTX(fmt::format("migration {}", v + 1), exec(kMigrations[v]));
    if (version != kMigrations.size())
      TRY(exec(fmt::format("PRAGMA user_version = {}", kMigrations.size())));
    return {};
  });
}

}  // namespace berth::store
