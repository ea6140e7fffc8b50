#include "base/digest.h"

// SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, but EVP's first digest
// sets up the library context (reads openssl.cnf, loads the default provider): ~3 ms and 60
// page faults in every process that hashes anything, against none for the same code reached
// directly. Every container start hashes in three processes.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "base/strings.h"

namespace berth {

Result<Digest> parse_digest(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return Fail(ErrorCode::InvalidArgument, "invalid digest {}: missing algorithm", quote(text));
  std::string_view algorithm = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  if (algorithm != "sha256")
    return Fail(ErrorCode::InvalidArgument, "invalid digest {}: unsupported algorithm {}",
                quote(text), quote(algorithm));
  if (hex.size() != 64)
    return Fail(ErrorCode::InvalidArgument, "invalid digest {}: sha256 needs 64 hex digits",
                quote(text));
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return Fail(ErrorCode::InvalidArgument,
                  "invalid digest {}: not lowercase hexadecimal", quote(text));
  }
  return Digest{std::string(algorithm), std::string(hex)};
}

struct Sha256::State {
  SHA256_CTX ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { SHA256_Init(&state_->ctx); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  SHA256_Update(&state_->ctx, data.data(), data.size());
}

Digest Sha256::digest() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &state_->ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * sizeof(md));
  for (unsigned char byte : md) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xf]);
  }
  return Digest{"sha256", std::move(hex)};
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

}  // namespace berth
