// SHA-256 vectors and digest parsing.
#include "base/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_of("").hex, kEmpty);
  EXPECT_EQ(sha256_of("abc").hex, kAbc);
  EXPECT_EQ(sha256_of("abc").algorithm, "sha256");
  EXPECT_EQ(sha256_of("abc").to_string(), std::string("sha256:") + kAbc);
  // FIPS 180-2 two-block vector.
  EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalEqualsWhole) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 253);
  Sha256 h;
  for (size_t off = 0; off < data.size(); off += 777)
    h.update(std::string_view(data).substr(off, 777));
  EXPECT_EQ(h.digest(), sha256_of(data));

  Sha256 abc;
  abc.update("a");
  abc.update("");
  abc.update("bc");
  Sha256 moved = std::move(abc);
  EXPECT_EQ(moved.digest().hex, kAbc);
}

TEST(ParseDigest, Good) {
  auto d = parse_digest(std::string("sha256:") + kAbc);
  ASSERT_TRUE(d.has_value()) << d.error().what();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->hex, kAbc);
  EXPECT_FALSE(d->empty());
  EXPECT_EQ(*d, sha256_of("abc"));
  EXPECT_TRUE(Digest{}.empty());
}

void expect_error(std::string_view text, const std::string& message) {
  auto d = parse_digest(text);
  ASSERT_FALSE(d.has_value()) << text;
  EXPECT_EQ(d.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(d.error().what(), message);
}

TEST(ParseDigest, Bad) {
  expect_error(kAbc, std::string("invalid digest \"") + kAbc + "\": missing algorithm");
  expect_error("", "invalid digest \"\": missing algorithm");
  expect_error(std::string("sha512:") + kAbc,
               std::string("invalid digest \"sha512:") + kAbc + "\": unsupported algorithm \"sha512\"");
  expect_error("sha256:zz", "invalid digest \"sha256:zz\": sha256 needs 64 hex digits");
  expect_error("sha256:", "invalid digest \"sha256:\": sha256 needs 64 hex digits");
  std::string upper = std::string("sha256:") + kAbc;
  upper[10] = 'A';
  expect_error(upper, "invalid digest \"" + upper + "\": not lowercase hexadecimal");
  std::string nonhex = std::string("sha256:") + kAbc;
  nonhex.back() = 'g';
  expect_error(nonhex, "invalid digest \"" + nonhex + "\": not lowercase hexadecimal");
  expect_error(std::string("SHA256:") + kAbc,
               std::string("invalid digest \"SHA256:") + kAbc + "\": unsupported algorithm \"SHA256\"");
  // Control bytes are escaped so the message stays one line.
  auto d = parse_digest("sha256:\n");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().what().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace berth
