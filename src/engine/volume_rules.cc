// What a volume may be called and configured with (Docker's local driver rules), label
// filters, and the size of a volume's data.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

#include "base/strings.h"
#include "engine/volume_store.h"

namespace berth::engine {
namespace {

constexpr size_t kMaxNameLength = 255;  // NAME_MAX: the name is a directory under volumes/

bool name_char(char c, bool first) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// tmpfs sizes as mount(8) takes them: 64m, 1g, 50%.
bool tmpfs_size(std::string_view s) {
  if (!s.empty() && std::string_view("kKmMgG%").find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return all_digits(s);
}

Result<void> validate_tmpfs_o(const std::string& o) {
  for (const auto& item : split(o, ',')) {
    auto eq = item.find('=');
    std::string key = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    bool ok = false;
    if (key == "size") {
      ok = tmpfs_size(value);
    } else if (key == "mode") {
      ok = all_digits(value) && value.find_first_of("89") == std::string::npos && value.size() <= 4;
    } else if (key == "uid" || key == "gid") {
      ok = all_digits(value);
    } else if (key == "nr_inodes" || key == "nr_blocks") {
      ok = tmpfs_size(value) && value.back() != '%';
    } else {
      return Fail(ErrorCode::InvalidArgument,
                  "volume option o: tmpfs mount option {} is not supported (size, mode, uid, gid, nr_inodes, nr_blocks)",
                  quote(item));
    }
    if (!ok) return Fail(ErrorCode::InvalidArgument, "volume option o: invalid tmpfs {} value {}", key, quote(value));
  }
  return {};
}

Result<void> validate_bind_o(const StringMap& options) {
  bool bind = false;
  for (const auto& item : split(options.at("o"), ',')) {
    if (item == "bind" || item == "rbind") {
      bind = true;
    } else if (item != "ro" && item != "rw") {
      return Fail(ErrorCode::InvalidArgument,
                  "volume option o: bind mount option {} is not supported (bind, rbind, ro, rw)", quote(item));
    }
  }
  if (!bind) return Fail(ErrorCode::InvalidArgument, "volume option type=none needs o=bind (a bind-mounted host directory)");
  const std::string& device = options.at("device");
  if (device.empty() || device[0] != '/')
    return Fail(ErrorCode::InvalidArgument, "volume option device={}: a bind volume's device must be an absolute path",
                device);
  return {};
}

}  // namespace

Result<void> validate_volume_name(const std::string& name) {
  if (name.size() > kMaxNameLength)
    return Fail(ErrorCode::InvalidArgument, "volume name {}... is too long: at most {} characters",
                quote(name.substr(0, 32)), kMaxNameLength);
  bool ok = name.size() >= 2;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = name_char(name[i], i == 0);
  if (!ok)
    return Fail(ErrorCode::InvalidArgument,
                "{} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                "allowed (at least 2 characters). If you intended to pass a host directory, use absolute path",
                quote(name));
  return {};
}

Result<void> validate_volume_options(const StringMap& options) {
  for (const auto& [key, value] : options) {
    if (key != "type" && key != "device" && key != "o")
      return Fail(ErrorCode::InvalidArgument, "invalid option: {} (the local driver takes type, device and o)",
                  quote(key));
  }
  if (options.empty()) return {};
  // Docker's mandatory pairs: device and type go together, o needs both.
  for (const char* required : {"type", "device"}) {
    if (!options.contains(required))
      return Fail(ErrorCode::InvalidArgument, "missing required option: \"{}\"", required);
  }
  const std::string& type = options.at("type");
  if (type == "tmpfs") return options.contains("o") ? validate_tmpfs_o(options.at("o")) : Result<void>{};
  if (type == "none") {
    if (!options.contains("o"))
      return Fail(ErrorCode::InvalidArgument, "volume option type=none needs o=bind (a bind-mounted host directory)");
    return validate_bind_o(options);
  }
  return Fail(ErrorCode::InvalidArgument,
              "volume option type={} is not supported: the local driver mounts type=tmpfs, or type=none with o=bind",
              type);
}

Result<int64_t> directory_size(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec);
  if (ec) {
    if (ec.value() == ENOENT) return 0;
    return FailErrno(ec.value(), "walk {}", path);
  }
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> linked;
  for (fs::recursive_directory_iterator end; it != end;) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (st.st_nlink == 1 || linked.emplace(st.st_dev, st.st_ino).second) total += st.st_size;
    }
    it.increment(ec);
    if (ec) return FailErrno(ec.value(), "walk {}", path);
  }
  return total;
}

}  // namespace berth::engine
