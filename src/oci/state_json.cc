// The container state JSON of the runtime spec, in the field order `runc state` prints.
#include <exception>

#include "oci/json_reader.h"
#include "oci/runtime_spec.h"

namespace berth::oci {

std::string state_to_json(const State& state, bool pretty) {
  nlohmann::ordered_json o{
      {"ociVersion", state.oci_version}, {"id", state.id},         {"pid", state.pid},
      {"status", state.status},          {"bundle", state.bundle}, {"rootfs", state.rootfs},
      {"created", state.created},        {"owner", state.owner}};
  if (!state.annotations.empty()) o["annotations"] = state.annotations;
  auto handler = nlohmann::ordered_json::error_handler_t::replace;
  return pretty ? o.dump(2, ' ', false, handler) : o.dump(-1, ' ', false, handler);
}

Result<State> parse_state(std::string_view json) {
  try {
    auto doc = jsonio::parse_json(json);
    if (!doc.has_value()) return Err(std::move(doc.error()).context("state"));
    State s;
    auto r = jsonio::ObjectReader(*doc, "")
                 .field("ociVersion", s.oci_version)
                 .required("id", s.id)
                 .field("pid", s.pid)
                 .required("status", s.status)
                 .field("bundle", s.bundle)
                 .field("rootfs", s.rootfs)
                 .field("created", s.created)
                 .field("owner", s.owner)
                 .field("annotations", s.annotations)
                 .done();
    if (!r.has_value()) return Err(std::move(r.error()).context("state"));
    return s;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::Internal, "state: {}", e.what());
  }
}

}  // namespace berth::oci
