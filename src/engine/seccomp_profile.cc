// Docker-format seccomp profiles: parsing (--security-opt seccomp=FILE) and resolution
// against the container's capabilities and the machine into linux.seccomp.
#include "engine/seccomp_profile.h"

#include <algorithm>

#include "oci/json_reader.h"

namespace berth::engine {

namespace {

using oci::jsonio::fail_at;
using oci::jsonio::Json;
using oci::jsonio::member_path;
using oci::jsonio::ObjectReader;

constexpr std::string_view kActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY"};
constexpr std::string_view kOps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

template <size_t N>
bool one_of(std::string_view v, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), v) != std::end(set);
}

struct Filter {
  std::vector<std::string> caps, arches;
  std::string min_kernel;
};

Result<void> read_filter(const Json& j, const std::string& path, Filter& f) {
  if (!j.is_object()) return oci::jsonio::type_error(path, "an object", j);
  return ObjectReader(j, path)
      .field("caps", f.caps)
      .field("arches", f.arches)
      .field("minKernel", f.min_kernel)
      .done();
}

Result<void> read_arg(const Json& j, const std::string& path, oci::SeccompArg& a) {
  if (!j.is_object()) return oci::jsonio::type_error(path, "an object", j);
  TRY(ObjectReader(j, path)
          .field("index", a.index)
          .field("value", a.value)
          .field("valueTwo", a.value_two)
          .required("op", a.op)
          .done());
  if (!one_of(a.op, kOps)) return fail_at(member_path(path, "op"), "unknown operator {}", quote(a.op));
  if (a.index > 5) return fail_at(member_path(path, "index"), "must be 0 to 5");
  return {};
}

Result<void> read_rule(const Json& j, const std::string& path, SeccompProfileRule& r) {
  if (!j.is_object()) return oci::jsonio::type_error(path, "an object", j);
  std::string name;
  TRY(ObjectReader(j, path)
          .field("names", r.names)
          .field("name", name)
          .required("action", r.action)
          .field("errnoRet", r.errno_ret)
          .done());
  if (!name.empty()) r.names.push_back(name);
  if (r.names.empty()) return fail_at(member_path(path, "names"), "must list at least one syscall");
  if (!one_of(r.action, kActions)) {
    return fail_at(member_path(path, "action"), "unknown action {}", quote(r.action));
  }
  if (auto it = j.find("args"); it != j.end() && !it->is_null()) {
    std::string apath = member_path(path, "args");
    if (!it->is_array()) return oci::jsonio::type_error(apath, "an array", *it);
    for (size_t i = 0; i < it->size(); ++i) {
      oci::SeccompArg a;
      TRY(read_arg((*it)[i], oci::jsonio::index_path(apath, i), a));
      r.args.push_back(a);
    }
  }
  Filter inc, exc;
  if (auto it = j.find("includes"); it != j.end() && !it->is_null()) {
    TRY(read_filter(*it, member_path(path, "includes"), inc));
  }
  if (auto it = j.find("excludes"); it != j.end() && !it->is_null()) {
    TRY(read_filter(*it, member_path(path, "excludes"), exc));
  }
  r.include_caps = std::move(inc.caps);
  r.include_arches = std::move(inc.arches);
  r.min_kernel = std::move(inc.min_kernel);
  r.exclude_caps = std::move(exc.caps);
  r.exclude_arches = std::move(exc.arches);
  return {};
}

// "6.1.0-18-amd64" -> {6, 1}; missing parts are 0.
std::pair<int, int> kernel_version(std::string_view s) {
  int major = 0, minor = 0;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') major = major * 10 + (s[i++] - '0');
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') minor = minor * 10 + (s[i++] - '0');
  }
  return {major, minor};
}

std::string native_scmp_arch(std::string_view go_arch) {
  if (go_arch == "amd64") return "SCMP_ARCH_X86_64";
  if (go_arch == "arm64") return "SCMP_ARCH_AARCH64";
  if (go_arch == "x86") return "SCMP_ARCH_X86";
  if (go_arch == "arm") return "SCMP_ARCH_ARM";
  if (go_arch == "ppc64le") return "SCMP_ARCH_PPC64LE";
  if (go_arch == "s390x") return "SCMP_ARCH_S390X";
  if (go_arch == "riscv64") return "SCMP_ARCH_RISCV64";
  return "";
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

Result<SeccompProfile> parse_seccomp_profile(std::string_view json) {
  auto j = TRY(oci::jsonio::parse_json(json));
  if (!j.is_object()) return oci::jsonio::type_error("", "a JSON object", j);
  SeccompProfile p;
  TRY(ObjectReader(j, "")
          .required("defaultAction", p.default_action)
          .field("defaultErrnoRet", p.default_errno_ret)
          .field("architectures", p.architectures)
          .done());
  if (!one_of(p.default_action, kActions)) {
    return fail_at("defaultAction", "unknown action {}", quote(p.default_action));
  }
  if (auto it = j.find("archMap"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return oci::jsonio::type_error("archMap", "an array", *it);
    for (size_t i = 0; i < it->size(); ++i) {
      std::string path = oci::jsonio::index_path("archMap", i);
      const Json& e = (*it)[i];
      if (!e.is_object()) return oci::jsonio::type_error(path, "an object", e);
      SeccompArchMap m;
      TRY(ObjectReader(e, path)
              .required("architecture", m.architecture)
              .field("subArchitectures", m.sub_architectures)
              .done());
      p.arch_map.push_back(std::move(m));
    }
  }
  if (auto it = j.find("syscalls"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return oci::jsonio::type_error("syscalls", "an array", *it);
    for (size_t i = 0; i < it->size(); ++i) {
      SeccompProfileRule r;
      TRY(read_rule((*it)[i], oci::jsonio::index_path("syscalls", i), r));
      p.rules.push_back(std::move(r));
    }
  }
  return p;
}

oci::Seccomp resolve_seccomp_profile(const SeccompProfile& profile,
                                     const std::vector<std::string>& caps,
                                     std::string_view go_arch, std::string_view kernel_release) {
  oci::Seccomp out;
  out.default_action = profile.default_action;
  out.default_errno_ret = profile.default_errno_ret;
  if (profile.arch_map.empty()) {
    out.architectures = profile.architectures;
  } else {
    std::string native = native_scmp_arch(go_arch);
    for (const auto& m : profile.arch_map) {
      if (m.architecture != native) continue;
      out.architectures.push_back(m.architecture);
      for (const auto& s : m.sub_architectures) out.architectures.push_back(s);
    }
  }
  auto kernel = kernel_version(kernel_release);
  for (const auto& r : profile.rules) {
    bool ok = true;
    for (const auto& c : r.include_caps) ok = ok && contains(caps, c);
    if (!r.include_arches.empty()) ok = ok && contains(r.include_arches, go_arch);
    if (!r.min_kernel.empty()) ok = ok && kernel >= kernel_version(r.min_kernel);
    for (const auto& c : r.exclude_caps) ok = ok && !contains(caps, c);
    if (!r.exclude_arches.empty()) ok = ok && !contains(r.exclude_arches, go_arch);
    if (!ok) continue;
    out.syscalls.push_back(oci::SeccompSyscall{r.names, r.action, r.errno_ret, r.args});
  }
  return out;
}

}  // namespace berth::engine
