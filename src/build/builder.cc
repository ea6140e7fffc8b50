// The builder's outer loop: context and Dockerfile, the stages the target needs, FROM, and
// the image written at the end.
#include "build/builder.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "build/dockerfile.h"
#include "image/snapshot_store.h"

namespace berth::build {
namespace detail {

std::string hash_parts(const std::vector<std::string>& parts) {
  Sha256 h;
  for (const auto& p : parts) {
    h.update(fmt::format("{}:", p.size()));
    h.update(p);
  }
  return h.digest().hex;
}

EnvLookup BuildState::lookup() const {
  return [this](std::string_view name) -> std::optional<std::string> {
    for (auto it = config.config.env.rbegin(); it != config.config.env.rend(); ++it) {
      auto eq = it->find('=');
      if (std::string_view(*it).substr(0, eq) == name) return eq == std::string::npos ? "" : it->substr(eq + 1);
    }
    auto a = args.find(std::string(name));
    if (a != args.end()) return a->second;
    return std::nullopt;
  };
}

std::string BuildState::step_label() {
  ++step;
  if (stage_name.empty()) return fmt::format("[{}/{}]", step, steps);
  return fmt::format("[{} {}/{}]", stage_name, step, steps);
}

namespace {

bool counted(const std::string& keyword) {
  return keyword == "RUN" || keyword == "COPY" || keyword == "ADD" || keyword == "WORKDIR";
}

// The platform args BuildKit defines for every build (used when a stage declares them).
std::map<std::string, std::string> platform_args() {
  oci::Platform p = oci::host_platform();
  std::string platform = p.to_string();
  return {{"BUILDPLATFORM", platform},  {"BUILDOS", p.os},      {"BUILDARCH", p.architecture},
          {"BUILDVARIANT", p.variant},  {"TARGETPLATFORM", platform}, {"TARGETOS", p.os},
          {"TARGETARCH", p.architecture}, {"TARGETVARIANT", p.variant}};
}

// The stage a name refers to: an earlier stage's name or index.
std::optional<size_t> stage_index(const std::vector<Stage>& stages, const std::string& name, size_t before) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (size_t i = 0; i < before && i < stages.size(); ++i)
    if (!stages[i].name.empty() && stages[i].name == lower) return i;
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
    size_t n = std::stoul(name);
    if (n < before) return n;
  }
  return std::nullopt;
}

// Names of stages/images an instruction reads from (FROM base excluded).
std::vector<std::string> references(const Instruction& ins) {
  std::vector<std::string> out;
  for (const auto& f : ins.flags) {
    if ((ins.keyword == "COPY" || ins.keyword == "ADD") && f.name == "from") out.push_back(f.value);
    if (ins.keyword == "RUN" && f.name == "mount") {
      for (const auto& part : split(f.value, ',')) {
        if (starts_with(part, "from=")) out.push_back(part.substr(5));
      }
    }
  }
  return out;
}

// A worker thread's own connection to berth.db (connections are opened NOMUTEX).
struct ThreadStores {
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::BuildCacheRecords> cache;
};
thread_local ThreadStores* thread_stores = nullptr;

}  // namespace

store::Database& Builder::db() { return thread_stores ? *thread_stores->db : *db_; }

store::BuildCacheRecords& Builder::cache() { return thread_stores ? *thread_stores->cache : *cache_; }

Builder::~Builder() {
  context_.reset();
  if (!context_tmp_.empty()) (void)remove_all(context_tmp_);
}

Result<void> Builder::load_context() {
  std::string dockerfile_rel = "Dockerfile";
  std::string dockerfile_abs;
  if (!options_.dockerfile.empty() && options_.dockerfile != "-") {
    dockerfile_abs = absolute_path(options_.dockerfile);
    if (options_.context_fd < 0) {
      std::string ctx = clean_path(absolute_path(options_.context_dir));
      if (starts_with(dockerfile_abs, ctx + "/")) {
        dockerfile_rel = dockerfile_abs.substr(ctx.size() + 1);
        dockerfile_abs.clear();
      }
    }
  }
  if (options_.context_fd >= 0) {
    context_tmp_ = engine_.root + "/builds/context-" + image::random_hex(8);
    TRY(make_dirs(engine_.root + "/builds", 0700));
    context_ = TRY_CTX("read the build context from stdin",
                       BuildContext::from_tar(options_.context_fd, context_tmp_, dockerfile_rel));
  } else {
    context_ = TRY_CTX("build context " + options_.context_dir, BuildContext::open(options_.context_dir, dockerfile_rel));
  }
  if (!dockerfile_abs.empty()) {
    dockerfile_text_ = TRY_CTX("read " + options_.dockerfile, read_file(dockerfile_abs));
  } else {
    auto text = context_->read_dockerfile();
    if (!text) return Fail(ErrorCode::NotFound, "failed to read dockerfile: open {}: no such file or directory", dockerfile_rel);
    dockerfile_text_ = *text;
  }
  return {};
}

Result<BuildState> Builder::from(const Stage& stage) {
  BuildState st;
  if (!stage.platform.empty()) {
    auto wanted = TRY_CTX("FROM --platform", oci::parse_platform(stage.platform));
    if (!oci::platform_matches(wanted, oci::host_platform()))
      return Fail(ErrorCode::InvalidArgument, "FROM --platform={}: only the host's platform {} can be built here",
                  stage.platform, oci::host_platform().to_string());
  }
  if (auto idx = stage_index(stages_, stage.base, static_cast<size_t>(stage.index))) {
    std::lock_guard lock(state_mu_);
    st = built_.at(*idx);
    st.key = hash_parts({"FROM stage", st.key});
  } else if (stage.base == "scratch") {
    oci::Platform p = oci::host_platform();
    st.config.architecture = p.architecture;
    st.config.os = p.os;
    st.config.variant = p.variant;
    st.config.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    st.key = hash_parts({"FROM scratch"});
  } else {
    auto detail = [&] {
      std::lock_guard lock(images_mu_);
      return images_.inspect(stage.base);
    }();
    if (!detail) {
      if (detail.error().code() == ErrorCode::NotFound)
        return Fail(ErrorCode::NotFound, "{}: not found: no such image in the local store (berth build does not pull)",
                    stage.base);
      return Err(detail.error());
    }
    st.config = detail->config;
    if (detail->manifest.layers.size() != st.config.diff_ids.size())
      return Fail(ErrorCode::InvalidArgument, "image {}: manifest and config disagree on the layers", stage.base);
    for (size_t i = 0; i < detail->manifest.layers.size(); ++i) {
      const auto& l = detail->manifest.layers[i];
      st.layers.push_back(image::LayerBlob{l.digest, st.config.diff_ids[i], l.size, l.media_type});
    }
    st.snapshot = detail->record.snapshot;
    st.key = hash_parts({"FROM image", detail->record.id});
    if (st.config.config.env.empty())
      st.config.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  }
  st.args.clear();
  st.cmd_set = false;
  if (!st.config.config.shell.empty()) st.shell = st.config.config.shell;
  return st;
}

Result<BuildState> Builder::run_stage(const Stage& stage, size_t count) {
  std::string label = stage.name.empty() ? (count > 1 ? fmt::format("stage-{}", stage.index) : "") : stage.name;
  int steps = 1;
  for (const auto& ins : stage.raw) steps += counted(ins.keyword) ? 1 : 0;
  std::string head = label.empty() ? fmt::format("[1/{}]", steps) : fmt::format("[{} 1/{}]", label, steps);
  int v = progress_.start(fmt::format("{} FROM {}", head, stage.base));
  auto st = from(stage);
  if (!st) {
    progress_.error(v, st.error().what());
    return st;
  }
  if (stage_index(stages_, stage.base, static_cast<size_t>(stage.index)) || stage.base == "scratch") {
    progress_.done(v);
  } else {
    progress_.line(v, "resolve " + stage.base + " done");
    progress_.done(v);
  }
  st->stage_name = label;
  st->steps = steps;
  st->step = 1;
  for (const auto& ins : stage.raw) {
    if (cancel_) return Fail(ErrorCode::Unavailable, "stage {}: canceled", label.empty() ? stage.base : label);
    TRY(dispatch(*st, ins));
  }
  return st;
}

Result<const BuildState*> Builder::source_state(const std::string& name, BuildState&) {
  std::lock_guard lock(state_mu_);
  if (auto idx = stage_index(stages_, name, stages_.size())) {
    auto it = built_.find(*idx);
    if (it == built_.end()) return Fail(ErrorCode::InvalidArgument, "stage {} is not built before it is used", name);
    return &it->second;
  }
  auto it = images_by_name_.find(name);
  if (it != images_by_name_.end()) return &it->second;
  Stage pseudo;
  pseudo.base = name;
  pseudo.index = 0;
  BuildState st = TRY(from(pseudo));
  return &(images_by_name_[name] = std::move(st));
}

Result<BuildResult> Builder::run() {
  TRY(load_context());
  db_ = TRY(store::Database::open(engine_.root + "/berth.db"));
  cache_ = std::make_unique<store::BuildCacheRecords>(*db_);
  auto df = TRY(parse_dockerfile(dockerfile_text_, options_.dockerfile.empty() ? "Dockerfile" : options_.dockerfile));
  std::map<std::string, std::string> args = platform_args();
  for (const auto& [k, v] : options_.build_args) args[k] = v;
  stages_ = TRY(split_stages(df, args, &meta_args_));
  if (stages_.empty()) return Fail(ErrorCode::InvalidArgument, "the Dockerfile has no FROM instruction");

  size_t target = stages_.size() - 1;
  if (!options_.target.empty()) {
    auto idx = stage_index(stages_, options_.target, stages_.size());
    if (!idx || std::all_of(options_.target.begin(), options_.target.end(), ::isdigit))
      return Fail(ErrorCode::NotFound, "target stage \"{}\" could not be found", options_.target);
    target = *idx;
  }
  // The stages the target needs, through FROM, COPY --from and RUN --mount from=.
  std::map<size_t, std::set<size_t>> deps;
  std::vector<size_t> todo = {target};
  while (!todo.empty()) {
    size_t i = todo.back();
    todo.pop_back();
    if (deps.count(i)) continue;
    auto& mine = deps[i];
    if (auto b = stage_index(stages_, stages_[i].base, i)) mine.insert(*b);
    for (const auto& ins : stages_[i].raw) {
      for (const auto& ref : references(ins)) {
        std::string expanded = ref;
        if (auto e = expand_word(ref, [&](std::string_view n) -> std::optional<std::string> {
              for (const auto& m : meta_args_)
                if (m.name == n) return m.value;
              return std::nullopt;
            }))
          expanded = *e;
        if (auto d = stage_index(stages_, expanded, i)) mine.insert(*d);
      }
    }
    for (size_t d : mine) todo.push_back(d);
  }
  std::vector<size_t> order;
  for (const auto& [i, _] : deps) order.push_back(i);
  TRY(build_stages(order, deps, stages_.size()));
  return commit_image(built_.at(target));
}

Result<void> Builder::build_stages(const std::vector<size_t>& order, const std::map<size_t, std::set<size_t>>& deps,
                                   size_t count) {
  size_t workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 4);
  if (const char* env = std::getenv("BERTH_BUILD_PARALLELISM"); env && *env)
    workers = std::clamp<size_t>(std::strtoul(env, nullptr, 10), 1, 16);
  workers = std::min(workers, order.size());
  if (workers <= 1) {
    for (size_t i : order) built_[i] = TRY(run_stage(stages_[i], count));
    return {};
  }
  std::mutex mu;
  std::condition_variable cv;
  std::set<size_t> pending(order.begin(), order.end()), done;
  size_t running = 0;
  std::optional<Error> failure;
  auto fail = [&](Error e) {  // with mu held
    if (!failure) failure = std::move(e);
    cancel_ = true;
    cv.notify_all();
  };
  // The lowest pending stage whose dependencies are all built.
  auto ready = [&]() -> std::optional<size_t> {
    for (size_t i : pending) {
      const auto& d = deps.at(i);
      if (std::all_of(d.begin(), d.end(), [&](size_t x) { return done.count(x) > 0; })) return i;
    }
    return std::nullopt;
  };
  auto work = [&] {
    ThreadStores stores;
    auto opened = store::Database::open(engine_.root + "/berth.db");
    std::unique_lock lock(mu);
    if (!opened) return fail(opened.error());
    stores.db = std::move(*opened);
    stores.cache = std::make_unique<store::BuildCacheRecords>(*stores.db);
    thread_stores = &stores;
    auto reset = defer([] { thread_stores = nullptr; });
    while (true) {
      std::optional<size_t> next;
      cv.wait(lock, [&] { return failure || pending.empty() || (next = ready()) || running == 0; });
      if (failure || pending.empty()) return;
      if (!next) return fail(Error(ErrorCode::Internal, "the build's stages depend on each other in a cycle"));
      pending.erase(*next);
      ++running;
      lock.unlock();
      auto st = run_stage(stages_[*next], count);
      if (st) {
        std::lock_guard state(state_mu_);
        built_[*next] = std::move(*st);
      }
      lock.lock();
      --running;
      if (!st) {
        fail(st.error());
        continue;
      }
      done.insert(*next);
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (failure) return Err(*failure);
  return {};
}

Result<BuildResult> Builder::commit_image(BuildState& st) {
  BuildResult out;
  int v = progress_.start("exporting to image");
  for (const auto& [k, val] : options_.labels) st.config.config.labels[k] = val;
  std::vector<std::string> label_parts = {"image", st.key};
  for (const auto& [k, val] : options_.labels) label_parts.push_back(k + "=" + val);
  std::string key = hash_parts(label_parts);
  std::string id;
  if (!options_.no_cache) {
    if (auto rec = TRY(cache_->get(key)); rec && rec->kind == "image" && images_.inspect(rec->diff_id)) id = rec->diff_id;
  }
  if (id.empty()) {
    progress_.line(v, "exporting layers done");
    st.config.created = now_rfc3339();
    if (st.config.architecture.empty()) {
      oci::Platform p = oci::host_platform();
      st.config.architecture = p.architecture;
      st.config.os = p.os;
    }
    id = TRY(images_.store_image(st.config, st.layers, {}));
    TRY(cache_->put(store::BuildCacheRecord{key, "image", id, "", "", 0, st.config.created}));
  }
  progress_.line(v, fmt::format("writing image {} done", id));
  for (const auto& tag : options_.tags) {
    auto ref = TRY(oci::parse_image_reference(tag));
    TRY(images_.tag(id, tag));
    out.tags.push_back(ref.to_string());
    progress_.line(v, fmt::format("naming to {} done", ref.to_string()));
  }
  progress_.done(v);
  out.image_id = id;
  return out;
}

}  // namespace detail

Result<SecretSource> parse_secret_source(std::string_view text) {
  SecretSource s;
  for (const auto& part : split(text, ',')) {
    auto eq = part.find('=');
    std::string k = part.substr(0, eq), v = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (k == "id") s.id = v;
    else if (k == "src" || k == "source") s.src = v;
    else if (k == "env") s.env = v;
    else if (k == "type" && (v == "file" || v == "env")) continue;
    else return Fail(ErrorCode::InvalidArgument, "invalid argument \"{}\" for \"--secret\" flag: unexpected key '{}'", text, k);
  }
  if (s.id.empty()) {
    if (!s.src.empty()) s.id = s.src.substr(s.src.rfind('/') + 1);
    else return Fail(ErrorCode::InvalidArgument, "invalid argument \"{}\" for \"--secret\" flag: id is required", text);
  }
  if (s.src.empty() && s.env.empty()) s.env = s.id;
  return s;
}

Result<BuildResult> build_image(const engine::EngineOptions& engine, engine::ImageService& images,
                                const BuildOptions& options, const BuildOutput& output) {
  detail::Progress progress(output);
  detail::Builder builder(engine, images, options, progress);
  auto result = builder.run();
  return result;
}

}  // namespace berth::build
