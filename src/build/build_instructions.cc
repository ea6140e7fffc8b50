// The builder's instructions that only change the image config (ENV, LABEL, ARG, USER, CMD,
// ...), and the dispatch to the layer steps (RUN, COPY, ADD, WORKDIR).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "base/strings.h"
#include "build/build_internal.h"

namespace berth::build::detail {
namespace {

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (auto& e : env) {
    if (e.substr(0, e.find('=')) == key) {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

void add_sorted(std::vector<std::string>& list, const std::vector<std::string>& items) {
  for (const auto& i : items) list.push_back(i);
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
}

std::string json_list(const std::vector<std::string>& v) {
  nlohmann::json j = v;
  return j.dump();
}

}  // namespace

std::string display_text(const Instruction& ins) {
  std::string out = ins.keyword;
  for (const auto& f : ins.flags) out += " --" + f.name + (f.has_value ? "=" + f.value : "");
  return out + " " + ins.text;
}

Result<void> Builder::dispatch(BuildState& st, const Instruction& ins) {
  const std::string& k = ins.keyword;
  EnvLookup lookup = st.lookup();
  char esc = '\\';
  auto& cfg = st.config.config;
  std::string history;  // an empty-layer history entry
  if (k == "RUN" || k == "COPY" || k == "ADD" || k == "WORKDIR") {
    std::string label = st.step_label();
    std::string text = display_text(ins);
    if (k == "WORKDIR") {
      std::string dir = TRY(decode_workdir(ins, lookup, esc));
      // As Docker: a relative WORKDIR is joined onto the current one and cleaned; an absolute
      // one is recorded as written (the directory made is the cleaned path either way).
      if (!starts_with(dir, "/")) dir = clean_path((cfg.working_dir.empty() ? std::string("/") : cfg.working_dir) + "/" + dir);
      cfg.working_dir = dir;
      text = "WORKDIR " + dir;
    }
    int v = progress_.start(label + " " + text);
    Result<void> r = k == "RUN"       ? run_step(st, ins, v)
                     : k == "WORKDIR" ? workdir_step(st, clean_path(cfg.working_dir), v)
                                      : copy_step(st, ins, v, k == "ADD");
    if (!r) {
      progress_.error(v, r.error().what());
      return r;
    }
    return {};
  }
  if (k == "ENV") {
    auto kv = TRY(decode_env(ins, lookup, esc));
    std::vector<std::string> parts;
    for (const auto& p : kv.pairs) {
      set_env(cfg.env, p.key, p.value);
      parts.push_back(p.key + "=" + p.value);
    }
    history = "ENV " + join(parts, " ");
  } else if (k == "LABEL") {
    auto kv = TRY(decode_label(ins, lookup, esc));
    std::vector<std::string> parts;
    for (const auto& p : kv.pairs) {
      cfg.labels[p.key] = p.value;
      parts.push_back(p.key + "=" + p.value);
    }
    history = "LABEL " + join(parts, " ");
  } else if (k == "ARG") {
    for (auto& decl : TRY(decode_arg(ins, lookup, esc))) {
      std::optional<std::string> value;
      if (auto b = options_.build_args.find(decl.name); b != options_.build_args.end()) value = b->second;
      else if (decl.default_value) value = decl.default_value;
      else {
        for (const auto& m : meta_args_)
          if (m.name == decl.name && m.value) value = m.value;
        static const std::set<std::string> automatic = {"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "TARGETPLATFORM",
                                                        "TARGETOS", "TARGETARCH"};
        if (!value && automatic.count(decl.name)) {
          oci::Platform p = oci::host_platform();
          value = decl.name.ends_with("PLATFORM") ? p.to_string() : decl.name.ends_with("OS") ? p.os : p.architecture;
        }
      }
      if (value) st.args[decl.name] = *value;
      else st.args.erase(decl.name);
      st.key = hash_parts({st.key, "ARG", decl.name, value ? "=" + *value : "unset"});
    }
    return {};
  } else if (k == "USER") {
    cfg.user = TRY(decode_user(ins, lookup, esc));
    history = "USER " + cfg.user;
  } else if (k == "EXPOSE") {
    auto ports = TRY(decode_expose(ins, lookup, esc));
    add_sorted(cfg.exposed_ports, ports);
    std::vector<std::string> m;
    for (const auto& p : ports) m.push_back(p + ":{}");
    history = "EXPOSE map[" + join(m, " ") + "]";
  } else if (k == "CMD") {
    cfg.cmd = TRY(decode_command(ins, st.shell));
    st.cmd_set = true;
    history = "CMD " + json_list(cfg.cmd);
  } else if (k == "ENTRYPOINT") {
    cfg.entrypoint = TRY(decode_command(ins, st.shell));
    if (!st.cmd_set) cfg.cmd.clear();
    history = "ENTRYPOINT " + json_list(cfg.entrypoint);
  } else if (k == "HEALTHCHECK") {
    auto h = TRY(decode_healthcheck(ins));
    oci::HealthConfig hc;
    hc.test = h.test;
    hc.interval = h.interval_ns;
    hc.timeout = h.timeout_ns;
    hc.start_period = h.start_period_ns;
    hc.start_interval = h.start_interval_ns;
    hc.retries = h.retries;
    cfg.healthcheck = hc;
    history = display_text(ins);
  } else if (k == "VOLUME") {
    auto vols = TRY(decode_volume(ins, lookup, esc));
    add_sorted(cfg.volumes, vols);
    history = "VOLUME " + json_list(vols);
  } else if (k == "STOPSIGNAL") {
    cfg.stop_signal = TRY(decode_stopsignal(ins, lookup, esc));
    history = "STOPSIGNAL " + cfg.stop_signal;
  } else if (k == "SHELL") {
    st.shell = TRY(decode_shell(ins));
    cfg.shell = st.shell;
    history = "SHELL " + json_list(st.shell);
  } else if (k == "ONBUILD") {
    cfg.on_build.push_back(TRY(decode_onbuild(ins)));
    history = "ONBUILD " + cfg.on_build.back();
  } else if (k == "MAINTAINER") {
    st.config.author = TRY(decode_maintainer(ins));
    history = "MAINTAINER " + st.config.author;
  } else {
    return Fail(ErrorCode::InvalidArgument, "{}:{}:{}: {} is not supported by berth build", ins.file, ins.start.line,
                ins.start.column, k);
  }
  st.key = hash_parts({st.key, history});
  oci::HistoryEntry h;
  h.created = now_rfc3339();
  h.created_by = history;
  h.comment = "buildkit.dockerfile.v0";
  h.empty_layer = true;
  st.config.history.push_back(std::move(h));
  return {};
}

}  // namespace berth::build::detail
