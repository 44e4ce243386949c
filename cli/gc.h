// Garbage collection of the store by reachability (as containerd's gc), shared by
// `bld rmi`, `bld prune` and the image/builder/system prune verbs.
//
// Roots: every index.json entry (tagged and dangling images), the build cache records
// (their layer blobs) and the container records (their active snapshots). Reachable from
// an image: its manifest/index, config and layer blobs, and the committed snapshots named
// by its layers' chain IDs. Reachable from a snapshot: its parent chain. Everything else
// goes: blobs, committed snapshots, and active snapshots and views that no container owns
// (their writer is gone: every writer -- build, run, pull -- holds the store's lock shared
// while it has an active snapshot, and Collect runs under the exclusive lock).
#pragma once

#include <cstdint>

#include "base/error.h"
#include "oci/store.h"

namespace bld::snapshot {
class Snapshotter;
}

namespace bld::cli {

struct GcStats {
  int blobs_removed = 0;
  int64_t bytes_removed = 0;  // blob bytes
  int snapshots_removed = 0;  // committed, active and view snapshots
};

// Deletes every blob and snapshot unreachable from the roots above. The caller holds the
// store's exclusive lock. `snapshotter` may be given when the caller has it open; else the
// store's snapshotter is opened (its choice as for every other command).
Result<GcStats> CollectGarbage(const oci::Store& store,
                               snapshot::Snapshotter* snapshotter = nullptr);

// Only the snapshot half of CollectGarbage (same roots); returns how many were removed.
Result<int> CollectSnapshots(const oci::Store& store, snapshot::Snapshotter& snapshotter);

}  // namespace bld::cli
