// Internal to the builder: the state a stage carries from step to step, the progress printer
// and the Builder that owns the stores for one build.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "build/build_context.h"
#include "build/builder.h"
#include "build/instructions.h"
#include "image/layer_writer.h"
#include "image/snapshotter.h"
#include "oci/image_spec.h"
#include "store/build_cache_records.h"
#include "store/database.h"

namespace berth::build::detail {

// What a stage has built so far.
struct BuildState {
  oci::ImageConfig config;               // config, diff_ids and history
  std::vector<image::LayerBlob> layers;  // one per diff ID
  std::string snapshot;                  // the top committed snapshot (its ChainID); "" = empty
  std::string key;                       // sha256 hex chaining every step so far
  std::map<std::string, std::string> args;  // ARGs in scope that have a value
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  bool cmd_set = false;  // CMD given in this stage (ENTRYPOINT then keeps it)
  std::string stage_name;  // for progress: "builder", "stage-1", or "" for a lone unnamed stage
  int step = 0, steps = 0;  // counted steps (FROM RUN COPY ADD WORKDIR) done and in the stage

  // ENV first, then ARG values: the variables instructions are expanded with.
  EnvLookup lookup() const;
  // "[builder 2/5] " prefix text for a step.
  std::string step_label();
};

// Held around every write to the process's stdout/stderr and around a container's create,
// which points them at the step's output pipe for a moment: a progress line never lands there.
std::mutex& stdio_mutex();

// Docker's plain progress: one numbered vertex per step; whole lines from any thread.
class Progress {
 public:
  explicit Progress(BuildOutput out) : out_(std::move(out)) {}
  int start(const std::string& name);
  void log(int vertex, std::string_view text);  // a line of a step's output
  void cached(int vertex);
  void done(int vertex);
  void error(int vertex, const std::string& message);
  void line(int vertex, const std::string& text);  // "#N text"

 private:
  using Clock = std::chrono::steady_clock;
  void emit(const std::string& line);
  BuildOutput out_;
  std::mutex mu_;
  int next_ = 1;
  std::map<int, Clock::time_point> started_;
};

// A read-only view of a stage's result mounted on a directory (COPY --from, RUN --mount
// from=); unmounted and released when destroyed.
class StateView {
 public:
  static Result<std::unique_ptr<StateView>> open(image::Snapshotter& snapshots, const std::string& root,
                                                 const BuildState& state);
  ~StateView();
  StateView(const StateView&) = delete;
  StateView& operator=(const StateView&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  StateView(image::Snapshotter& snapshots) : snapshots_(snapshots) {}
  image::Snapshotter& snapshots_;
  std::string key_, base_, dir_;
};

// Work a layer step does on the mounted rootfs of its new snapshot. exclude collects paths
// (relative to the rootfs) the step created only as mount points.
using LayerWork = std::function<Result<void>(const std::string& rootfs, std::set<std::string>& exclude)>;

class Builder {
 public:
  Builder(const engine::EngineOptions& engine, engine::ImageService& images, const BuildOptions& options,
          Progress& progress)
      : engine_(engine), images_(images), options_(options), progress_(progress) {}

  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  Result<BuildResult> run();

 private:
  Result<void> load_context();
  // Builds the stages in order's set: those whose dependencies are built run at once on a
  // small pool of threads, each with its own database connection; the first failure stops
  // the others before their next step.
  Result<void> build_stages(const std::vector<size_t>& order, const std::map<size_t, std::set<size_t>>& deps,
                            size_t count);
  Result<BuildState> run_stage(const Stage& stage, size_t count);
  // The calling thread's connection to berth.db and the build cache on it.
  store::Database& db();
  store::BuildCacheRecords& cache();
  Result<BuildState> from(const Stage& stage);
  Result<void> dispatch(BuildState& st, const Instruction& ins);
  Result<void> run_step(BuildState& st, const Instruction& ins, int vertex);
  Result<void> copy_step(BuildState& st, const Instruction& ins, int vertex, bool add);
  Result<void> workdir_step(BuildState& st, const std::string& dir, int vertex);
  // The stage a --from or mount from= names: an earlier stage by name or index, else an image.
  Result<const BuildState*> source_state(const std::string& name, BuildState& scratch);
  // Finds the step's layer in the cache, or does the work on a new snapshot and records it.
  Result<void> layer_step(BuildState& st, const std::string& key, const std::string& created_by, int vertex,
                          const LayerWork& work);
  Result<bool> use_cached(BuildState& st, const std::string& key, const std::string& created_by);
  void add_layer(BuildState& st, const image::LayerBlob& blob, const std::string& created_by,
                 const std::string& created);
  Result<BuildResult> commit_image(BuildState& st);

  const engine::EngineOptions& engine_;
  engine::ImageService& images_;
  const BuildOptions& options_;
  Progress& progress_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::BuildCacheRecords> cache_;
  std::optional<BuildContext> context_;
  std::string context_tmp_;  // extracted stdin context, removed at the end
  std::string dockerfile_text_;
  std::vector<Stage> stages_;
  std::vector<ArgDecl> meta_args_;
  std::map<size_t, BuildState> built_;  // finished stages by index
  std::map<std::string, BuildState> images_by_name_;  // --from=image states
  std::recursive_mutex state_mu_;  // built_ and images_by_name_ (their nodes never move)
  std::mutex images_mu_;           // images_ (one SQLite connection)
  std::atomic<bool> cancel_{false};  // a stage failed: the others stop
};

// The instruction as Docker's progress shows it: keyword, flags, arguments.
std::string display_text(const Instruction& ins);
// Hex sha256 over parts, each length-prefixed so no two lists collide.
std::string hash_parts(const std::vector<std::string>& parts);
// A step's container: RUN with its mounts, network and secrets.
struct RunPlan {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // ARGs not shadowed by ENV, "K=V"
  std::vector<RunMount> mounts;
  RunNetwork network = RunNetwork::Default;
  std::vector<InlineFile> files;  // heredocs written under /dev/pipes-like temp files
};
// Runs plan in a container on rootfs; returns its exit code. Output lines go to log.
struct RunEnv {
  const engine::EngineOptions* engine = nullptr;
  const BuildOptions* options = nullptr;
  const BuildContext* context = nullptr;
  store::Database* db = nullptr;
  // Mount sources from other stages: name → mounted directory.
  std::function<Result<std::string>(const std::string& from)> stage_dir;
};
Result<int> run_container(const RunEnv& env, const oci::ImageConfig& config, const RunPlan& plan,
                          const std::string& rootfs, std::set<std::string>& exclude,
                          const std::function<void(std::string_view)>& log);

// Copies context paths (as BuildContext::match returns them) to dest inside root_fd.
struct CopyOwner {
  std::optional<uint32_t> uid, gid;
  std::optional<uint32_t> mode;
};
Result<void> copy_from_context(const BuildContext& ctx, const std::vector<std::string>& paths, int root_fd,
                               const std::string& dest, bool dest_is_dir, const CopyOwner& owner,
                               bool extract_archives);
// Copies paths of a directory tree (another stage's root) to dest inside root_fd.
Result<void> copy_from_tree(const std::string& src_root, const std::vector<std::string>& paths, int root_fd,
                            const std::string& dest, bool dest_is_dir, const CopyOwner& owner);
// The paths (absolute in src_root) a COPY --from source names: itself, or with wildcards
// Docker's matches (filepath.Match from the first wildcard component on, lexical order, a
// matched directory not descended). No match is NotFound naming the source.
Result<std::vector<std::string>> match_in_tree(const std::string& src_root, const std::string& source);
// Copies the regular file src_path (its mode and mtime kept unless owner.mode) as name, or to
// dest itself when dest is not a directory, inside root_fd.
Result<void> copy_file_into(const std::string& src_path, const std::string& name, int root_fd,
                            const std::string& dest, bool dest_is_dir, const CopyOwner& owner);

// ADD <url>: whether a source is an http(s) URL, and the file name Docker gives it (the URL
// path's last component, "__unnamed__" when there is none).
bool is_url_source(std::string_view source);
std::string url_file_name(std::string_view url);
// A downloaded ADD source in a temp directory, removed when destroyed.
struct Download {
  std::string dir, path;
  Digest digest;  // sha256 of the body
  Download() = default;
  Download(const Download&) = delete;
  Download& operator=(const Download&) = delete;
  ~Download();
};
// Streams url to a 0600 temp file under tmp_root (mtime from Last-Modified), verifying
// checksum ("sha256:<hex>") when given: a mismatch names the URL and both digests.
Result<std::unique_ptr<Download>> download_url(const std::string& url, const std::string& tmp_root,
                                               const std::string& checksum);

}  // namespace berth::build::detail
