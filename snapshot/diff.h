// Layer diff: a directory change set -> an OCI layer tar, compressed, digested and written
// in one streaming pass (diff ID = sha256 of the tar, digest = sha256 of the blob).
//
// Entries are sorted bytewise per directory (opaque marker first, then whiteouts, then the
// rest), depth first; the layer root itself is not an entry. Owners are numeric only (no
// user/group names), mtimes are whole seconds. Files with several links inside the change
// set are written once and then as hardlinks. Overlay-internal xattrs are never written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "snapshot/compression.h"

namespace bld::oci {
class Store;
}

namespace bld::snapshot {

struct DiffOptions {
  oci::Compression compression = oci::Compression::kGzip;
  CompressOptions compress;
  // Clamps every mtime to at most this (seconds since the epoch), so that the same tree
  // diffed twice, at any time, gives byte-identical blobs.
  std::optional<int64_t> source_date_epoch;
};

struct DiffResult {
  // OCI layer media type for the compression, blob digest and size.
  oci::Descriptor descriptor;
  oci::Digest diff_id;
  int64_t uncompressed_size = 0;
  int64_t entries = 0;
};

// Diff of an overlay upper dir: walks only `upper_dir` (cost proportional to the change),
// translating 0/0 char devices (and xattr whiteouts) into ".wh.NAME" and directories marked
// opaque (trusted.overlay.opaque or user.overlay.opaque = "y") into ".wh..wh..opq".
Result<DiffResult> DiffUpperDir(const std::string& upper_dir, const DiffOptions& options,
                                const ByteSink& blob_out);
// Diff of two full trees (copy snapshotter): entries of `upper` that are new or changed
// relative to `lower` (by type, mode, owner, size, link target, device, xattrs; files whose
// metadata differs only in mtime are compared by content), whiteouts for what is gone.
// `lower` may be empty: everything in `upper` is new.
Result<DiffResult> DiffTrees(const std::string& lower, const std::string& upper,
                             const DiffOptions& options, const ByteSink& blob_out);

// The same, writing the blob into `store` (Ingest -> Commit with the computed digest).
Result<DiffResult> DiffUpperDir(const std::string& upper_dir, const DiffOptions& options,
                                const oci::Store& store);
Result<DiffResult> DiffTrees(const std::string& lower, const std::string& upper,
                             const DiffOptions& options, const oci::Store& store);

}  // namespace bld::snapshot
