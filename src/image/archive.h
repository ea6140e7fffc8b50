// Image archives: `docker save` tarballs (legacy and Docker 25's OCI-layout form), OCI image
// layouts, and rootfs tarballs for `import`. Blobs go straight into the content store, each
// verified; names are returned, not recorded (store/ does that).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "image/content_store.h"
#include "image/progress.h"
#include "oci/image_spec.h"

namespace berth::image {

struct ArchiveImage {
  std::vector<std::string> repo_tags;  // normalised "docker.io/library/busybox:latest"
  oci::Descriptor manifest;            // a platform manifest in the content store
  Digest config_digest;                // the image ID
};

struct LoadOptions {
  ProgressSink progress;
};

// Reads a `docker save` archive (manifest.json) or an OCI layout (oci-layout + index.json),
// plain or gzip/zstd compressed, from fd. Errors name the archive entry. Blobs already written
// stay in the store for garbage collection; no image is returned unless all of it was stored.
Result<std::vector<ArchiveImage>> load_archive(int fd, ContentStore& content,
                                               const LoadOptions& options);

// Writes one tar to fd holding an OCI layout (oci-layout, index.json, blobs/sha256/...) plus
// Docker's manifest.json and repositories, as Docker 25 does, so both `docker load` (20.10 and
// later) and OCI tools read it. Layers are written as stored (compressed when they were).
Result<void> save_archive(int fd, ContentStore& content, const std::vector<ArchiveImage>& images);

struct ImportOptions {
  std::vector<std::string> changes;  // Dockerfile instructions, as `docker import -c`
  std::string message;               // history comment
  oci::Platform platform;            // default host_platform()
};

// Stores a rootfs tarball (plain, gzip, zstd, bzip2 or xz) as a one-layer image: the layer is
// stored gzip-compressed, config and Docker schema2 manifest are written. Returns the image.
Result<ArchiveImage> import_rootfs(int fd, ContentStore& content, const ImportOptions& options);

// Applies `-c` changes (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
// WORKDIR) to a container config; InvalidArgument names the change and what is wrong.
Result<void> apply_changes(oci::ContainerConfig& config, const std::vector<std::string>& changes);

}  // namespace berth::image
