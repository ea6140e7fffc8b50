#include "base/digest.h"

#include <openssl/evp.h>

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
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

Digest Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return Digest{"sha256", std::move(hex)};
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

}  // namespace berth
