// SecretStore: encryption at rest, key and value file modes, tamper detection, Docker's name
// and size rules, and that a plaintext value never reaches berth.db or any file under the root.
#include "engine/secret_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>

#include "base/fs.h"
#include "store/database.h"

namespace berth::engine {
namespace {

using ::testing::HasSubstr;

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-secret-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    options_.root = tmp_ + "/root";
    auto s = SecretStore::open(options_);
    ASSERT_TRUE(s) << s.error().what();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    (void)remove_all(tmp_);
  }

  std::string secrets_dir() const { return options_.root + "/secrets"; }

  // Names in <root>/secrets other than the key.
  std::set<std::string> value_files() const {
    std::set<std::string> out;
    if (!path_exists(secrets_dir())) return out;
    for (const auto& e : std::filesystem::directory_iterator(secrets_dir()))
      if (e.path().filename() != "key") out.insert(e.path().filename());
    return out;
  }

  mode_t mode_of(const std::string& path) const {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string create_ok(const std::string& name, std::string_view value,
                        const std::map<std::string, std::string>& labels = {}) {
    auto id = store_->create(name, value, labels);
    EXPECT_TRUE(id) << id.error().what();
    return id ? *id : "";
  }

  std::string tmp_;
  EngineOptions options_;
  std::unique_ptr<SecretStore> store_;
};

TEST_F(SecretStoreTest, CreateRevealRoundTrip) {
  std::string value("line one\nline two\0with a NUL\xff", 29);
  std::string id = create_ok("db_password", value, {{"env", "prod"}, {"team", ""}});
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-z]{25}"))) << id;

  auto plain = store_->reveal("db_password");
  ASSERT_TRUE(plain) << plain.error().what();
  EXPECT_EQ(plain->view(), value);
  auto by_id = store_->reveal(id);
  ASSERT_TRUE(by_id) << by_id.error().what();
  EXPECT_EQ(by_id->view(), value);

  // A fresh store (another berth process) reads the same key and value.
  store_.reset();
  auto reopened = SecretStore::open(options_);
  ASSERT_TRUE(reopened);
  auto again = (*reopened)->reveal("db_password");
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->view(), value);
}

TEST_F(SecretStoreTest, InspectResolvesIdNameAndPrefixAndListsSortedByName) {
  std::string b = create_ok("b-secret", "two");
  std::string a = create_ok("a.secret", "one", {{"k", "v"}});
  for (const std::string& ref : {a, std::string("a.secret"), a.substr(0, 6)}) {
    auto info = store_->inspect(ref);
    ASSERT_TRUE(info) << ref << ": " << info.error().what();
    EXPECT_EQ(info->id, a);
    EXPECT_EQ(info->name, "a.secret");
    EXPECT_EQ(info->labels, (std::map<std::string, std::string>{{"k", "v"}}));
    EXPECT_FALSE(info->created.empty());
    EXPECT_EQ(info->created, info->updated);
    EXPECT_GT(info->version, 0);
  }
  auto list = store_->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a.secret");
  EXPECT_EQ((*list)[1].id, b);

  auto missing = store_->inspect("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(missing.error().what(), "No such secret: nope");
}

TEST_F(SecretStoreTest, KeyAndValueFilesAreOwnerOnly) {
  EXPECT_FALSE(path_exists(secrets_dir())) << "no key before the first secret";
  ::umask(0);  // the modes must not depend on the caller's umask
  std::string id = create_ok("s", "value");
  ::umask(022);
  EXPECT_EQ(mode_of(secrets_dir()), 0700u);
  EXPECT_EQ(mode_of(secrets_dir() + "/key"), 0600u);
  EXPECT_EQ(mode_of(secrets_dir() + "/" + id), 0600u);
  auto key = read_file(secrets_dir() + "/key");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  auto sealed = read_file(secrets_dir() + "/" + id);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), 12u + 5u + 16u);  // nonce || ciphertext || tag
  EXPECT_EQ(value_files(), std::set<std::string>{id}) << "no temp files left behind";
}

TEST_F(SecretStoreTest, KeyIsCreatedOnceAndNeverReplaced) {
  create_ok("first", "1");
  auto key = read_file(secrets_dir() + "/key");
  ASSERT_TRUE(key);
  create_ok("second", "2");
  store_.reset();
  auto reopened = SecretStore::open(options_);
  ASSERT_TRUE(reopened);
  store_ = std::move(*reopened);
  create_ok("third", "3");
  EXPECT_EQ(read_file(secrets_dir() + "/key").value(), *key);
}

TEST_F(SecretStoreTest, TamperedValueIsDetected) {
  std::string id = create_ok("api_token", "s3cr3t-token");
  std::string path = secrets_dir() + "/" + id;
  std::string sealed = read_file(path).value();
  for (size_t at : {size_t{0}, size_t{13}, sealed.size() - 1}) {  // nonce, ciphertext, tag
    std::string bad = sealed;
    bad[at] ^= 0x01;
    ASSERT_TRUE(write_file(path, bad, 0600));
    auto r = store_->reveal("api_token");
    ASSERT_FALSE(r) << "flipped byte " << at;
    EXPECT_EQ(r.error().what(),
              "secret api_token: decryption failed: the value or the key was modified");
  }
  ASSERT_TRUE(write_file(path, sealed.substr(0, 20), 0600));  // truncated
  auto r = store_->reveal("api_token");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what(), HasSubstr("decryption failed"));
}

TEST_F(SecretStoreTest, ValueMovedToAnotherSecretIsRejected) {
  // The ID is authenticated data: a ciphertext copied over another secret's file fails.
  std::string a = create_ok("a", "value of a");
  std::string b = create_ok("b", "value of b");
  ASSERT_TRUE(
      write_file(secrets_dir() + "/" + b, read_file(secrets_dir() + "/" + a).value(), 0600));
  auto r = store_->reveal("b");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what(),
              HasSubstr("secret b: decryption failed: the value or the key was modified"));
}

TEST_F(SecretStoreTest, WrongKeyIsDetected) {
  create_ok("s", "value");
  store_.reset();
  std::string key = read_file(secrets_dir() + "/key").value();
  key[5] ^= 0x40;
  ASSERT_TRUE(write_file(secrets_dir() + "/key", key, 0600));
  auto reopened = SecretStore::open(options_);
  ASSERT_TRUE(reopened);
  auto r = (*reopened)->reveal("s");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "secret s: decryption failed: the value or the key was modified");
}

TEST_F(SecretStoreTest, KeyReadableByOthersIsRefused) {
  create_ok("s", "value");
  store_.reset();
  ASSERT_EQ(::chmod((secrets_dir() + "/key").c_str(), 0644), 0);
  auto reopened = SecretStore::open(options_);
  ASSERT_TRUE(reopened);
  auto r = (*reopened)->reveal("s");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
  EXPECT_THAT(r.error().what(), HasSubstr("chmod 600"));
}

TEST_F(SecretStoreTest, NameRulesAreDockers) {
  for (const char* good : {"a", "A9", "db_password", "my-secret.v2", "x.y_z-1"}) {
    EXPECT_TRUE(store_->create(good, "v", {})) << good;
  }
  EXPECT_TRUE(store_->create(std::string(64, 'n'), "v", {}));
  size_t stored = value_files().size();
  for (const std::string& bad :
       {std::string(), std::string(65, 'n'), std::string("-lead"), std::string("trail."),
        std::string("_x"), std::string("a b"), std::string("a/b"), std::string("ü")}) {
    auto r = store_->create(bad, "v", {});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(r.error().what(), HasSubstr("only 64 [a-zA-Z0-9-_.] characters allowed"));
  }
  EXPECT_EQ(value_files().size(), stored);
  EXPECT_EQ(store_->list()->size(), stored);
}

TEST_F(SecretStoreTest, ValueSizeRulesAreDockers) {
  auto empty = store_->create("empty", "", {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().what(), "secret data must be larger than 0 and less than 512000 bytes");
  auto big = store_->create("big", std::string(kMaxSecretSize, 'x'), {});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(value_files().empty());
  std::string largest(kMaxSecretSize - 1, 'y');
  create_ok("largest", largest);
  EXPECT_EQ(store_->reveal("largest")->view(), largest);
}

TEST_F(SecretStoreTest, DuplicateNameIsRefusedAndStoresNothing) {
  std::string id = create_ok("dup", "first");
  auto r = store_->create("dup", "second", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(r.error().what(), "secret dup already exists");
  EXPECT_EQ(value_files(), std::set<std::string>{id});
  EXPECT_EQ(store_->reveal("dup")->view(), "first");
}

TEST_F(SecretStoreTest, FailedInsertRemovesTheEncryptedFile) {
  {
    auto db = store::Database::open(options_.root + "/berth.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        (*db)->exec("CREATE TRIGGER refuse BEFORE INSERT ON secrets BEGIN SELECT RAISE(ABORT, "
                    "'refused'); END"));
  }
  auto r = store_->create("doomed", "value", {});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what(), HasSubstr("refused"));
  EXPECT_TRUE(value_files().empty());
  EXPECT_TRUE(store_->list()->empty());
}

TEST_F(SecretStoreTest, RemoveDeletesRowAndFile) {
  std::string id = create_ok("gone", "value");
  std::string kept = create_ok("kept", "value");
  ASSERT_TRUE(store_->remove("gone"));
  EXPECT_EQ(value_files(), std::set<std::string>{kept});
  auto r = store_->reveal("gone");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  ASSERT_TRUE(store_->remove(kept)) << "by ID";
  EXPECT_TRUE(value_files().empty());
  auto again = store_->remove("gone");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().what(), "No such secret: gone");
}

TEST_F(SecretStoreTest, PlaintextNeverReachesAnyFileUnderRoot) {
  const std::string value = "PLAINTEXT-MARKER-4f1d9c-" + std::string(3000, 'q') + "-END";
  create_ok("marker", value, {{"purpose", "test"}});
  create_ok("other", "PLAINTEXT-MARKER-short");
  ASSERT_TRUE(store_->reveal("marker"));
  store_.reset();  // checkpoint and close berth.db
  int files = 0;
  bool saw_label = false;  // proves the scan reads what berth.db holds
  for (const auto& e : std::filesystem::recursive_directory_iterator(options_.root)) {
    if (!e.is_regular_file()) continue;
    ++files;
    std::string content = read_file(e.path()).value();
    EXPECT_EQ(content.find("PLAINTEXT-MARKER"), std::string::npos) << e.path();
    EXPECT_EQ(content.find(std::string(64, 'q')), std::string::npos) << e.path();
    saw_label = saw_label || content.find("\"purpose\":\"test\"") != std::string::npos;
  }
  EXPECT_TRUE(saw_label);
  EXPECT_GE(files, 4);  // berth.db, key, two values
}

TEST(SecretValueTest, ReadFromFdEnforcesDockersLimits) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "from stdin\n", 11), 11);
  ::close(fds[1]);
  auto v = read_secret_value(fds[0], "stdin");
  ::close(fds[0]);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->view(), "from stdin\n");

  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  auto empty = read_secret_value(fds[0], "stdin");
  ::close(fds[0]);
  ASSERT_FALSE(empty);
  EXPECT_EQ(
      empty.error().what(),
      "secret value from stdin: secret data must be larger than 0 and less than 512000 bytes");

  char tmpl[] = "/tmp/berth-secret-value.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::unlink(tmpl);
  ASSERT_TRUE(write_all(fd, std::string(kMaxSecretSize, 'z')));
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  auto big = read_secret_value(fd, "big.txt");
  ::close(fd);
  ASSERT_FALSE(big);
  EXPECT_THAT(big.error().what(), HasSubstr("less than 512000 bytes"));
}

TEST(SecretCipherTest, SealUnsealAndFreshNonces) {
  SecretKey key{};
  key.fill(7);
  auto a = seal_secret(key, "hello", "id1");
  auto b = seal_secret(key, "hello", "id1");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b) << "each value gets its own nonce";
  EXPECT_EQ(unseal_secret(key, *a, "id1")->view(), "hello");
  EXPECT_FALSE(unseal_secret(key, *a, "id2"));
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = random_secret_id();
    ASSERT_TRUE(id);
    EXPECT_TRUE(std::regex_match(*id, std::regex("[0-9a-z]{25}"))) << *id;
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace berth::engine
