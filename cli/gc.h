// Removing blobs nothing refers to, shared by `bld rmi` and `bld prune`.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "oci/store.h"

namespace bld::cli {

struct GcStats {
  int blobs_removed = 0;
  int64_t bytes_removed = 0;
};

// Deletes every blob not reachable from index.json or a build cache record.
// The caller holds the store's exclusive lock.
Result<GcStats> CollectGarbage(const oci::Store& store);

}  // namespace bld::cli
