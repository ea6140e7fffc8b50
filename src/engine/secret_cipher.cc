// Secret values at rest: the key file, AES-256-GCM over OpenSSL EVP, wiped plaintext buffers.
#include "engine/secret_cipher.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>

#include "base/fs.h"
#include "base/scope_guard.h"

namespace berth::engine {
namespace {

constexpr std::string_view kTamperMessage = "decryption failed: the value or the key was modified";

// The newest OpenSSL error as text, for failures that are not an authentication failure.
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// A GCM context keyed with key and nonce, with aad already fed in.
Result<CipherCtx> gcm_context(bool encrypt, const SecretKey& key, const unsigned char* nonce,
                              std::string_view aad) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Fail(ErrorCode::Internal, "aes-256-gcm: {}", openssl_error());
  int len = 0;
  bool ok =
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kSecretNonceSize, nullptr) == 1 &&
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce, encrypt ? 1 : 0) == 1 &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) == 1;
  if (!ok) return Fail(ErrorCode::Internal, "aes-256-gcm setup: {}", openssl_error());
  return ctx;
}

Result<void> fsync_dir(const std::string& dir) {
  UniqueFd fd = TRY(open_fd(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return FailErrno(errno, "fsync {}", dir);
  return {};
}

// Writes 32 fresh random bytes to <dir>/key unless a key is already there.
Result<void> create_key(const std::string& dir) {
  std::string path = dir + "/key";
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a crashed berth with the same pid
  SecretKey fresh{};
  auto wipe = defer([&] { OPENSSL_cleanse(fresh.data(), fresh.size()); });
  if (RAND_bytes(fresh.data(), static_cast<int>(fresh.size())) != 1)
    return Fail(ErrorCode::Internal, "generate secrets key: {}", openssl_error());
  {
    UniqueFd fd = TRY(open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
    auto drop = defer([&] { ::unlink(tmp.c_str()); });
    TRY_CTX("write " + tmp,
            write_all(fd.get(), {reinterpret_cast<const char*>(fresh.data()), fresh.size()}));
    if (::fsync(fd.get()) != 0) return FailErrno(errno, "fsync {}", tmp);
    drop.dismiss();
  }
  // link() fails with EEXIST instead of replacing: a key that exists stays the key.
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) return FailErrno(err, "link {} to {}", tmp, path);
  return fsync_dir(dir);
}

}  // namespace

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecretBytes::truncate(size_t size) {
  if (size >= bytes_.size()) return;
  OPENSSL_cleanse(bytes_.data() + size, bytes_.size() - size);
  bytes_.resize(size);
}

void SecretBytes::wipe() {
  // The whole allocation, not just size(): truncate() leaves wiped bytes past the end.
  if (bytes_.capacity() > 0) OPENSSL_cleanse(bytes_.data(), bytes_.capacity());
}

Result<void> load_secret_key(const std::string& dir, bool create_missing, SecretKey& key) {
  std::string path = dir + "/key";
  if (create_missing) {
    TRY(make_dirs(dir, 0700));
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0) return FailErrno(errno, "stat {}", dir);
    if (!S_ISDIR(st.st_mode)) return Fail(ErrorCode::Conflict, "{} is not a directory", dir);
    if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
      return FailErrno(errno, "chmod 0700 {}", dir);
    if (!path_exists(path)) TRY_CTX("create secrets key", create_key(dir));
  }
  UniqueFd fd = TRY_CTX("secrets key", open_fd(path, O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "stat {}", path);
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(key.size()))
    return Fail(ErrorCode::Conflict, "secrets key {}: not a regular file of {} bytes", path,
                key.size());
  if (st.st_uid != ::geteuid())
    return Fail(ErrorCode::PermissionDenied,
                "secrets key {}: owned by uid {}, not by this user ({})", path, st.st_uid,
                ::geteuid());
  if ((st.st_mode & 077) != 0)
    return Fail(
        ErrorCode::PermissionDenied,
        "secrets key {}: mode {:04o} lets other users read it; it must be 0600 (chmod 600 {})",
        path, st.st_mode & 07777, path);
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd.get(), key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "read {}", path);
    if (n == 0)
      return Fail(ErrorCode::Conflict, "secrets key {}: shorter than {} bytes", path, key.size());
    got += static_cast<size_t>(n);
  }
  return {};
}

Result<std::string> seal_secret(const SecretKey& key, std::string_view plaintext,
                                std::string_view aad) {
  if (plaintext.size() > static_cast<size_t>(INT_MAX) - kSecretTagSize)
    return Fail(ErrorCode::InvalidArgument, "secret value of {} bytes is too large to encrypt",
                plaintext.size());
  std::string out(kSecretNonceSize + plaintext.size() + kSecretTagSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kSecretNonceSize) != 1)
    return Fail(ErrorCode::Internal, "generate nonce: {}", openssl_error());
  auto ctx = TRY(gcm_context(true, key, bytes, aad));
  int len = 0, tail = 0;
  bool ok = EVP_EncryptUpdate(ctx.get(), bytes + kSecretNonceSize, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), bytes + kSecretNonceSize + len, &tail) == 1 &&
            static_cast<size_t>(len + tail) == plaintext.size() &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kSecretTagSize,
                                bytes + kSecretNonceSize + plaintext.size()) == 1;
  if (!ok) return Fail(ErrorCode::Internal, "aes-256-gcm encrypt: {}", openssl_error());
  return out;
}

Result<SecretBytes> unseal_secret(const SecretKey& key, std::string_view sealed,
                                  std::string_view aad) {
  if (sealed.size() < kSecretNonceSize + kSecretTagSize ||
      sealed.size() > static_cast<size_t>(INT_MAX))
    return Fail(ErrorCode::Internal, "{}", kTamperMessage);
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t size = sealed.size() - kSecretNonceSize - kSecretTagSize;
  auto ctx = TRY(gcm_context(false, key, bytes, aad));
  // One spare byte: EVP may write up to a block more than it reports, never with GCM, but the
  // buffer stays ours and is wiped either way.
  SecretBytes plain(size + 1);
  std::array<unsigned char, kSecretTagSize> tag;
  std::copy(bytes + kSecretNonceSize + size, bytes + sealed.size(), tag.begin());
  int len = 0, tail = 0;
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, bytes + kSecretNonceSize,
                        static_cast<int>(size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kSecretTagSize, tag.data()) != 1)
    return Fail(ErrorCode::Internal, "aes-256-gcm decrypt: {}", openssl_error());
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &tail) != 1) {
    ERR_clear_error();
    return Fail(ErrorCode::Internal, "{}", kTamperMessage);
  }
  plain.truncate(static_cast<size_t>(len + tail));
  return plain;
}

Result<std::string> random_secret_id() {
  static constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  while (id.size() < 25) {
    unsigned char buf[32];
    if (RAND_bytes(buf, sizeof(buf)) != 1)
      return Fail(ErrorCode::Internal, "generate secret ID: {}", openssl_error());
    // 252 = 7 * 36: rejecting larger bytes keeps every character equally likely.
    for (unsigned char b : buf)
      if (b < 252 && id.size() < 25) id += kAlphabet[b % kAlphabet.size()];
  }
  return id;
}

}  // namespace berth::engine
