// User and group lookup in the container's /etc/passwd and /etc/group, read through an
// fd resolved inside the rootfs.
#include "engine/container_user.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"

namespace berth::engine {

namespace {

constexpr off_t kMaxDatabaseSize = 16 << 20;

// The content of an account database inside the root; "" when it does not exist.
Result<std::string> read_in_root(int rootfs_fd, std::string_view path) {
  auto fd = open_in_root(rootfs_fd, path);
  if (!fd) {
    if (fd.error().code() == ErrorCode::NotFound) return std::string();
    Error e = fd.error();
    e.context(fmt::format("open {} in the container", path));
    return Err(e);
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return FailErrno(errno, "stat {} in the container", path);
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::InvalidArgument, "{} in the container is not a regular file", path);
  }
  if (st.st_size > kMaxDatabaseSize) {
    return Fail(ErrorCode::InvalidArgument, "{} in the container is too large", path);
  }
  // Reopen the O_PATH descriptor for reading: the file it names was found inside the root.
  auto rd = open_fd(fmt::format("/proc/self/fd/{}", fd->get()),
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (!rd) {
    Error e = rd.error();
    e.context(fmt::format("read {} in the container", path));
    return Err(e);
  }
  return read_all(rd->get());
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> to_id(std::string_view s) {
  auto n = parse_uint(s, "id");
  if (!n || *n > 0xFFFFFFFEu || s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
  return static_cast<uint32_t>(*n);
}

std::vector<std::vector<std::string>> records(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  for (auto& line : split(text, '\n')) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    out.push_back(split(l, ':'));
  }
  return out;
}

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (auto& f : records(text)) {
    if (f.size() < 4) continue;
    auto uid = to_id(f[2]), gid = to_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back(PasswdEntry{f[0], *uid, *gid, f.size() > 5 ? f[5] : ""});
  }
  return out;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> out;
  for (auto& f : records(text)) {
    if (f.size() < 3) continue;
    auto gid = to_id(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) {
      for (auto& m : split(f[3], ',')) {
        if (!trim(m).empty()) g.members.emplace_back(trim(m));
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

const GroupEntry* find_group(const std::vector<GroupEntry>& groups, std::string_view arg) {
  for (const auto& g : groups) {
    if (g.name == arg || std::to_string(g.gid) == arg) return &g;
  }
  return nullptr;
}

}  // namespace

Result<ResolvedUser> resolve_container_user(int rootfs_fd, std::string_view user_text,
                                            const std::vector<std::string>& group_add) {
  std::string user_arg(user_text.substr(0, user_text.find(':')));
  std::string group_arg;
  if (auto c = user_text.find(':'); c != std::string_view::npos) group_arg = user_text.substr(c + 1);
  if (user_arg.empty()) user_arg = "0";

  auto passwd = parse_passwd(TRY(read_in_root(rootfs_fd, "/etc/passwd")));
  ResolvedUser out;
  std::string matched_name;
  const PasswdEntry* entry = nullptr;
  for (const auto& p : passwd) {
    if (p.name == user_arg || std::to_string(p.uid) == user_arg) {
      entry = &p;
      break;
    }
  }
  if (entry != nullptr) {
    out.uid = entry->uid;
    out.gid = entry->gid;
    if (!entry->home.empty()) out.home = entry->home;
    matched_name = entry->name;
  } else if (auto n = to_id(user_arg)) {
    out.uid = *n;
  } else {
    return Fail(ErrorCode::InvalidArgument,
                "unable to find user {}: no matching entries in passwd file", user_arg);
  }

  bool need_groups = !group_arg.empty() || !matched_name.empty() || !group_add.empty();
  std::vector<GroupEntry> groups;
  if (need_groups) groups = parse_group(TRY(read_in_root(rootfs_fd, "/etc/group")));

  if (!group_arg.empty()) {
    if (const GroupEntry* g = find_group(groups, group_arg)) {
      out.gid = g->gid;
    } else if (auto n = to_id(group_arg)) {
      out.gid = *n;
    } else {
      return Fail(ErrorCode::InvalidArgument,
                  "unable to find group {}: no matching entries in group file", group_arg);
    }
  } else if (!matched_name.empty()) {
    for (const auto& g : groups) {
      if (std::find(g.members.begin(), g.members.end(), matched_name) != g.members.end()) {
        out.additional_gids.push_back(g.gid);
      }
    }
  }
  for (const auto& add : group_add) {
    uint32_t gid = 0;
    if (const GroupEntry* g = find_group(groups, add)) {
      gid = g->gid;
    } else if (auto n = to_id(add)) {
      gid = *n;
    } else {
      return Fail(ErrorCode::InvalidArgument, "--group-add {}: unable to find group {}",
                  quote(add), add);
    }
    out.additional_gids.push_back(gid);
  }
  std::vector<uint32_t> unique;
  for (uint32_t g : out.additional_gids) {
    if (std::find(unique.begin(), unique.end(), g) == unique.end()) unique.push_back(g);
  }
  out.additional_gids = std::move(unique);
  return out;
}

}  // namespace berth::engine
