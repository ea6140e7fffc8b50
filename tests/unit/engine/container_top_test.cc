#include "engine/container_top.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "base/process.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kPsTitles = {"UID",   "PID", "PPID", "C",
                                            "STIME", "TTY", "TIME", "CMD"};

bool have_ps() { return ::access("/bin/ps", X_OK) == 0 || ::access("/usr/bin/ps", X_OK) == 0; }

std::string self_cmdline() {
  std::ifstream in("/proc/self/cmdline");
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw)
    if (c == '\0') c = ' ';
  return raw;
}

char proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? '?' : text[close + 2];
}

// A child `sleep 60` the test owns (killed and reaped by ChildProcess).
class ContainerTopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SpawnOptions opts;
    opts.argv = {"/bin/sleep", "60"};
    auto child = spawn(opts);
    ASSERT_TRUE(child) << child.error().what();
    sleep_ = std::move(*child);
  }
  ChildProcess sleep_;
};

TEST_F(ContainerTopTest, DefaultTableHasPsEfColumnsInPidOrder) {
  pid_t self = ::getpid();
  auto table = container_top({sleep_.pid(), self}, {});
  ASSERT_TRUE(table) << table.error().what();
  EXPECT_EQ(table->titles, kPsTitles);
  ASSERT_EQ(table->processes.size(), 2u);
  // The child was forked after us, so (without pid wrap-around) it has the higher pid.
  const auto& first = table->processes[0];
  const auto& second = table->processes[1];
  ASSERT_LT(std::stoi(first[1]), std::stoi(second[1]));
  const auto& me = std::stoi(first[1]) == self ? first : second;
  const auto& child = std::stoi(first[1]) == self ? second : first;

  for (const auto& row : table->processes) {
    ASSERT_EQ(row.size(), kPsTitles.size());
    EXPECT_TRUE(std::regex_match(row[3], std::regex("^[0-9]{1,2}$"))) << row[3];
    EXPECT_TRUE(std::regex_match(
        row[4], std::regex("^([0-9]{2}:[0-9]{2}|[A-Z][a-z]{2}[0-9]{2}|[0-9]{4})$")))
        << row[4];
    EXPECT_TRUE(std::regex_match(row[5], std::regex(R"(^(\?|pts/[0-9]+|tty\S*|console)$)")))
        << row[5];
    EXPECT_TRUE(std::regex_match(row[6], std::regex("^([0-9]+-)?[0-9]{2}:[0-9]{2}:[0-9]{2}$")))
        << row[6];
  }
  EXPECT_EQ(me[1], std::to_string(self));
  EXPECT_EQ(me[2], std::to_string(::getppid()));
  EXPECT_EQ(me[7], self_cmdline());
  if (::geteuid() == 0) {
    EXPECT_EQ(me[0], "root");
  }

  EXPECT_EQ(child[1], std::to_string(sleep_.pid()));
  EXPECT_EQ(child[2], std::to_string(self));
  EXPECT_EQ(child[7], "/bin/sleep 60");
  EXPECT_EQ(child[0], me[0]);
  EXPECT_EQ(child[5], me[5]);  // inherited the same controlling terminal (or none)
  EXPECT_EQ(child[6], "00:00:00");
}

TEST_F(ContainerTopTest, OnlyTheGivenPidsAreListedAndVanishedOnesSkipped) {
  SpawnOptions opts;
  opts.argv = {"/bin/true"};
  auto gone = spawn(opts);
  ASSERT_TRUE(gone) << gone.error().what();
  pid_t gone_pid = gone->pid();
  ASSERT_TRUE(gone->wait());

  auto table = container_top({sleep_.pid(), gone_pid, 999999999, sleep_.pid()}, {});
  ASSERT_TRUE(table) << table.error().what();
  ASSERT_EQ(table->processes.size(), 1u);
  EXPECT_EQ(table->processes[0][1], std::to_string(sleep_.pid()));

  auto none = container_top({}, {});
  ASSERT_TRUE(none) << none.error().what();
  EXPECT_EQ(none->titles, kPsTitles);
  EXPECT_TRUE(none->processes.empty());
}

TEST_F(ContainerTopTest, ZombieShowsCommInBracketsDefunct) {
  SpawnOptions opts;
  opts.argv = {"/bin/true"};
  auto zombie = spawn(opts);
  ASSERT_TRUE(zombie) << zombie.error().what();
  for (int i = 0; i < 500 && proc_state(zombie->pid()) != 'Z'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(proc_state(zombie->pid()), 'Z');
  auto table = container_top({zombie->pid()}, {});
  ASSERT_TRUE(table) << table.error().what();
  ASSERT_EQ(table->processes.size(), 1u);
  EXPECT_EQ(table->processes[0][7], "[true] <defunct>");
}

TEST_F(ContainerTopTest, DefaultTableMatchesHostPsEf) {
  if (!have_ps()) GTEST_SKIP() << "ps (procps) is not installed";
  auto ours = container_top({sleep_.pid(), ::getpid()}, {});
  ASSERT_TRUE(ours) << ours.error().what();
  auto theirs = container_top({sleep_.pid(), ::getpid()}, {"-ef"});
  ASSERT_TRUE(theirs) << theirs.error().what();
  EXPECT_EQ(theirs->titles, kPsTitles);
  ASSERT_EQ(ours->processes.size(), 2u);
  // ps -q lists in the order asked; ours is in pid order: match rows by PID.
  std::map<std::string, std::vector<std::string>> by_pid;
  for (const auto& row : theirs->processes) by_pid[row[1]] = row;
  ASSERT_EQ(by_pid.size(), 2u);
  for (const auto& row : ours->processes) {
    ASSERT_TRUE(by_pid.count(row[1])) << "ps did not list pid " << row[1];
    for (size_t col : {0u, 1u, 2u, 4u, 5u, 7u})
      EXPECT_EQ(row[col], by_pid[row[1]][col]) << kPsTitles[col] << " of pid " << row[1];
  }
}

TEST_F(ContainerTopTest, PsArgsKeepOnlyTheContainersRows) {
  if (!have_ps()) GTEST_SKIP() << "ps (procps) is not installed";
  auto table = container_top({sleep_.pid()}, {"-o", "pid,comm,args"});
  ASSERT_TRUE(table) << table.error().what();
  EXPECT_EQ(table->titles, (std::vector<std::string>{"PID", "COMMAND", "COMMAND"}));
  ASSERT_EQ(table->processes.size(), 1u);
  EXPECT_EQ(table->processes[0],
            (std::vector<std::string>{std::to_string(sleep_.pid()), "sleep", "/bin/sleep 60"}));

  // A forest listing refuses -q: ps runs again without it and the rows are filtered here.
  auto forest = container_top({sleep_.pid()}, {"-ef", "--forest"});
  ASSERT_TRUE(forest) << forest.error().what();
  ASSERT_EQ(forest->processes.size(), 1u);
  EXPECT_EQ(forest->processes[0][1], std::to_string(sleep_.pid()));
  EXPECT_NE(forest->processes[0][7].find("/bin/sleep 60"), std::string::npos);
}

TEST_F(ContainerTopTest, PsArgsErrorsNameTheArgs) {
  if (!have_ps()) GTEST_SKIP() << "ps (procps) is not installed";
  auto bad = container_top({sleep_.pid()}, {"--no-such-option"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("ps --no-such-option"), std::string::npos)
      << bad.error().what();

  auto no_pid = container_top({sleep_.pid()}, {"-o", "comm"});
  ASSERT_FALSE(no_pid);
  EXPECT_NE(no_pid.error().what().find("ps -o comm"), std::string::npos) << no_pid.error().what();
  EXPECT_NE(no_pid.error().what().find("PID"), std::string::npos) << no_pid.error().what();

  auto renamed = container_top({sleep_.pid()}, {"-o", "user=PID"});
  ASSERT_FALSE(renamed);
  EXPECT_EQ(renamed.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(renamed.error().what().find("specifying \"user=PID\" is not allowed"),
            std::string::npos)
      << renamed.error().what();
}

TEST_F(ContainerTopTest, MissingPsSaysInstallProcpsButDefaultNeedsNoPs) {
  char tmpl[] = "/tmp/berth-top-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const char* old = ::getenv("PATH");
  std::string saved = old ? old : "";
  ::setenv("PATH", tmpl, 1);
  auto missing = container_top({sleep_.pid()}, {"-ef"});
  auto plain = container_top({sleep_.pid()}, {});
  ::setenv("PATH", saved.c_str(), 1);
  fs::remove_all(tmpl);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::Unavailable);
  EXPECT_NE(missing.error().what().find("ps not found: install procps"), std::string::npos)
      << missing.error().what();
  ASSERT_TRUE(plain) << plain.error().what();
  EXPECT_EQ(plain->processes.size(), 1u);
}

}  // namespace
}  // namespace berth::engine
