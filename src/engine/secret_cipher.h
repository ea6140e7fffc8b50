// The cryptography of secrets at rest: the key file, AES-256-GCM sealing (OpenSSL EVP), the
// buffers that hold plaintext, and Docker-style random secret IDs. SecretStore uses these;
// nothing here touches berth.db.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::engine {

// Plaintext bytes that are wiped (OPENSSL_cleanse) when destroyed. Move-only; its storage is
// never reallocated, so no unwiped copy is left on the heap.
class SecretBytes {
 public:
  SecretBytes() = default;
  // A zero-filled buffer of size bytes.
  explicit SecretBytes(size_t size) : bytes_(size) {}
  ~SecretBytes() { wipe(); }
  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  unsigned char* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  // Shrinks to size bytes, wiping the tail; never grows, never reallocates.
  void truncate(size_t size);

 private:
  void wipe();
  std::vector<unsigned char> bytes_;
};

// A 256-bit AES key; wiped by its owner (SecretStore) when no longer needed.
using SecretKey = std::array<unsigned char, 32>;

inline constexpr size_t kSecretNonceSize = 12;
inline constexpr size_t kSecretTagSize = 16;

// Reads the key from <dir>/key. With create_missing, a missing key (and dir, made 0700) is
// first created: 32 random bytes written to a temp file (0600, fsynced) and linked into place,
// so a key that exists is never replaced, even by a concurrent create. Refuses a key file
// that is not a regular 32-byte file of this user readable by nobody else.
Result<void> load_secret_key(const std::string& dir, bool create_missing, SecretKey& key);

// nonce (12 random bytes) || AES-256-GCM ciphertext || tag (16 bytes), aad authenticated.
Result<std::string> seal_secret(const SecretKey& key, std::string_view plaintext,
                                std::string_view aad);
// The inverse of seal_secret. A short, modified or wrongly keyed input is Internal:
// "decryption failed: the value or the key was modified".
Result<SecretBytes> unseal_secret(const SecretKey& key, std::string_view sealed,
                                  std::string_view aad);

// 25 random characters of [0-9a-z], as Docker's secret IDs.
Result<std::string> random_secret_id();

}  // namespace berth::engine
