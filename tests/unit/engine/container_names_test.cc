#include "engine/container_names.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace berth::engine {
namespace {

TEST(ContainerNamesTest, GeneratedNamesAreAdjectiveSurnameAndValid) {
  const std::regex shape("^[a-z]+_[a-z]+$");
  for (int i = 0; i < 5000; ++i) {
    std::string name = generate_container_name();
    ASSERT_TRUE(std::regex_match(name, shape)) << name;
    ASSERT_NE(name, "boring_wozniak");
    auto valid = validate_container_name(name);
    ASSERT_TRUE(valid) << valid.error().what();
    EXPECT_EQ(*valid, name);
  }
}

TEST(ContainerNamesTest, GeneratedNamesVary) {
  std::set<std::string> seen;
  std::set<std::string> adjectives, surnames;
  for (int i = 0; i < 3000; ++i) {
    std::string name = generate_container_name();
    seen.insert(name);
    adjectives.insert(name.substr(0, name.find('_')));
    surnames.insert(name.substr(name.find('_') + 1));
  }
  EXPECT_GT(seen.size(), 2500u);
  // The lists hold about 100 adjectives and 200 surnames; 3000 draws see nearly all of them.
  EXPECT_GE(adjectives.size(), 90u);
  EXPECT_GE(surnames.size(), 180u);
}

TEST(ContainerNamesTest, RetryAppendsOneDigit) {
  const std::regex shape("^[a-z]+_[a-z]+[0-9]$");
  std::set<char> digits;
  for (int i = 0; i < 500; ++i) {
    std::string name = generate_container_name(1 + i % 3);
    ASSERT_TRUE(std::regex_match(name, shape)) << name;
    ASSERT_NE(name.substr(0, name.size() - 1), "boring_wozniak");
    digits.insert(name.back());
  }
  EXPECT_EQ(digits.size(), 10u);
}

TEST(ContainerNamesTest, ValidNamesLoseTheLeadingSlash) {
  for (const char* ok : {"web", "a1", "1abc", "a.b_c-1", "Web_Server.2", "db--x"}) {
    auto v = validate_container_name(ok);
    ASSERT_TRUE(v) << ok << ": " << v.error().what();
    EXPECT_EQ(*v, ok);
  }
  auto slashed = validate_container_name("/web");
  ASSERT_TRUE(slashed) << slashed.error().what();
  EXPECT_EQ(*slashed, "web");
}

TEST(ContainerNamesTest, InvalidNamesSayWhichCharactersAreAllowed) {
  for (const char* bad : {"", "a", "/a", "/", "-web", "_web", ".web", "we b", "web!", "//web",
                          "web/1", "caf\xc3\xa9", "web:1"}) {
    auto v = validate_container_name(bad);
    ASSERT_FALSE(v) << "accepted " << bad;
    EXPECT_EQ(v.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(v.error().what(), std::string("Invalid container name (") + bad +
                                    "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
}

TEST(ContainerNamesTest, IdsAreUniqueLowercaseHexNeverNumericInShortForm) {
  const std::regex hex("^[0-9a-f]{64}$");
  const std::regex numeric("^[0-9]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string id = new_container_id();
    ASSERT_TRUE(std::regex_match(id, hex)) << id;
    ASSERT_FALSE(std::regex_match(id.substr(0, 12), numeric)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace berth::engine
