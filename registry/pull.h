// Pull: registry -> local store.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "registry/client.h"

namespace bld::registry {

struct PullOptions {
  // The platform chosen from an index.
  oci::Platform platform = oci::Platform::Host();
  // Blobs fetched at once.
  int parallel = 4;
  // Human-readable progress lines (called from several threads, serialised).
  std::function<void(const std::string&)> progress;
};

struct PullResult {
  std::string name;                      // the store tag: ref.str()
  oci::Descriptor target;                // the tagged manifest
  std::optional<oci::Descriptor> index;  // the index it was chosen from, if any
  oci::Digest config;                    // the image ID
  int blobs_fetched = 0;
  int blobs_present = 0;  // already in the store, skipped
};

// Fetches `ref` from `client`'s registry into `store`: negotiates the manifest
// (OCI or Docker, index or manifest; schema 1 refused), picks the platform from
// an index, fetches the config and layers `parallel` at a time verifying size
// and digest while streaming (a mismatch stores nothing), stores manifest (and
// index) bytes exactly as served, then tags the manifest as ref.str(). The
// repositories blobs came from are recorded in BlobSources for later mounts.
Result<PullResult> Pull(Client& client, const oci::Store& store, const oci::Reference& ref,
                        const PullOptions& options = {});

}  // namespace bld::registry
