// SecretStore: the secrets table of berth.db plus one encrypted file per value.
#include "engine/secret_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/image_service.h"

namespace berth::engine {
namespace {

constexpr std::string_view kColumns = "rowid, id, name, labels, created, updated";

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_id_prefix(std::string_view s) {
  return !s.empty() && s.size() <= 25 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

Unexpected no_such_secret(std::string_view secret) {
  return Fail(ErrorCode::NotFound, "No such secret: {}", secret);
}

Unexpected bad_size() {
  return Fail(ErrorCode::InvalidArgument,
              "secret data must be larger than 0 and less than {} bytes", kMaxSecretSize);
}

Result<SecretInfo> row_to_info(const store::Statement& q) {
  SecretInfo info;
  info.version = q.integer(0);
  info.id = q.text(1);
  info.name = q.text(2);
  info.created = q.text(4);
  info.updated = q.text(5);
  auto labels = nlohmann::json::parse(q.text(3), nullptr, false);
  if (!labels.is_object())
    return Fail(ErrorCode::Internal, "secret {}: labels in berth.db are not a JSON object",
                info.name);
  for (auto it = labels.begin(); it != labels.end(); ++it)
    info.labels[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  return info;
}

// The rows of a query whose one parameter (if any) is bound to arg.
Result<std::vector<SecretInfo>> query(store::Database& db, const std::string& where,
                                      std::optional<std::string_view> arg) {
  auto q = TRY(db.prepare(fmt::format("SELECT {} FROM secrets {} ORDER BY name", kColumns, where)));
  if (arg) q.bind(1, *arg);
  std::vector<SecretInfo> out;
  while (TRY(q.step())) out.push_back(TRY(row_to_info(q)));
  return out;
}

Result<void> fsync_dir(const std::string& dir) {
  UniqueFd fd = TRY(open_fd(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return FailErrno(errno, "fsync {}", dir);
  return {};
}

}  // namespace

Result<void> validate_secret_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && is_alnum(name.front()) && is_alnum(name.back()) &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
  if (!ok)
    return Fail(
        ErrorCode::InvalidArgument,
        "invalid secret name {}: only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end "
        "character must be [a-zA-Z0-9]",
        quote(name));
  return {};
}

Result<SecretBytes> read_secret_value(int fd, std::string_view what) {
  // Room for one byte more than allowed, allocated once: a too-large value is detected without
  // growing (and so copying) the buffer.
  SecretBytes buf(kMaxSecretSize);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "read secret value from {}", what);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0 || got >= kMaxSecretSize)
    return Err(bad_size().error().context(fmt::format("secret value from {}", what)));
  buf.truncate(got);
  return buf;
}

Result<std::unique_ptr<SecretStore>> SecretStore::open(const EngineOptions& options) {
  TRY(make_dirs(options.root, 0700));
  auto db = TRY(store::Database::open(options.root + "/berth.db"));
  return std::unique_ptr<SecretStore>(new SecretStore(options.root + "/secrets", std::move(db)));
}

SecretStore::~SecretStore() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<void> SecretStore::load_key(bool create_missing) {
  if (key_loaded_) return {};
  TRY(load_secret_key(dir_, create_missing, key_));
  key_loaded_ = true;
  return {};
}

Result<std::string> SecretStore::create(const std::string& name, std::string_view value,
                                        const std::map<std::string, std::string>& labels) {
  TRY(validate_secret_name(name));
  if (value.empty() || value.size() >= kMaxSecretSize) return bad_size();
  for (const auto& [key, v] : labels)
    if (key.empty()) return Fail(ErrorCode::InvalidArgument, "invalid label '={}': empty name", v);
  auto already_exists = [&] {
    return Fail(ErrorCode::AlreadyExists, "secret {} already exists", name);
  };
  // Checked again in the insert's transaction; this one spares the work of a doomed create.
  if (!TRY(query(*db_, "WHERE name = ?", name)).empty()) return already_exists();

  TRY(load_key(true));
  std::string id = TRY(random_secret_id());
  std::string sealed = TRY(seal_secret(key_, value, id));
  std::string path = dir_ + "/" + id;
  TRY_CTX(fmt::format("secret {}", name), write_file_atomic(path, sealed, 0600, true));
  auto drop_file = defer([&] { ::unlink(path.c_str()); });
  TRY_CTX(fmt::format("secret {}", name), fsync_dir(dir_));

  std::string labels_json =
      nlohmann::json(labels).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string now = now_rfc3339();
  TRY(db_->transaction([&]() -> Result<void> {
    if (!TRY(query(*db_, "WHERE name = ?", name)).empty()) return already_exists();
    auto insert = TRY(db_->prepare(
        "INSERT INTO secrets (id, name, labels, created, updated) VALUES (?, ?, ?, ?, ?)"));
    insert.bind(1, id).bind(2, name).bind(3, labels_json).bind(4, now).bind(5, now);
    TRY_CTX(fmt::format("secret {}", name), insert.run());
    return {};
  }));
  drop_file.dismiss();
  return id;
}

Result<std::vector<SecretInfo>> SecretStore::list() { return query(*db_, "", std::nullopt); }

Result<SecretInfo> SecretStore::inspect(const std::string& secret) {
  if (secret.empty()) return no_such_secret(secret);
  // Docker's order: full ID, then name, then a unique ID prefix.
  if (auto r = TRY(query(*db_, "WHERE id = ?", secret)); !r.empty()) return std::move(r.front());
  if (auto r = TRY(query(*db_, "WHERE name = ?", secret)); !r.empty()) return std::move(r.front());
  if (is_id_prefix(secret)) {
    auto r = TRY(query(*db_, "WHERE substr(id, 1, length(?1)) = ?1", secret));
    if (r.size() == 1) return std::move(r.front());
    if (r.size() > 1)
      return Fail(ErrorCode::InvalidArgument, "secret {} is ambiguous ({} matches found)", secret,
                  r.size());
  }
  return no_such_secret(secret);
}

Result<void> SecretStore::remove(const std::string& secret) {
  auto info = TRY(inspect(secret));
  // The row goes first: a crash in between leaves an unreferenced ciphertext, never a secret
  // whose value is missing.
  TRY(db_->transaction([&]() -> Result<void> {
    auto del = TRY(db_->prepare("DELETE FROM secrets WHERE id = ?"));
    del.bind(1, info.id);
    TRY_CTX(fmt::format("remove secret {}", info.name), del.run());
    return {};
  }));
  std::string path = dir_ + "/" + info.id;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    log::warn("secret {} removed, but its encrypted value stays: unlink {}: {}", info.name, path,
              strerror(errno));
  return {};
}

Result<SecretBytes> SecretStore::reveal(const std::string& secret) {
  auto info = TRY(inspect(secret));
  return decrypt_file(info);
}

Result<SecretBytes> SecretStore::decrypt_file(const SecretInfo& info) {
  std::string what = fmt::format("secret {}", info.name);
  TRY_CTX(what, load_key(false));
  std::string sealed = TRY_CTX(what, read_file(dir_ + "/" + info.id));
  return TRY_CTX(what, unseal_secret(key_, sealed, info.id));
}

}  // namespace berth::engine
