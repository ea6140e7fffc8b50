// The conformance suite every ContentStore implementation passes (typed over a factory), plus
// crash tests of the local store with a child process that dies mid-write.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/digest.h"
#include "base/fs.h"
#include "image/content_store.h"

namespace berth::image {
namespace {

// Makes a local store in a fresh temp dir.
struct LocalStoreFactory {
  static Result<std::unique_ptr<ContentStore>> make(const std::string& dir) {
    return open_local_content_store(dir + "/store");
  }
  static constexpr bool kIsLocal = true;
};

template <class Factory>
class ContentStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cstore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = Factory::make(dir_);
    ASSERT_TRUE(s.has_value()) << s.error().what();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    (void)remove_all(dir_);
  }

  std::unique_ptr<ContentWriter> writer(std::string_view ref) {
    auto w = store_->writer(ref);
    EXPECT_TRUE(w.has_value()) << w.error().what();
    return w ? std::move(*w) : nullptr;
  }
  // Whether stat finds the blob (failing the test when stat itself fails).
  bool has_blob(const Digest& d) {
    auto st = store_->stat(d);
    EXPECT_TRUE(st.has_value()) << st.error().what();
    return st && st->has_value();
  }
  // Entries of <store>/ingest (local store only).
  size_t ingest_count() const {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir_ + "/store/ingest", ec);
         !ec && it != std::filesystem::directory_iterator(); ++it)
      ++n;
    return n;
  }

  std::string dir_;
  std::unique_ptr<ContentStore> store_;
};

using Factories = ::testing::Types<LocalStoreFactory>;
TYPED_TEST_SUITE(ContentStoreConformance, Factories);

TYPED_TEST(ContentStoreConformance, WriteAndCommit) {
  auto w = this->writer("ref-1");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->offset(), 0);
  ASSERT_TRUE(w->write("hello, "));
  ASSERT_TRUE(w->write("world"));
  EXPECT_EQ(w->offset(), 12);
  Digest d = sha256_of("hello, world");
  auto info = w->commit(d, 12);
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(info->digest, d);
  EXPECT_EQ(info->size, 12);
  auto st = this->store_->stat(d);
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ((*st)->size, 12);
  auto data = this->store_->read(d);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, "hello, world");
  EXPECT_EQ(*read_file(this->store_->path(d)), "hello, world");
  if (TypeParam::kIsLocal) {
    EXPECT_EQ(this->ingest_count(), 0u);
  }
  // The writer is spent.
  EXPECT_FALSE(w->write("more"));
}

TYPED_TEST(ContentStoreConformance, DigestMismatchLeavesNothing) {
  auto w = this->writer("bad");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("actual bytes"));
  Digest expected = sha256_of("other bytes");
  auto r = w->commit(expected);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.error().what(), "digest mismatch: expected " + expected.to_string() + ", got " +
                                  sha256_of("actual bytes").to_string());
  EXPECT_FALSE(this->has_blob(expected));
  EXPECT_FALSE(this->has_blob(sha256_of("actual bytes")));
  EXPECT_TRUE(this->store_->list()->empty());
  if (TypeParam::kIsLocal) {
    EXPECT_EQ(this->ingest_count(), 0u);
  }
  // The ingest was discarded: a new writer starts from zero.
  auto again = this->writer("bad");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->offset(), 0);
}

TYPED_TEST(ContentStoreConformance, SizeMismatchLeavesNothing) {
  auto w = this->writer("short");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("abc"));
  auto r = w->commit(sha256_of("abc"), 4);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().what().find("expected 4 bytes, got 3"), std::string::npos)
      << r.error().what();
  EXPECT_FALSE(this->has_blob(sha256_of("abc")));
}

TYPED_TEST(ContentStoreConformance, ResumeAfterWriterDestroyed) {
  std::string blob(100000, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7 + i / 251);
  size_t half = blob.size() / 2;
  {
    auto w = this->writer("pull-resume");
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(std::string_view(blob).substr(0, half)));
  }
  auto w = this->writer("pull-resume");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->offset(), static_cast<int64_t>(half));
  ASSERT_TRUE(w->write(std::string_view(blob).substr(half)));
  auto info = w->commit(sha256_of(blob), static_cast<int64_t>(blob.size()));
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(*this->store_->read(info->digest), blob);
}

TYPED_TEST(ContentStoreConformance, SecondWriterOfSameRefConflicts) {
  auto w = this->writer("busy");
  ASSERT_TRUE(w);
  auto second = this->store_->writer("busy");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::Conflict);
  EXPECT_EQ(second.error().what(), "ingest \"busy\" is in use");
  // Other refs are independent, and the ref is free again once the writer is gone.
  EXPECT_TRUE(this->store_->writer("other").has_value());
  w.reset();
  EXPECT_TRUE(this->store_->writer("busy").has_value());
}

TYPED_TEST(ContentStoreConformance, AbortDiscardsIngest) {
  auto w = this->writer("aborted");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("partial"));
  ASSERT_TRUE(w->abort());
  EXPECT_FALSE(w->write("x"));
  if (TypeParam::kIsLocal) {
    EXPECT_EQ(this->ingest_count(), 0u);
  }
  auto again = this->writer("aborted");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->offset(), 0);
}

TYPED_TEST(ContentStoreConformance, TruncateStartsOver) {
  {
    auto w = this->writer("trunc");
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("stale bytes from a server that ignored Range"));
  }
  auto w = this->writer("trunc");
  ASSERT_TRUE(w);
  EXPECT_GT(w->offset(), 0);
  ASSERT_TRUE(w->truncate());
  EXPECT_EQ(w->offset(), 0);
  ASSERT_TRUE(w->write("fresh"));
  auto info = w->commit(sha256_of("fresh"), 5);
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(*this->store_->read(info->digest), "fresh");
}

TYPED_TEST(ContentStoreConformance, RemoveBlob) {
  auto info = this->store_->put("to be removed");
  ASSERT_TRUE(info.has_value()) << info.error().what();
  auto fd = this->store_->open(info->digest);
  ASSERT_TRUE(fd.has_value());
  ASSERT_TRUE(this->store_->remove(info->digest));
  EXPECT_FALSE(this->has_blob(info->digest));
  // A reader that opened the blob before keeps reading it.
  EXPECT_EQ(*read_all(fd->get()), "to be removed");
  auto again = this->store_->remove(info->digest);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::NotFound);
  auto open_missing = this->store_->open(info->digest);
  ASSERT_FALSE(open_missing.has_value());
  EXPECT_EQ(open_missing.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(open_missing.error().what(), "blob " + info->digest.to_string() + " not found");
}

TYPED_TEST(ContentStoreConformance, ListAndStat) {
  EXPECT_TRUE(this->store_->list()->empty());
  auto a = *this->store_->put("a");
  auto b = *this->store_->put("bb");
  auto c = *this->store_->put("ccc");
  auto w = this->writer("in-progress");  // ingests are not blobs
  ASSERT_TRUE(w->write("dddd"));
  auto blobs = this->store_->list();
  ASSERT_TRUE(blobs.has_value()) << blobs.error().what();
  ASSERT_EQ(blobs->size(), 3u);
  for (const auto& want : {a, b, c}) {
    bool found = false;
    for (const auto& got : *blobs)
      if (got.digest == want.digest) {
        found = true;
        EXPECT_EQ(got.size, want.size);
      }
    EXPECT_TRUE(found) << want.digest.to_string();
  }
  EXPECT_EQ((*this->store_->stat(b.digest))->size, 2);
  EXPECT_FALSE(this->has_blob(sha256_of("dddd")));
}

TYPED_TEST(ContentStoreConformance, ReadRespectsMaxSize) {
  std::string big(1000, 'x');
  auto info = *this->store_->put(big);
  EXPECT_TRUE(this->store_->read(info.digest, 1000).has_value());
  auto r = this->store_->read(info.digest, 999);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.error().what(), "blob " + info.digest.to_string() +
                                  " is 1000 bytes, more than the 999 allowed");
  auto missing = this->store_->read(sha256_of("nope"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TYPED_TEST(ContentStoreConformance, PutIsIdempotent) {
  auto first = this->store_->put("same");
  auto second = this->store_->put("same");
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->digest, second->digest);
  EXPECT_EQ(this->store_->list()->size(), 1u);
  auto empty = this->store_->put("");
  ASSERT_TRUE(empty.has_value()) << empty.error().what();
  EXPECT_EQ(empty->digest.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(empty->size, 0);
}

TYPED_TEST(ContentStoreConformance, CommitExistingBlobSucceeds) {
  auto first = *this->store_->put("shared layer");
  auto w = this->writer("second-pull");
  ASSERT_TRUE(w->write("shared layer"));
  auto info = w->commit(first.digest, first.size);
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(info->digest, first.digest);
  EXPECT_EQ(*this->store_->read(first.digest), "shared layer");
  if (TypeParam::kIsLocal) {
    EXPECT_EQ(this->ingest_count(), 0u);
  }
  auto w2 = this->writer("computed");
  ASSERT_TRUE(w2->write("shared layer"));
  auto computed = w2->commit_computed();
  ASSERT_TRUE(computed.has_value()) << computed.error().what();
  EXPECT_EQ(computed->digest, first.digest);
}

TYPED_TEST(ContentStoreConformance, PruneIngests) {
  {
    auto old_ingest = this->writer("old");
    ASSERT_TRUE(old_ingest->write("12345"));
  }
  auto held = this->writer("held");
  ASSERT_TRUE(held->write("123"));
  // Nothing is older than an hour: nothing pruned.
  auto none = this->store_->prune_ingests(std::chrono::hours(1));
  ASSERT_TRUE(none.has_value()) << none.error().what();
  EXPECT_EQ(*none, 0);
  if (TypeParam::kIsLocal) {
    // Age the unheld ingest by two hours.
    std::string data = this->dir_ + "/store/ingest/" + sha256_of("old").hex + "/data";
    struct timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, data.c_str(), times, 0), 0);
    auto aged = this->store_->prune_ingests(std::chrono::hours(1));
    ASSERT_TRUE(aged.has_value()) << aged.error().what();
    EXPECT_EQ(*aged, 5);
    EXPECT_EQ(this->ingest_count(), 1u);  // the held one
  } else {
    EXPECT_EQ(*this->store_->prune_ingests(std::chrono::seconds(0)), 5);
  }
  // Zero age: every ingest no writer holds; the held writer is untouched and still works.
  EXPECT_EQ(*this->store_->prune_ingests(std::chrono::seconds(0)), 0);
  ASSERT_TRUE(held->write("45"));
  EXPECT_TRUE(held->commit(sha256_of("12345"), 5).has_value());
  auto fresh = this->writer("old");
  EXPECT_EQ(fresh->offset(), 0);
  fresh.reset();
  EXPECT_EQ(*this->store_->prune_ingests(std::chrono::seconds(0)), 0);
  if (TypeParam::kIsLocal) {
    EXPECT_EQ(this->ingest_count(), 0u);
  }
}

TYPED_TEST(ContentStoreConformance, BlobFilesAreReadOnly) {
  auto info = *this->store_->put("immutable");
  struct stat st;
  ASSERT_EQ(::stat(this->store_->path(info.digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TYPED_TEST(ContentStoreConformance, WriterRejectsEmptyRef) {
  auto w = this->store_->writer("");
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), ErrorCode::InvalidArgument);
}

// Crash tests: a child writes half a blob and dies without cleaning up.
class LocalContentStoreCrash : public ContentStoreConformance<LocalStoreFactory> {
 protected:
  // Forks a child that writes the first half of blob to ref, then dies as die() says.
  void crash_mid_write(const std::string& blob, bool sigkill) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ready[0]);
      auto w = store_->writer("crash");
      if (!w || !(*w)->write(std::string_view(blob).substr(0, blob.size() / 2))) ::_exit(2);
      if (!sigkill) ::_exit(0);
      (void)!::write(ready[1], "x", 1);
      while (true) ::pause();
    }
    ::close(ready[1]);
    if (sigkill) {
      char c;
      ASSERT_EQ(::read(ready[0], &c, 1), 1);
      // The child holds the ingest: a writer here conflicts.
      auto busy = store_->writer("crash");
      ASSERT_FALSE(busy.has_value());
      EXPECT_EQ(busy.error().code(), ErrorCode::Conflict);
      ::kill(pid, SIGKILL);
    }
    ::close(ready[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (sigkill) {
      EXPECT_TRUE(WIFSIGNALED(status));
    } else {
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_EQ(WEXITSTATUS(status), 0);
    }
  }

  void check_resumes(const std::string& blob) {
    EXPECT_TRUE(store_->list()->empty());
    EXPECT_FALSE(has_blob(sha256_of(blob)));
    auto w = writer("crash");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->offset(), static_cast<int64_t>(blob.size() / 2));
    ASSERT_TRUE(w->write(std::string_view(blob).substr(blob.size() / 2)));
    auto info = w->commit(sha256_of(blob), static_cast<int64_t>(blob.size()));
    ASSERT_TRUE(info.has_value()) << info.error().what();
    EXPECT_EQ(*store_->read(info->digest), blob);
  }
};

TEST_F(LocalContentStoreCrash, ExitMidWriteLeavesResumableIngest) {
  std::string blob(300000, 'q');
  crash_mid_write(blob, /*sigkill=*/false);
  check_resumes(blob);
}

TEST_F(LocalContentStoreCrash, SigkillMidWriteLeavesResumableIngest) {
  std::string blob(200001, 'k');
  blob[7] = 'z';
  crash_mid_write(blob, /*sigkill=*/true);
  check_resumes(blob);
}

TEST(LocalContentStore, OpenCreatesPrivateLayout) {
  char tmpl[] = "/tmp/berth-cstore-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = std::string(tmpl) + "/a/b";
  auto store = open_local_content_store(root);
  ASSERT_TRUE(store.has_value()) << store.error().what();
  for (const char* sub : {"", "/blobs", "/blobs/sha256", "/ingest"}) {
    struct stat st;
    ASSERT_EQ(::stat((root + sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700) << sub;
  }
  // Reopening an existing store is fine.
  EXPECT_TRUE(open_local_content_store(root).has_value());
  (void)remove_all(tmpl);
}

}  // namespace
}  // namespace berth::image
