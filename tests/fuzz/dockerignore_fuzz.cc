// libFuzzer target for .dockerignore parsing and path matching (build/dockerignore.h,
// build/path_match.h): the input is an ignore file, then after a NUL a path to check and a
// COPY source pattern. No input may crash, hang or disagree between the walk-state and the
// stateless exclusion checks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "build/dockerignore.h"
#include "build/path_match.h"

using namespace berth::build;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view ignore = in.substr(0, nul);
  std::string_view rest = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  size_t nul2 = rest.find('\0');
  std::string path = go_clean(rest.substr(0, nul2));
  std::string_view pattern = nul2 == std::string_view::npos ? rest : rest.substr(nul2 + 1);

  (void)path_match(pattern, path);
  (void)has_wildcards(pattern);
  auto compiled = IgnorePattern::compile(pattern);
  if (compiled) (void)compiled->matches(path);

  auto rules = parse_dockerignore(ignore);
  if (!rules) return 0;
  IgnoreState state;
  bool walked = false;
  for (size_t slash = 0;;) {
    slash = path.find('/', slash);
    IgnoreState next;
    walked = rules->excluded(std::string_view(path).substr(0, slash), state, &next);
    state = std::move(next);
    if (slash == std::string::npos) break;
    ++slash;
  }
  if (walked != rules->excluded(path)) {
    std::fprintf(stderr, "walk and stateless checks disagree on %s\n", path.c_str());
    std::abort();
  }
  (void)rules->must_walk_excluded_dir(path);
  return 0;
}
