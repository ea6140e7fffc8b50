// Secrets as users of `docker secret` see them: named values with labels, encrypted at rest.
// Each value lives in <root>/secrets/<id> as nonce(12) || AES-256-GCM ciphertext || tag(16),
// with the secret's ID as additional authenticated data, under a 32-byte key in
// <root>/secrets/key (0600, directory 0700, created once and never replaced). The metadata is
// the `secrets` table of berth.db. Nothing here prints, logs or stores a plaintext value; the
// buffers that hold one are wiped when released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/engine_options.h"
#include "engine/secret_cipher.h"
#include "store/database.h"

namespace berth::engine {

// Docker's limit on a secret value: at least 1 byte and less than 500 KiB (512000 bytes).
inline constexpr size_t kMaxSecretSize = 500 * 1024;

// Reads a secret value from fd (a file or stdin): at most kMaxSecretSize - 1 bytes, non-empty.
// what names the source in errors ("stdin" for -).
Result<SecretBytes> read_secret_value(int fd, std::string_view what);

// What `secret ls` and `secret inspect` show; never the value.
struct SecretInfo {
  std::string id;  // 25 lowercase alphanumerics
  std::string name;
  std::map<std::string, std::string> labels;
  std::string created;  // RFC 3339 UTC with nanoseconds
  std::string updated;
  int64_t version = 0;  // Docker's Version.Index: the store's row number
};

// Validates a secret name as Docker does: 1-64 characters of [a-zA-Z0-9-_.], starting and
// ending with [a-zA-Z0-9]. InvalidArgument naming the rule.
Result<void> validate_secret_name(std::string_view name);

class SecretStore {
 public:
  // Opens (creating the root and berth.db when absent) the secrets of options.root. The key
  // is created by the first create() and read when a value is encrypted or decrypted.
  static Result<std::unique_ptr<SecretStore>> open(const EngineOptions& options);
  ~SecretStore();
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;

  // Stores value under name; returns the new ID. The encrypted file is written before the row
  // is inserted and removed when the insert fails. AlreadyExists: "secret NAME already exists".
  Result<std::string> create(const std::string& name, std::string_view value,
                             const std::map<std::string, std::string>& labels);
  // Every secret, sorted by name.
  Result<std::vector<SecretInfo>> list();
  // Resolves a full ID, a name, or a unique ID prefix. NotFound: "No such secret: X".
  Result<SecretInfo> inspect(const std::string& secret);
  // Deletes the row, then the encrypted file.
  Result<void> remove(const std::string& secret);
  // The plaintext of a secret, for mounting it into a container (`run --secret`).
  Result<SecretBytes> reveal(const std::string& secret);

  // <root>/secrets: the key file and one encrypted file per secret.
  const std::string& dir() const { return dir_; }

 private:
  SecretStore(std::string dir, std::unique_ptr<store::Database> db)
      : dir_(std::move(dir)), db_(std::move(db)) {}
  // Loads the key, creating it (and the directory) first when create_missing is set.
  Result<void> load_key(bool create_missing);
  Result<SecretBytes> decrypt_file(const SecretInfo& info);

  std::string dir_;
  std::unique_ptr<store::Database> db_;
  SecretKey key_{};
  bool key_loaded_ = false;
};

}  // namespace berth::engine
