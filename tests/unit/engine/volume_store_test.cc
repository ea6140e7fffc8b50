#include "engine/volume_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::engine {
namespace {

namespace fs = std::filesystem;

VolumePruneFilter prune_filter(bool all, std::vector<std::string> labels = {},
                               std::vector<std::string> not_labels = {}) {
  VolumePruneFilter f;
  f.all = all;
  f.labels = std::move(labels);
  f.not_labels = std::move(not_labels);
  return f;
}

class VolumeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-volumes-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    options_.root = tmp_ + "/root";
    auto s = VolumeStore::open(options_);
    ASSERT_TRUE(s) << s.error().what();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(tmp_);
  }

  std::vector<std::string> names() {
    auto list = store_->list();
    EXPECT_TRUE(list) << list.error().what();
    std::vector<std::string> out;
    for (const auto& v : *list) out.push_back(v.name);
    return out;
  }
  static void write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }
  static mode_t mode_of(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string tmp_;
  EngineOptions options_;
  std::unique_ptr<VolumeStore> store_;
};

TEST_F(VolumeStoreTest, CreateMakesTheDirectoryAndTheRow) {
  auto v = store_->create("data", {{"team", "core"}});
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(v->name, "data");
  EXPECT_EQ(v->driver, "local");
  EXPECT_EQ(v->mountpoint, options_.root + "/volumes/data/_data");
  EXPECT_EQ(v->labels, (StringMap{{"team", "core"}}));
  EXPECT_FALSE(v->anonymous());
  EXPECT_EQ(v->created.size(), 20u) << v->created;  // 2024-01-02T03:04:05Z
  EXPECT_EQ(v->created.back(), 'Z');
  EXPECT_EQ(mode_of(v->mountpoint), 0755u);
  EXPECT_EQ(mode_of(options_.root + "/volumes/data"), 0700u);
  EXPECT_EQ(mode_of(options_.root + "/volumes"), 0700u);

  auto got = store_->get("data");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->mountpoint, v->mountpoint);
  EXPECT_EQ(got->labels, v->labels);
  EXPECT_EQ(got->created, v->created);
}

TEST_F(VolumeStoreTest, ListIsByNameAndSurvivesReopening) {
  ASSERT_TRUE(store_->create("b-vol"));
  ASSERT_TRUE(store_->create("a-vol"));
  store_.reset();
  auto s = VolumeStore::open(options_);
  ASSERT_TRUE(s) << s.error().what();
  store_ = std::move(*s);
  EXPECT_EQ(names(), (std::vector<std::string>{"a-vol", "b-vol"}));
}

TEST_F(VolumeStoreTest, AnonymousVolumesGetA64HexNameAndTheAnonymousLabel) {
  auto a = store_->create("");
  auto b = store_->create("");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->name.size(), 64u);
  EXPECT_EQ(a->name.find_first_not_of("0123456789abcdef"), std::string::npos) << a->name;
  EXPECT_NE(a->name, b->name);
  EXPECT_TRUE(a->anonymous());
  EXPECT_EQ(a->labels.at(kAnonymousVolumeLabel), "");
}

TEST_F(VolumeStoreTest, CreateIsIdempotentWithTheSameOptions) {
  StringMap tmpfs{{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,mode=1777"}};
  auto first = store_->create("tm", {{"a", "1"}}, "local", tmpfs);
  ASSERT_TRUE(first) << first.error().what();
  write(first->mountpoint + "/keep", "x");
  auto again = store_->create("tm", {{"b", "2"}}, "local", tmpfs);
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->created, first->created);
  EXPECT_EQ(again->labels, (StringMap{{"a", "1"}}));  // Docker keeps the existing volume's labels
  EXPECT_EQ(again->options, tmpfs);
  EXPECT_TRUE(fs::exists(first->mountpoint + "/keep"));

  auto other = store_->create("tm");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::Conflict);
  EXPECT_NE(other.error().what().find("different options"), std::string::npos) << other.error().what();
}

TEST_F(VolumeStoreTest, NameRulesAreDockers) {
  for (const char* good : {"ab", "a.b", "A_b-c.9", "0x"}) EXPECT_TRUE(validate_volume_name(good)) << good;
  for (const char* bad : {"a", "-ab", ".ab", "_ab", "a/b", "a b", "\xc3\xa4" "1", "../x"}) {
    auto r = store_->create(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_NE(r.error().what().find("[a-zA-Z0-9][a-zA-Z0-9_.-]"), std::string::npos) << r.error().what();
  }
  EXPECT_FALSE(validate_volume_name(std::string(256, 'a')));
  EXPECT_TRUE(validate_volume_name(std::string(255, 'a')));
  EXPECT_EQ(names(), std::vector<std::string>{});
  EXPECT_TRUE(fs::is_empty(options_.root + "/volumes"));
}

TEST_F(VolumeStoreTest, OnlyTheLocalDriverAndItsOptions) {
  auto nfs = store_->create("v1", {}, "nfs");
  ASSERT_FALSE(nfs);
  EXPECT_EQ(nfs.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(nfs.error().what().find("volume driver nfs is not supported (local only)"), std::string::npos)
      << nfs.error().what();

  auto refused = [&](const StringMap& opts, const std::string& text) {
    auto r = store_->create("v1", {}, "local", opts);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().what().find(text), std::string::npos) << r.error().what();
  };
  refused({{"size", "10g"}}, "invalid option: \"size\"");
  refused({{"type", "tmpfs"}}, "missing required option: \"device\"");
  refused({{"o", "size=1m"}}, "missing required option: \"type\"");
  refused({{"type", "nfs"}, {"device", ":/x"}}, "type=nfs is not supported");
  refused({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=lots"}}, "invalid tmpfs size value \"lots\"");
  refused({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "exec"}}, "tmpfs mount option \"exec\" is not supported");
  refused({{"type", "none"}, {"device", "/srv"}, {"o", "ro"}}, "needs o=bind");
  refused({{"type", "none"}, {"device", "srv"}, {"o", "bind"}}, "must be an absolute path");
  EXPECT_EQ(names(), std::vector<std::string>{});

  EXPECT_TRUE(store_->create("tmp", {}, "local", {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=50%,uid=1000"}}));
  EXPECT_TRUE(store_->create("bind", {}, "local", {{"type", "none"}, {"device", "/srv"}, {"o", "bind,ro"}}));
}

TEST_F(VolumeStoreTest, UnknownVolumeIsNotFound) {
  auto r = store_->get("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().what(), "No such volume: nope");
  auto rm = store_->remove("nope", false);
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().code(), ErrorCode::NotFound);
  EXPECT_TRUE(store_->remove("nope", true));
}

TEST_F(VolumeStoreTest, RemoveDeletesRowAndData) {
  auto v = store_->create("data");
  ASSERT_TRUE(v);
  fs::create_directories(v->mountpoint + "/sub");
  write(v->mountpoint + "/sub/file", "hello");
  ASSERT_TRUE(store_->remove("data", false));
  EXPECT_EQ(names(), std::vector<std::string>{});
  EXPECT_TRUE(fs::is_empty(options_.root + "/volumes"));
  EXPECT_FALSE(store_->get("data"));
}

TEST_F(VolumeStoreTest, InUseVolumesAreNotRemovedOrPruned) {
  ASSERT_TRUE(store_->create("busy"));
  auto anon = store_->create("");
  ASSERT_TRUE(anon);
  store_->set_in_use([&](const std::string& name) {
    return name == "busy" || name == anon->name ? std::vector<std::string>{"c0ffee"} : std::vector<std::string>{};
  });
  EXPECT_EQ(store_->users("busy"), std::vector<std::string>{"c0ffee"});
  for (bool force : {false, true}) {
    auto r = store_->remove("busy", force);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::Conflict);
    EXPECT_EQ(r.error().what(), "remove busy: volume is in use - [c0ffee]");
  }
  auto report = store_->prune(prune_filter(true));
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_TRUE(report->deleted.empty());
  EXPECT_EQ(names().size(), 2u);
  auto usage = store_->disk_usage();
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->count, 2);
  EXPECT_EQ(usage->active, 2);
}

TEST_F(VolumeStoreTest, PruneTakesAnonymousVolumesUnlessAll) {
  ASSERT_TRUE(store_->create("named", {{"keep", "no"}}));
  ASSERT_TRUE(store_->create("other"));
  auto anon = store_->create("");
  ASSERT_TRUE(anon);
  write(anon->mountpoint + "/f", std::string(1000, 'x'));

  auto report = store_->prune({});
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_EQ(report->deleted, std::vector<std::string>{anon->name});
  EXPECT_EQ(report->reclaimed, 1000);
  EXPECT_EQ(names(), (std::vector<std::string>{"named", "other"}));

  report = store_->prune(prune_filter(true, {"keep=no"}));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->deleted, std::vector<std::string>{"named"});
  report = store_->prune(prune_filter(true, {}, {"x"}));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->deleted, std::vector<std::string>{"other"});
  EXPECT_EQ(names(), std::vector<std::string>{});
  EXPECT_TRUE(fs::is_empty(options_.root + "/volumes"));
}

TEST_F(VolumeStoreTest, ADirectoryWithoutARowIsNotListedAndPruneSweepsIt) {
  // What a crash between mkdir and COMMIT, or during a removal, leaves behind.
  fs::create_directories(options_.root + "/volumes/orphan/_data");
  write(options_.root + "/volumes/orphan/_data/f", "12345");
  fs::create_directories(options_.root + "/volumes/.trash-0123456789abcdef/_data");
  ASSERT_TRUE(store_->create("kept"));
  EXPECT_EQ(names(), std::vector<std::string>{"kept"});
  EXPECT_FALSE(store_->get("orphan"));

  auto report = store_->prune({});
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_TRUE(report->deleted.empty());
  EXPECT_EQ(report->reclaimed, 5);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(options_.root + "/volumes")) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"kept"});
}

TEST_F(VolumeStoreTest, AFailedInsertRemovesTheDirectory) {
  // The API cannot make a valid insert fail, so a trigger does.
  ASSERT_TRUE(store_->create("seed"));
  {
    auto db = store::Database::open(options_.root + "/berth.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("CREATE TRIGGER no_more BEFORE INSERT ON volumes BEGIN SELECT RAISE(ABORT, 'full'); END;"));
  }
  auto r = store_->create("late");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("create late"), std::string::npos) << r.error().what();
  EXPECT_FALSE(fs::exists(options_.root + "/volumes/late"));
  EXPECT_EQ(names(), std::vector<std::string>{"seed"});
}

TEST_F(VolumeStoreTest, EnsureCreatesOnceAndRestoresALostDirectory) {
  auto a = store_->ensure("cache");
  ASSERT_TRUE(a) << a.error().what();
  write(a->mountpoint + "/f", "x");
  auto b = store_->ensure("cache");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->created, a->created);
  EXPECT_TRUE(fs::exists(a->mountpoint + "/f"));
  fs::remove_all(options_.root + "/volumes/cache");
  ASSERT_TRUE(store_->ensure("cache"));
  EXPECT_TRUE(fs::is_directory(a->mountpoint));
  auto anon = store_->ensure("");
  ASSERT_TRUE(anon);
  EXPECT_TRUE(anon->anonymous());
}

TEST_F(VolumeStoreTest, SizeCountsRegularFilesOnceAndSkipsSymlinks) {
  auto v = store_->create("sized");
  ASSERT_TRUE(v);
  fs::create_directories(v->mountpoint + "/d");
  write(v->mountpoint + "/d/a", std::string(300, 'a'));
  fs::create_hard_link(v->mountpoint + "/d/a", v->mountpoint + "/link");
  fs::create_symlink("/etc", v->mountpoint + "/etc");
  write(v->mountpoint + "/b", std::string(20, 'b'));
  auto size = store_->size(*v);
  ASSERT_TRUE(size) << size.error().what();
  EXPECT_EQ(*size, 320);
  auto usage = store_->disk_usage();
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->size, 320);
  EXPECT_EQ(usage->reclaimable, 320);
  EXPECT_EQ(usage->active, 0);
}

}  // namespace
}  // namespace berth::engine
