// The container's record on the wire from start to the monitor: its fields one a line.
#include "base/strings.h"
#include "engine/monitor_internal.h"
#include "store/container_records.h"

namespace berth::engine {

std::string encode_record(const store::ContainerRecord& r) {
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", r.id, r.name, r.image_id, r.created, r.state,
                     r.config);
}

Result<store::ContainerRecord> decode_record(std::string_view text) {
  auto lines = split(text, '\n');
  if (lines.size() != 6 || lines[0].empty())
    return Fail(ErrorCode::Internal, "container record: {} lines, not 6", lines.size());
  store::ContainerRecord r;
  r.id = lines[0];
  r.name = lines[1];
  r.image_id = lines[2];
  r.created = lines[3];
  r.state = lines[4];
  r.config = lines[5];
  return r;
}

}  // namespace berth::engine
