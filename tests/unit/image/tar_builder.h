// Builds layer tarballs in memory for tests, with libarchive's writer (pax format), optionally
// gzip or zstd compressed, and hands them over as a memfd.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"

namespace berth::image::testing {

enum class Compression { None, Gzip, Zstd };

struct TarEntry {
  std::string path;
  mode_t type = AE_IFREG;
  mode_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  std::string content = {};  // regular files (the whole logical content for sparse ones)
  std::string link = {};     // symlink target or hardlink target
  bool hardlink = false;
  dev_t rdev = 0;
  std::map<std::string, std::string> xattrs = {};
  std::vector<std::pair<int64_t, int64_t>> sparse = {};  // data regions (offset, length)
};

class TarBuilder {
 public:
  TarBuilder& add(TarEntry e) {
    entries_.push_back(std::move(e));
    return *this;
  }
  TarBuilder& dir(const std::string& path, mode_t mode = 0755) {
    return add({.path = path, .type = AE_IFDIR, .mode = mode});
  }
  TarBuilder& file(const std::string& path, const std::string& content, mode_t mode = 0644) {
    return add({.path = path, .mode = mode, .content = content});
  }
  TarBuilder& symlink(const std::string& path, const std::string& target) {
    return add({.path = path, .type = AE_IFLNK, .mode = 0777, .link = target});
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target) {
    return add({.path = path, .link = target, .hardlink = true});
  }
  TarBuilder& device(const std::string& path, mode_t type, int major, int minor) {
    return add({.path = path, .type = type, .mode = 0600, .rdev = makedev(major, minor)});
  }

  // The tar bytes, compressed as asked.
  std::string build(Compression c = Compression::None) const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (c == Compression::Gzip) archive_write_add_filter_gzip(a);
    if (c == Compression::Zstd) archive_write_add_filter_zstd(a);
    // Plain tars get the usual 10240-byte record padding; compressed streams end with their frame.
    if (c != Compression::None) archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &out, nullptr, &TarBuilder::append, nullptr);
    for (const auto& t : entries_) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, t.path.c_str());
      archive_entry_set_uid(e, t.uid);
      archive_entry_set_gid(e, t.gid);
      archive_entry_set_mtime(e, t.mtime, 0);
      if (t.hardlink) {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, t.mode);
        archive_entry_set_hardlink(e, t.link.c_str());
        archive_entry_set_size(e, 0);
      } else {
        archive_entry_set_filetype(e, t.type);
        archive_entry_set_perm(e, t.mode);
        if (t.type == AE_IFLNK) archive_entry_set_symlink(e, t.link.c_str());
        if (t.type == AE_IFCHR || t.type == AE_IFBLK) archive_entry_set_rdev(e, t.rdev);
        archive_entry_set_size(e, t.type == AE_IFREG ? static_cast<int64_t>(t.content.size()) : 0);
      }
      for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
      for (const auto& [off, len] : t.sparse) archive_entry_sparse_add_entry(e, off, len);
      archive_write_header(a, e);
      if (!t.hardlink && t.type == AE_IFREG && !t.content.empty()) {
        archive_write_data(a, t.content.data(), t.content.size());
      }
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

 private:
  static la_ssize_t append(struct archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  std::vector<TarEntry> entries_;
};

// The decompressed bytes of a (possibly compressed) stream, as any reader would see them.
inline std::string decompress(const std::string& bytes) {
  std::string out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  struct archive_entry* e = nullptr;
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK &&
      archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  }
  archive_read_free(a);
  return out;
}

// A memfd holding bytes, positioned at 0.
inline UniqueFd memfd_with(const std::string& bytes) {
  UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

}  // namespace berth::image::testing
