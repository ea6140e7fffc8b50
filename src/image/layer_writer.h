// Turning a directory into an OCI image layer: the diff a build step or `commit` produces.
//
// The tree is read through directory fds (openat with O_NOFOLLOW, never a path an image
// controls), in sorted order, with mtimes truncated to seconds and no user or group names, so
// the same tree always gives the same diff ID. Entries carry uid/gid, the mode with setuid,
// setgid and sticky bits, xattrs (security.capability and user.*, never overlay's own),
// hardlinks within the layer, symlinks, fifos and devices. Deletions become OCI whiteouts
// (.wh.NAME) and overlay's opaque directories .wh..wh..opq markers. The tar streams into the
// content store while its uncompressed sha256 (the diff ID) is computed; a failed write leaves
// no ingest behind.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/digest.h"
#include "base/error.h"
#include "image/content_store.h"
#include "oci/image_spec.h"

namespace berth::image {

// What a directory holds: an overlay upper dir (whiteouts are 0:0 character devices, opaque
// dirs carry trusted.overlay.opaque=y or user.overlay.opaque=y) or a whole tree (a first layer,
// or a copy snapshotter's tree), taken as is.
enum class DiffSource { OverlayUpper, FullTree };

// A layer blob committed to the content store.
struct LayerBlob {
  Digest digest;           // of the (compressed) blob: the manifest's layer descriptor
  Digest diff_id;          // of the uncompressed tar: the config's rootfs.diff_ids entry
  int64_t size = 0;        // bytes of the blob
  std::string media_type;  // application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]
};

// Writes dir as a layer into content. exclude names paths relative to dir ("etc/hosts",
// "run/secrets/token") that the builder created only as mountpoints: each is left out when it
// is an empty directory or an empty regular file (content there was written by the step).
Result<LayerBlob> write_layer(const std::string& dir, DiffSource source, ContentStore& content,
                             oci::Compression compression = oci::Compression::Gzip,
                             const std::set<std::string>& exclude = {});

// For the copy snapshotter: the layer that turns parent_dir into child_dir. An entry is
// written when it is new or changed in type, content, mode, owner, mtime, xattrs, symlink
// target or device number; a deleted one becomes a whiteout. An excluded path is left out
// when it is empty in the child and absent from the parent.
Result<LayerBlob> write_layer_diff(const std::string& parent_dir, const std::string& child_dir,
                                   ContentStore& content,
                                   oci::Compression compression = oci::Compression::Gzip,
                                   const std::set<std::string>& exclude = {});

}  // namespace berth::image
