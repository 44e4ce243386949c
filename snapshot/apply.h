// Layer apply: stream a tar / tar+gzip / tar+zstd layer blob into a directory.
//
// Safe against hostile tars: every path is resolved component by component beneath the
// target with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), so nothing
// outside the target is ever created, changed or followed. Rejected, with an error naming
// the entry: absolute paths, ".." components, writing through a symlink (an entry whose
// parent is a symlink), hardlinks whose target is outside/through a symlink/missing,
// duplicate non-directory entries, malformed whiteouts. A symlink's own target text is
// stored verbatim (it is only ever resolved inside the container), never followed here.
//
// Preserves type, mode (incl. setuid/setgid/sticky), uid/gid, mtime (directories' after
// their contents), xattrs (incl. security.capability; overlay-internal xattrs in the tar
// are dropped), hardlinks, symlinks, device nodes and fifos. Device nodes that the caller
// may not create (EPERM, e.g. in a user namespace) are skipped with a warning.
//
// OCI whiteouts (".wh.NAME", ".wh..wh..opq") only hide content of lower layers
// (image-spec layer.md); they are translated per WhiteoutStyle.
//
// On error the target holds a partial layer: the caller discards it (Unpack removes the
// active snapshot).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/error.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "snapshot/compression.h"

namespace bld::snapshot {

enum class WhiteoutStyle {
  // Target is an overlay upper dir: whiteout = 0/0 char device, opaque dir =
  // trusted.overlay.opaque="y".
  kOverlay,
  // Same for an overlay mounted with "userxattr" (user namespaces): user.overlay.opaque.
  kOverlayUserXattr,
  // Target is a full tree (copy snapshotter): whiteouts delete, opaque dirs are emptied
  // of everything not added by this layer.
  kDelete,
};

struct ApplyOptions {
  WhiteoutStyle whiteouts = WhiteoutStyle::kDelete;
  // Declared compression (from the media type). nullopt: recognised from the first bytes.
  // A blob whose bytes contradict the declared compression is rejected.
  std::optional<oci::Compression> compression;
  // Verified while streaming; a mismatch fails after the whole stream was read.
  std::optional<oci::Digest> expected_diff_id;  // sha256 of the uncompressed tar
  std::optional<oci::Digest> expected_digest;   // sha256 of the blob as stored
  // Do not chown (rootless without a full id mapping); owners become the caller's.
  bool ignore_ownership = false;
  // Every entry owned by uid:gid instead of the tar's owners (ADD --chown).
  std::optional<std::pair<uid_t, gid_t>> owner;
  // ADD of a local archive: besides gzip/zstd (recognised above), every compression
  // libarchive reads (bzip2, xz, lzma, ...). The diff ID is then of the stream as read.
  bool archive_filters = false;
  // ADD into a root filesystem: symlinks among an entry's parents are followed inside the
  // target as its root (base/in_root.h; merged-/usr bases: lib -> usr/lib), and a directory
  // entry over a symlink to a directory keeps the link. Off for layers, whose entries are
  // never written through a symlink.
  bool links_in_root = false;
  // With links_in_root: the entries land below this path of the target (which is the
  // root); the archive's own root entry is skipped.
  std::string under;
};

struct ApplyResult {
  oci::Digest diff_id;
  oci::Digest digest;
  int64_t size = 0;               // blob bytes read
  int64_t uncompressed_size = 0;  // tar bytes
  int64_t entries = 0;
};

// Applies the layer read from `blob` into the existing directory `target_dir`.
Result<ApplyResult> Apply(ByteSource blob, const std::string& target_dir,
                          const ApplyOptions& options);
// Same, reading the blob from `blob_fd` (read to EOF; not closed).
Result<ApplyResult> ApplyFd(int blob_fd, const std::string& target_dir,
                            const ApplyOptions& options);

}  // namespace bld::snapshot
