#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "oci/runtime_spec.h"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

State sample_state() {
  State s;
  s.id = "web";
  s.status = "running";
  s.pid = 4242;
  s.bundle = "/var/lib/berth/containers/web";
  s.rootfs = "/var/lib/berth/containers/web/rootfs";
  s.created = "2024-05-01T10:00:00.123456789Z";
  s.owner = "";
  return s;
}

TEST(StateJson, FieldOrderLikeRunc) {
  EXPECT_EQ(
      state_to_json(sample_state(), false),
      R"({"ociVersion":"1.1.0","id":"web","pid":4242,"status":"running",)"
      R"("bundle":"/var/lib/berth/containers/web","rootfs":"/var/lib/berth/containers/web/rootfs",)"
      R"("created":"2024-05-01T10:00:00.123456789Z","owner":""})");
}

TEST(StateJson, PrettyUsesTwoSpaces) {
  std::string text = state_to_json(sample_state());
  EXPECT_EQ(text.rfind("{\n  \"ociVersion\": \"1.1.0\",\n  \"id\": \"web\",\n  \"pid\": 4242,", 0),
            0u)
      << text;
}

TEST(StateJson, AnnotationsOnlyWhenPresent) {
  State s = sample_state();
  EXPECT_THAT(state_to_json(s, false), ::testing::Not(HasSubstr("annotations")));
  s.annotations = {{"org.example", "x"}};
  EXPECT_THAT(state_to_json(s, false),
              HasSubstr(R"("owner":"","annotations":{"org.example":"x"}})"));
}

TEST(StateJson, RoundTrip) {
  State s = sample_state();
  s.annotations = {{"a", "b"}};
  for (bool pretty : {true, false}) {
    auto back = parse_state(state_to_json(s, pretty));
    ASSERT_TRUE(back.has_value()) << back.error().what();
    EXPECT_EQ(*back, s);
  }
}

TEST(StateJson, Errors) {
  auto r = parse_state(R"({"id": "x", "status": "created", "pid": "12"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), R"(state: pid: expected a signed 32-bit integer, got "12")");
  r = parse_state(R"({"status": "created"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "state: id: must be set");
  r = parse_state("{\"id\": ");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().what(), HasSubstr("state: line 1, column 8: syntax error"));
}

}  // namespace
}  // namespace berth::oci
