#include "runtime/sync_protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::runtime {
namespace {

struct Pair {
  UniqueFd parent, child;
  Pair() {
    int sp[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
    parent.reset(sp[0]);
    child.reset(sp[1]);
  }
};

TEST(SyncProtocolTest, MessagesAndValuesRoundTrip) {
  Pair p;
  ASSERT_TRUE(sync_reply(p.parent.get(), SyncType::Go, 4242));
  SyncMessage msg;
  ASSERT_EQ(sync_recv(p.child.get(), &msg), 0);
  EXPECT_EQ(msg.type, SyncType::Go);
  EXPECT_EQ(msg.value, 4242);
}

TEST(SyncProtocolTest, ChildErrorBecomesAnErrorWithErrno) {
  Pair p;
  ChildError err;
  child_fail(&err, EACCES, "mount %s on %s", "proc", "/proc");
  ASSERT_EQ(sync_send_error(p.child.get(), err), 0);
  auto r = sync_expect(p.parent.get(), SyncType::Ready);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(r.error().what(), "mount proc on /proc: Permission denied");
}

TEST(SyncProtocolTest, ChildDeathIsReportedAsSuch) {
  Pair p;
  p.child.reset();
  auto r = sync_expect(p.parent.get(), SyncType::Ready);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "container init exited during setup");
}

TEST(SyncProtocolTest, UnexpectedMessageIsAnError) {
  Pair p;
  ASSERT_EQ(sync_send(p.child.get(), SyncType::HooksPoint), 0);
  auto r = sync_expect(p.parent.get(), SyncType::Ready);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Internal);
}

TEST(SyncProtocolTest, PassesADescriptor) {
  Pair p;
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  ASSERT_EQ(sync_send(p.child.get(), SyncType::Ready, 0, w.get()), 0);
  UniqueFd got;
  auto msg = sync_expect(p.parent.get(), SyncType::Ready, &got);
  ASSERT_TRUE(msg) << msg.error().what();
  ASSERT_TRUE(got);
  w.reset();
  ASSERT_EQ(::write(got.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

}  // namespace
}  // namespace berth::runtime
