// What the monitor reads from the wire: the record start sent.
#include <gtest/gtest.h>

#include "engine/monitor_internal.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

TEST(MonitorWireTest, RecordRoundTrips) {
  store::ContainerRecord r;
  r.id = std::string(64, 'a');
  r.name = "web_1";
  r.image_id = "sha256:" + std::string(64, 'b');
  r.created = "2026-11-26T16:00:00.123456789Z";
  r.state = R"({"status":"created","error":"line one\nline two"})";
  r.config = R"({"cmd":["sh","-c","echo a; echo b"]})";
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->image_id, r.image_id);
  EXPECT_EQ(back->created, r.created);
  EXPECT_EQ(back->state, r.state);
  EXPECT_EQ(back->config, r.config);
}

TEST(MonitorWireTest, ARecordWithTheWrongShapeIsRefused) {
  EXPECT_FALSE(decode_record(""));
  EXPECT_FALSE(decode_record("id\nname\nimage\ncreated\n{}"));
  EXPECT_FALSE(decode_record("id\nname\nimage\ncreated\n{}\n{}\nextra"));
  EXPECT_FALSE(decode_record("\nname\nimage\ncreated\n{}\n{}"));
}

}  // namespace
}  // namespace berth::engine
