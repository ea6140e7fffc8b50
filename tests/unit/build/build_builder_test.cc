// The builder's pure parts: --secret values, the cache key hash, Docker's plain progress lines,
// the step labels, and the build cache rows in a real berth.db.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "build/build_internal.h"
#include "build/builder.h"
#include "store/build_cache_records.h"
#include "store/database.h"

namespace berth::build {
namespace {

TEST(SecretSource, FileEnvAndBareId) {
  auto s = parse_secret_source("id=token,src=/tmp/t");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->id, "token");
  EXPECT_EQ(s->src, "/tmp/t");
  s = parse_secret_source("id=api,env=API_KEY");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->env, "API_KEY");
  s = parse_secret_source("id=GH_TOKEN");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->env, "GH_TOKEN");  // a bare id reads the variable of the same name
  s = parse_secret_source("src=/run/keys/deploy.key");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "deploy.key");
}

TEST(SecretSource, BadKeysNameTheFlag) {
  auto s = parse_secret_source("id=x,colour=red");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("--secret"), std::string::npos);
  EXPECT_FALSE(parse_secret_source("env="));
}

TEST(CacheKey, LengthPrefixedPartsDoNotCollide) {
  EXPECT_NE(detail::hash_parts({"ab", "c"}), detail::hash_parts({"a", "bc"}));
  EXPECT_EQ(detail::hash_parts({"RUN", "echo"}), detail::hash_parts({"RUN", "echo"}));
  EXPECT_EQ(detail::hash_parts({}).size(), 64u);
}

TEST(Progress, DockerPlainLines) {
  std::vector<std::string> lines;
  detail::Progress p([&](std::string_view l) { lines.emplace_back(l); });
  int a = p.start("[1/2] FROM busybox");
  p.done(a);
  int b = p.start("[2/2] RUN make");
  p.log(b, "one\ntwo");
  p.cached(b);
  p.error(b, "boom");
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "#1 [1/2] FROM busybox");
  EXPECT_EQ(lines[1], "#1 DONE 0.0s");
  EXPECT_EQ(lines[2], "#2 [2/2] RUN make");
  EXPECT_TRUE(lines[3].starts_with("#2 0.0")) << lines[3];
  EXPECT_TRUE(lines[3].ends_with(" one"));
  EXPECT_TRUE(lines[4].ends_with(" two"));
  EXPECT_EQ(lines[5], "#2 CACHED");
  EXPECT_EQ(lines[6], "#2 ERROR: boom");
}

TEST(BuildState, StepLabelsAndLookup) {
  detail::BuildState st;
  st.steps = 3;
  st.step = 1;
  EXPECT_EQ(st.step_label(), "[2/3]");
  st.stage_name = "builder";
  EXPECT_EQ(st.step_label(), "[builder 3/3]");
  st.config.config.env = {"A=env", "PATH=/bin"};
  st.args = {{"A", "arg"}, {"B", "b"}};
  auto lookup = st.lookup();
  EXPECT_EQ(lookup("A"), "env");  // ENV wins over ARG
  EXPECT_EQ(lookup("B"), "b");
  EXPECT_EQ(lookup("C"), std::nullopt);
}

TEST(DisplayText, KeepsFlags) {
  auto df = parse_dockerfile("FROM x\nCOPY --from=builder --link /a /b\n");
  ASSERT_TRUE(df) << df.error().what();
  EXPECT_EQ(detail::display_text(df->instructions[1]), "COPY --from=builder --link /a /b");
}

TEST(BuildCacheRecords, PutGetReplaceClear) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-build-cache-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto db = store::Database::open((dir / "berth.db").string());
    ASSERT_TRUE(db) << db.error().what();
    store::BuildCacheRecords cache(**db);
    auto missing = cache.get("k");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);
    ASSERT_TRUE(cache.put({"k", "layer", "sha256:d", "sha256:b", "mt", 12, "2024-01-01T00:00:00Z"}));
    ASSERT_TRUE(cache.put({"k", "layer", "sha256:d2", "sha256:b2", "mt", 13, "2024-01-02T00:00:00Z"}));
    auto got = cache.get("k");
    ASSERT_TRUE(got && *got);
    EXPECT_EQ((*got)->diff_id, "sha256:d2");
    EXPECT_EQ((*got)->size, 13);
    auto cleared = cache.clear();
    ASSERT_TRUE(cleared);
    EXPECT_EQ(*cleared, 1);
  }
  std::filesystem::remove_all(dir);
}

TEST(AddUrl, FileNameIsTheLastPathComponent) {
  using detail::url_file_name;
  EXPECT_TRUE(detail::is_url_source("https://example.com/x"));
  EXPECT_FALSE(detail::is_url_source("httpx/file"));
  EXPECT_EQ(url_file_name("https://example.com/dir/app.tar.gz"), "app.tar.gz");
  EXPECT_EQ(url_file_name("http://127.0.0.1:8080/a/b.txt?v=2#frag"), "b.txt");
  EXPECT_EQ(url_file_name("https://example.com/dir/"), "dir");
  EXPECT_EQ(url_file_name("https://example.com"), "__unnamed__");
  EXPECT_EQ(url_file_name("https://example.com/"), "__unnamed__");
}

TEST(Progress, WholeLinesFromManyThreads) {
  std::vector<std::string> lines;
  detail::Progress p([&](std::string_view line) { lines.emplace_back(line); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      int v = p.start("step");
      for (int i = 0; i < 200; ++i) p.log(v, "output line");
      p.done(v);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(lines.size(), 4u * 202u);
  for (const auto& l : lines) EXPECT_EQ(l[0], '#') << l;
}

}  // namespace
}  // namespace berth::build
