// Export of a built image's layers: what --compression and SOURCE_DATE_EPOCH mean,
// applied when the image is written, never in a step's cache key (BuildKit applies
// both at export too). A layer is converted when the store holds it in another
// compression, or when SOURCE_DATE_EPOCH clamps the mtimes of a layer this build
// made (base image layers keep theirs). Conversions are remembered in the build
// cache, so exporting the same layers again writes nothing and gives the same digests.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/error.h"
#include "builder/cache.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "oci/store.h"

namespace bld::builder {

struct ExportOptions {
  // Every layer in this compression; unset: base layers as stored, the others gzip.
  std::optional<oci::Compression> compression;
  // Clamps every mtime of the layers above the base image to at most this.
  std::optional<int64_t> source_date_epoch;
};

struct ExportedLayers {
  std::vector<oci::Descriptor> layers;
  std::vector<oci::Digest> diff_ids;  // change only where mtimes were clamped
};

// `layers`/`diff_ids` of the image (in the store); the first `base_layers` came from a
// base image. Returns the layers to write the manifest with. Errors name the layer.
Result<ExportedLayers> ExportLayers(const oci::Store& store, const BuildCache& cache,
                                    const std::vector<oci::Descriptor>& layers,
                                    const std::vector<oci::Digest>& diff_ids, size_t base_layers,
                                    const ExportOptions& options);

// One layer: decompresses `layer`, rewrites its tar with mtimes clamped to `clamp_mtime`
// (when set), compresses it as `compression` into the store. Returns the new descriptor
// (OCI media type) and diff ID.
Result<std::pair<oci::Descriptor, oci::Digest>> ConvertLayer(const oci::Store& store,
                                                             const oci::Descriptor& layer,
                                                             oci::Compression compression,
                                                             std::optional<int64_t> clamp_mtime);

}  // namespace bld::builder
