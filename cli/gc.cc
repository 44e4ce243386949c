#include "cli/gc.h"

#include <set>

#include "builder/cache.h"
#include "oci/image.h"

namespace bld::cli {

Result<GcStats> CollectGarbage(const oci::Store& store) {
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> reachable, oci::ReachableBlobs(store));
  std::set<oci::Digest> keep(reachable.begin(), reachable.end());
  // Layers recorded in the build cache stay until `bld prune -a` clears it.
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> cached,
                       builder::CacheReferencedBlobs(store.root()));
  keep.insert(cached.begin(), cached.end());
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> all, store.ListBlobs());
  GcStats stats;
  for (const auto& d : all) {
    if (keep.count(d) != 0) continue;
    auto size = store.BlobSize(d);
    BLD_TRY(store.DeleteBlob(d));
    ++stats.blobs_removed;
    if (size.ok()) stats.bytes_removed += *size;
  }
  return stats;
}

}  // namespace bld::cli
