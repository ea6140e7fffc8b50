// The entries of an image archive after one streaming pass (archive_load.cc): regular files are
// in the content store, small metadata files in memory, links recorded. The image assembly
// (archive_images.cc) looks files up here by the paths manifest.json and index.json name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/archive.h"
#include "image/content_store.h"
#include "oci/image_spec.h"

namespace berth::image::archive_detail {

// Metadata files are kept in memory up to this size each.
inline constexpr int64_t kMaxMetadataSize = 16 << 20;

// A regular file of the archive, stored as a blob.
struct StoredFile {
  BlobInfo blob;
  oci::Compression compression = oci::Compression::None;  // from the file's magic bytes
};

struct ArchiveEntries {
  std::map<std::string, StoredFile> files;        // by cleaned path
  std::map<std::string, std::string> metadata;    // manifest.json, *.json, ... in memory
  std::map<std::string, std::string> links;       // link path -> cleaned target path

  // The stored file at path, following links; nullptr when absent.
  const StoredFile* find(std::string_view path) const;
  // The bytes of a small file: from memory, else read back from the store.
  Result<std::string> small_file(std::string_view path, ContentStore& content) const;
};

// "a/./b/" → "a/b"; nullopt for absolute paths or paths with a ".." component.
std::optional<std::string> clean_entry_path(std::string_view path);

// Builds the images of a Docker `save` archive (manifest.json, legacy or Docker 25) or an OCI
// layout (index.json) from the entries; every blob each image needs must be in the store.
Result<std::vector<ArchiveImage>> assemble_images(const ArchiveEntries& entries,
                                                  ContentStore& content);

}  // namespace berth::image::archive_detail
