#include "runtime/state_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/runtime.h"

namespace berth::runtime {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-state-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = std::string(tmpl) + "/root";
  }
  void TearDown() override { std::filesystem::remove_all(std::filesystem::path(root_).parent_path()); }
  std::string root_;
};

TEST_F(StateStoreTest, SavesAndLoadsARecord) {
  StateStore store(root_);
  ASSERT_TRUE(store.reserve("c1"));
  ContainerRecord r;
  r.state.id = "c1";
  r.state.status = "created";
  r.state.pid = 1234;
  r.state.bundle = "/b";
  r.init_start_time = 99;
  r.cgroups_path = "/x/y";
  r.has_hooks = true;
  ASSERT_TRUE(store.save(r));
  auto back = store.load("c1");
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->state.pid, 1234);
  EXPECT_EQ(back->state.status, "created");
  EXPECT_EQ(back->init_start_time, 99u);
  EXPECT_EQ(back->cgroups_path, "/x/y");
  EXPECT_TRUE(back->has_hooks);
  EXPECT_EQ(*store.ids(), std::vector<std::string>{"c1"});
}

TEST_F(StateStoreTest, ReservingATakenIdIsAlreadyExists) {
  StateStore store(root_);
  ASSERT_TRUE(store.reserve("c1"));
  auto again = store.reserve("c1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::AlreadyExists);
}

TEST_F(StateStoreTest, MissingContainerIsNotFound) {
  StateStore store(root_);
  auto r = store.load("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(r.error().what(), "container \"nope\" does not exist");
}

TEST(ContainerIdTest, RejectsPathsAndOddCharacters) {
  EXPECT_TRUE(validate_container_id("web-1.prod_2"));
  EXPECT_FALSE(validate_container_id(""));
  EXPECT_FALSE(validate_container_id("../x"));
  EXPECT_FALSE(validate_container_id("a/b"));
  EXPECT_FALSE(validate_container_id(".hidden"));
  EXPECT_FALSE(validate_container_id("sp ace"));
}

TEST(ProcessStartTimeTest, TellsAReusedPidApart) {
  auto mine = process_start_time(::getpid());
  ASSERT_TRUE(mine);
  EXPECT_TRUE(process_matches(::getpid(), *mine));
  EXPECT_FALSE(process_matches(::getpid(), *mine + 1));
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_start_time(child));
}

TEST(ParseSignalTest, AcceptsNamesNumbersAndRealtime) {
  EXPECT_EQ(*parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(*parse_signal("SIGKILL"), SIGKILL);
  EXPECT_EQ(*parse_signal("sigusr1"), SIGUSR1);
  EXPECT_EQ(*parse_signal("9"), 9);
  EXPECT_EQ(*parse_signal("RTMIN+2"), SIGRTMIN + 2);
  EXPECT_FALSE(parse_signal("NOPE"));
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("1000"));
}

}  // namespace
}  // namespace berth::runtime
