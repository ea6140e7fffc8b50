// Content digests ("sha256:<64 hex>") and streaming SHA-256 over OpenSSL's libcrypto.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth {

// A validated "algorithm:hex" digest. Only sha256 is accepted: it is what OCI images use and
// what berth's content store is keyed by.
struct Digest {
  std::string algorithm;  // "sha256"
  std::string hex;        // 64 lowercase hex digits

  std::string to_string() const { return algorithm + ":" + hex; }
  bool empty() const { return hex.empty(); }
  auto operator<=>(const Digest&) const = default;
};

// Parses "sha256:<64 lowercase hex>"; anything else is InvalidArgument quoting the text.
Result<Digest> parse_digest(std::string_view text);

// Incremental SHA-256. Move-only; digest() may be called once, after the last update().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::string_view data);
  Digest digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// SHA-256 of a whole buffer.
Digest sha256_of(std::string_view data);

}  // namespace berth
