// `berth build`: runs a Dockerfile's stages against the local image store and records the
// result as an image. FROM takes local images (no registry is reached), an earlier stage or
// scratch; RUN runs in a real container with berth's secure defaults; COPY/ADD read the build
// context with .dockerignore applied. Every RUN, COPY, ADD and WORKDIR makes one layer, cached
// in berth.db by a key over the parent state, the expanded instruction, the build args it sees
// and the content of its inputs (never a secret's value). Only the stages the target needs are
// built; those whose dependencies are done build in parallel on min(4, cores) threads (at
// least 2; BERTH_BUILD_PARALLELISM=N sets the count, 1 builds one stage at a time).
//
// A failed build tags nothing and leaves no container, mount, network endpoint or snapshot.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/engine_options.h"
#include "engine/image_service.h"

namespace berth::build {

// One --secret id=ID,src=FILE | id=ID,env=VAR (a bare id=ID reads the variable ID).
struct SecretSource {
  std::string id;
  std::string src;  // host file
  std::string env;  // host environment variable
};

// Parses a --secret value; InvalidArgument names the flag and the value.
Result<SecretSource> parse_secret_source(std::string_view text);

struct BuildOptions {
  std::string context_dir;  // the context directory; unused when context_fd >= 0
  int context_fd = -1;      // a tar stream of the context (`berth build -`), borrowed
  std::string dockerfile;   // -f: a path (relative to the working directory); "" = CONTEXT/Dockerfile
  std::vector<std::string> tags;
  std::string target;
  std::map<std::string, std::string> build_args;
  std::vector<SecretSource> secrets;
  std::map<std::string, std::string> labels;
  bool no_cache = false;
  std::string self;  // the berth binary, for network helpers; "" = /proc/self/exe
};

// Receives Docker's plain progress lines ("#3 [2/4] RUN make", "#3 CACHED", "#3 DONE 0.2s").
// Called from one thread at a time, a whole line per call.
using BuildOutput = std::function<void(std::string_view line)>;

struct BuildResult {
  std::string image_id;  // sha256:...
  std::vector<std::string> tags;  // as stored ("docker.io/library/app:latest")
};

// Builds and tags the image. Errors carry Docker's wording: a failing RUN is
// `process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`.
Result<BuildResult> build_image(const engine::EngineOptions& engine, engine::ImageService& images,
                                const BuildOptions& options, const BuildOutput& output);

}  // namespace berth::build
