// Images in the JSON shapes of Docker's API and `docker image inspect`, shared by the CLI and
// the API server.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/image_service.h"

namespace berth::engine {

// One element of `docker image inspect`'s array.
nlohmann::ordered_json image_inspect_json(const ImageDetail& image);

}  // namespace berth::engine
