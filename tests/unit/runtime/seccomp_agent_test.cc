#include "runtime/seccomp_agent.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace berth::runtime {
namespace {

TEST(PidFormatTest, EveryPidBecomesTheSameArgumentAndPercentIsEscaped) {
  std::string fmt = pid_format(R"({"pid":777,"note":"100%","state":{"pid":777}})", 777);
  char out[256];
  std::snprintf(out, sizeof(out), fmt.c_str(), 4242);
  EXPECT_STREQ(out, R"({"pid":4242,"note":"100%","state":{"pid":4242}})");
}

TEST(SeccompAgentTest, UnreachableAgentNamesTheField) {
  oci::Seccomp s;
  s.listener_path = "/nonexistent/agent.sock";
  auto agent = connect_seccomp_agent(s, oci::State{});
  ASSERT_FALSE(agent);
  EXPECT_NE(agent.error().what().find("linux.seccomp.listenerPath"), std::string::npos) << agent.error().what();
}

}  // namespace
}  // namespace berth::runtime
