// RUN: the cache key of a step (the command, its environment, its mounts and the content they
// read, never a secret's value) and the container that runs it.
#include <algorithm>

#include "base/fs.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "image/snapshot_store.h"
#include "runtime/mount_list.h"

namespace berth::build::detail {

Result<std::unique_ptr<StateView>> StateView::open(image::Snapshotter& snapshots, const std::string& root,
                                                   const BuildState& state) {
  std::unique_ptr<StateView> v(new StateView(snapshots));
  v->base_ = root + "/builds/view-" + image::random_hex(8);
  v->dir_ = v->base_ + "/rootfs";
  TRY(make_dirs(v->dir_, 0700));
  if (state.snapshot.empty()) return v;
  v->key_ = "build-view-" + image::random_hex(8);
  auto mounts = TRY(snapshots.view(v->key_, state.snapshot));
  TRY_CTX("mount a view of a stage", runtime::mount_list(mounts, v->dir_));
  return v;
}

StateView::~StateView() {
  (void)runtime::unmount_all(dir_);
  if (!key_.empty()) (void)snapshots_.remove(key_);
  (void)remove_all(base_);
}

Result<void> Builder::run_step(BuildState& st, const Instruction& ins, int vertex) {
  auto run = TRY(decode_run(ins, st.lookup(), '\\', st.shell));
  if (run.network == RunNetwork::Host)
    return Fail(ErrorCode::InvalidArgument, "{}:{}: RUN --network=host is not allowed in berth build (use default or none)",
                ins.file, ins.start.line);
  RunPlan plan;
  plan.argv = run.cmd;
  plan.mounts = run.mounts;
  plan.network = run.network;
  const auto& env = st.config.config.env;
  std::vector<std::string> arg_pairs;
  for (const auto& [k, v] : st.args) {
    arg_pairs.push_back(k + "=" + v);
    bool shadowed = std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.substr(0, e.find('=')) == k; });
    if (!shadowed) plan.env.push_back(k + "=" + v);
  }
  std::vector<std::string> parts = {st.key, "RUN"};
  for (const auto& a : plan.argv) parts.push_back(a);
  parts.push_back("env");
  for (const auto& e : env) parts.push_back(e);
  parts.push_back("args");
  for (const auto& a : arg_pairs) parts.push_back(a);
  parts.push_back("user=" + st.config.config.user);
  parts.push_back("workdir=" + st.config.config.working_dir);
  parts.push_back(run.network == RunNetwork::None ? "network=none" : "network=default");
  std::map<std::string, std::unique_ptr<StateView>> views;
  for (const auto& m : plan.mounts) {
    parts.push_back(fmt::format("mount type={} target={} id={} from={} source={} ro={} mode={} uid={} gid={}",
                                static_cast<int>(m.type), m.target, m.id, m.from, m.source, m.read_only,
                                m.mode.value_or(0), m.uid.value_or(0), m.gid.value_or(0)));
    if (m.type != RunMount::Type::Bind) continue;
    if (m.from.empty()) {
      auto paths = TRY_CTX("RUN --mount source", context_->match(m.source.empty() ? "." : m.source));
      parts.push_back(TRY(context_->content_digest(paths)).to_string());
    } else {
      BuildState scratch;
      const BuildState* src = TRY(source_state(m.from, scratch));
      parts.push_back(src->key);
      for (const auto& d : src->config.diff_ids) parts.push_back(d.to_string());
    }
  }
  std::string key = hash_parts(parts);
  st.key = key;
  std::string shown = join(plan.argv, " ");
  std::string created_by = "RUN " +
                           (arg_pairs.empty() ? std::string() : fmt::format("|{} {} ", arg_pairs.size(), join(arg_pairs, " "))) +
                           shown + " # buildkit";
  return layer_step(st, key, created_by, vertex, [&](const std::string& rootfs, std::set<std::string>& exclude) -> Result<void> {
    RunEnv renv;
    renv.engine = &engine_;
    renv.options = &options_;
    renv.context = &*context_;
    renv.db = &db();
    renv.stage_dir = [&](const std::string& from) -> Result<std::string> {
      auto& view = views[from];
      if (!view) {
        BuildState scratch;
        const BuildState* src = TRY(source_state(from, scratch));
        view = TRY(StateView::open(images_.snapshots(), engine_.root, *src));
      }
      return view->dir();
    };
    int code = TRY(run_container(renv, st.config, plan, rootfs, exclude,
                                 [&](std::string_view line) { progress_.log(vertex, line); }));
    if (code != 0)
      return Fail(ErrorCode::InvalidArgument, "process \"{}\" did not complete successfully: exit code: {}", shown, code);
    return {};
  });
}

}  // namespace berth::build::detail
