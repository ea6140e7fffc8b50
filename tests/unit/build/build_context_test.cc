#include "build/build_context.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/fs.h"
#include "image/tar_builder.h"

namespace berth::build {
namespace {

using image::testing::memfd_with;
using image::testing::TarBuilder;

class BuildContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-ctx-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ctx_ = base_ + "/ctx";
    ASSERT_TRUE(make_dirs(ctx_).has_value());
  }
  void TearDown() override { (void)remove_all(base_); }

  void write(const std::string& rel, const std::string& data, mode_t mode = 0644) {
    std::string path = ctx_ + "/" + rel;
    ASSERT_TRUE(make_dirs(path.substr(0, path.rfind('/'))).has_value());
    ASSERT_TRUE(write_file(path, data, mode).has_value()) << path;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  void link(const std::string& rel, const std::string& target) {
    ASSERT_EQ(::symlink(target.c_str(), (ctx_ + "/" + rel).c_str()), 0) << rel;
  }
  void populate() {
    write("Dockerfile", "FROM scratch\n");
    write(".dockerignore", "*.log\nsecret\ndocs\n!docs/keep.md\n**/tmp\n");
    write("a.txt", "a");
    write("b.txt", "b");
    write("x.log", "log");
    write("secret/key", "k");
    write("docs/keep.md", "keep");
    write("docs/other.md", "other");
    write("src/main.go", "package main");
    write("src/lib/util.go", "package lib");
    write("src/lib/tmp/cache", "c");
    write("outside_target", "x");
    link("link_in", "src");
    link("link_abs", "/etc");
    link("link_up", "../../../..");
    link("link_secret", "secret/key");
  }
  BuildContext open_ctx() {
    auto c = BuildContext::open(ctx_, "Dockerfile");
    EXPECT_TRUE(c.has_value()) << c.error().what();
    return std::move(*c);
  }
  std::vector<std::string> match(const BuildContext& c, const std::string& src) {
    auto r = c.match(src);
    EXPECT_TRUE(r.has_value()) << src << ": " << r.error().what();
    return r ? *r : std::vector<std::string>{};
  }

  std::string base_, ctx_;
};

using Paths = std::vector<std::string>;

TEST_F(BuildContextTest, WalkHonoursIgnoreRules) {
  populate();
  BuildContext c = open_ctx();
  const auto& e = c.entries();
  EXPECT_TRUE(e.contains("a.txt"));
  EXPECT_FALSE(e.contains("x.log"));
  EXPECT_FALSE(e.contains("secret"));
  EXPECT_FALSE(e.contains("secret/key"));
  EXPECT_TRUE(e.contains("docs"));
  EXPECT_TRUE(e.contains("docs/keep.md"));
  EXPECT_FALSE(e.contains("docs/other.md"));
  EXPECT_EQ(e.at("docs").children, Paths{"keep.md"});
  EXPECT_FALSE(e.contains("src/lib/tmp"));
  EXPECT_EQ(e.at("link_in").link_target, "src");
  EXPECT_TRUE(S_ISLNK(e.at("link_in").mode));
}

TEST_F(BuildContextTest, MatchResolvesSourcesLikeCopy) {
  populate();
  BuildContext c = open_ctx();
  EXPECT_EQ(match(c, "a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match(c, "./a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match(c, "/a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match(c, "../a.txt"), Paths{"a.txt"});  // ".." stops at the context root
  EXPECT_EQ(match(c, "../../src/../b.txt"), Paths{"b.txt"});
  EXPECT_EQ(match(c, "."), Paths{"."});
  EXPECT_EQ(match(c, "*.txt"), (Paths{"a.txt", "b.txt"}));
  EXPECT_EQ(match(c, "src/*/*.go"), Paths{"src/lib/util.go"});
  EXPECT_EQ(match(c, "src/*.go"), Paths{"src/main.go"});
  EXPECT_EQ(match(c, "s?c"), Paths{"src"});
  EXPECT_EQ(match(c, "[ab].txt"), (Paths{"a.txt", "b.txt"}));
  EXPECT_EQ(match(c, "link_in/*.go"), Paths{"src/main.go"});  // base symlink resolved
  EXPECT_EQ(match(c, "docs/*"), Paths{"docs/keep.md"});
  EXPECT_EQ(match(c, "link_up/a.txt"), Paths{"link_up/a.txt"});  // clamps at the root
}

TEST_F(BuildContextTest, MissingAndExcludedSourcesAreNotFound) {
  populate();
  BuildContext c = open_ctx();
  for (const char* src : {"missing.txt", "x.log", "secret/key", "docs/other.md", "*.none",
                          "link_abs/passwd", "link_secret", "a.txt/x"}) {
    auto r = c.match(src);
    ASSERT_FALSE(r.has_value()) << src;
    EXPECT_EQ(r.error().code(), ErrorCode::NotFound) << src;
  }
  auto r = c.match("missing.txt");
  EXPECT_EQ(r.error().message(), "failed to compute cache key: \"/missing.txt\": not found");
  auto w = c.match("../*.none");
  EXPECT_EQ(w.error().message(), "failed to compute cache key: \"/*.none\": not found");
  auto bad = c.match("a[");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::InvalidArgument);
}

TEST_F(BuildContextTest, DockerfileReadableEvenWhenIgnored) {
  write("Dockerfile", "FROM scratch\n");
  write(".dockerignore", "Dockerfile\n.dockerignore\n");
  write("app.txt", "x");
  BuildContext c = open_ctx();
  auto text = c.read_dockerfile();
  ASSERT_TRUE(text.has_value()) << text.error().what();
  EXPECT_EQ(*text, "FROM scratch\n");
  EXPECT_FALSE(c.match("Dockerfile").has_value());
  EXPECT_EQ(match(c, "*"), Paths{"app.txt"});
}

TEST_F(BuildContextTest, DockerfileSpecificIgnoreFileWins) {
  write("sub/app.Dockerfile", "FROM scratch\n");
  write("sub/app.Dockerfile.dockerignore", "b.txt\n");
  write(".dockerignore", "a.txt\n");
  write("a.txt", "a");
  write("b.txt", "b");
  auto c = BuildContext::open(ctx_, "sub/app.Dockerfile");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  EXPECT_EQ(match(*c, "*.txt"), Paths{"a.txt"});
}

TEST_F(BuildContextTest, BadDockerignoreNamesTheLine) {
  write(".dockerignore", "ok\n!\n");
  auto c = BuildContext::open(ctx_, "Dockerfile");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().what().find("line 2"), std::string::npos) << c.error().what();
}

TEST_F(BuildContextTest, DigestIsStableAndTracksContentNotMtime) {
  populate();
  auto digest = [&](const Paths& paths) {
    BuildContext c = open_ctx();
    auto d = c.content_digest(paths);
    EXPECT_TRUE(d.has_value()) << d.error().what();
    return d ? d->to_string() : std::string();
  };
  const Paths all = {"."};
  const std::string d0 = digest(all);
  EXPECT_EQ(d0.size(), 71u);
  EXPECT_EQ(digest(all), d0);
  EXPECT_EQ(digest({"src", "a.txt"}), digest({"a.txt", "src", "a.txt"}));
  EXPECT_NE(digest({"a.txt"}), digest({"b.txt"}));

  // mtime only: same digest.
  struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ + "/src/main.go").c_str(), times, 0), 0);
  EXPECT_EQ(digest(all), d0);

  // An ignored file changing: same digest.
  write("x.log", "changed");
  EXPECT_EQ(digest(all), d0);

  // Content, mode and symlink target changes: new digests.
  write("src/main.go", "package main // changed");
  const std::string d1 = digest(all);
  EXPECT_NE(d1, d0);
  ASSERT_EQ(::chmod((ctx_ + "/src/main.go").c_str(), 0755), 0);
  const std::string d2 = digest(all);
  EXPECT_NE(d2, d1);
  ASSERT_EQ(::unlink((ctx_ + "/link_in").c_str()), 0);
  link("link_in", "docs");
  EXPECT_NE(digest(all), d2);

  // A selected symlink is followed: its digest covers the target's files.
  EXPECT_NE(digest({"link_in"}), digest({"link_up"}));
  auto missing = open_ctx().content_digest({"nope"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(BuildContextTest, FromTarExtractsAndWalks) {
  TarBuilder b;
  b.file("Dockerfile", "FROM scratch\nCOPY . /\n");
  b.file(".dockerignore", "*.tmp\n");
  b.file("app/main.c", "int main(){}");
  b.file("junk.tmp", "x");
  b.symlink("app/cur", ".");
  UniqueFd fd = memfd_with(b.build());
  auto c = BuildContext::from_tar(fd.get(), base_ + "/extracted");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  EXPECT_EQ(*c->read_dockerfile(), "FROM scratch\nCOPY . /\n");
  EXPECT_EQ(match(*c, "app/*.c"), Paths{"app/main.c"});
  EXPECT_FALSE(c->match("junk.tmp").has_value());
  EXPECT_EQ(match(*c, "app/cur/cur/main.c"), Paths{"app/cur/cur/main.c"});
}

TEST_F(BuildContextTest, FromTarRefusesHostileEntries) {
  std::string outside = base_ + "/outside";
  ASSERT_TRUE(make_dirs(outside).has_value());
  {
    TarBuilder b;
    b.file("../x", "escape");
    UniqueFd fd = memfd_with(b.build());
    auto c = BuildContext::from_tar(fd.get(), base_ + "/t1");
    EXPECT_FALSE(c.has_value());
    EXPECT_FALSE(path_exists(base_ + "/x"));
  }
  {
    TarBuilder b;
    b.symlink("esc", outside);
    b.file("esc/file", "escape");
    UniqueFd fd = memfd_with(b.build());
    auto c = BuildContext::from_tar(fd.get(), base_ + "/t2");
    EXPECT_FALSE(path_exists(outside + "/file"));
    if (c.has_value()) {
      // The absolute symlink resolved inside the extracted root.
      EXPECT_TRUE(path_exists(base_ + "/t2" + outside + "/file"));
    }
  }
  {
    TarBuilder b;
    b.symlink("up", "../../..");
    b.file("up/file", "escape");
    UniqueFd fd = memfd_with(b.build());
    (void)BuildContext::from_tar(fd.get(), base_ + "/t3");
    EXPECT_FALSE(path_exists(base_ + "/file"));
    EXPECT_FALSE(path_exists("/file"));
  }
  {
    // A tar that is not a tar.
    UniqueFd fd = memfd_with("definitely not a tar archive");
    EXPECT_FALSE(BuildContext::from_tar(fd.get(), base_ + "/t4").has_value());
  }
}

}  // namespace
}  // namespace berth::build
