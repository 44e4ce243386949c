// Unpack: an image's layers -> committed snapshots keyed by chain ID.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "snapshot/snapshotter.h"

namespace bld::oci {
class Store;
}

namespace bld::snapshot {

struct UnpackOptions {
  // Do not chown (rootless without a full id mapping).
  bool ignore_ownership = false;
};

// Applies `layers[i]` (blobs in `store`, verified against their digests and against
// `diff_ids[i]`) into committed snapshots named by the chain ID of diff_ids[0..i], skipping
// layers whose snapshot already exists. Returns the name of the top snapshot (the chain
// ID of all layers, "sha256:..."), or "" for an image without layers. A failed layer
// leaves no snapshot behind; a concurrent unpack of the same layer is fine.
// InvalidArgument if the counts differ.
Result<std::string> Unpack(const oci::Store& store, const std::vector<oci::Descriptor>& layers,
                           const std::vector<oci::Digest>& diff_ids, Snapshotter& snapshotter,
                           const UnpackOptions& options = {});

}  // namespace bld::snapshot
