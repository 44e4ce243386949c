#include "cli/gc.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/log.h"
#include "builder/cache.h"
#include "cli/containers.h"
#include "oci/config.h"
#include "oci/image.h"
#include "snapshot/snapshotter.h"

namespace bld::cli {

namespace {

// Committed snapshot names (layer chain IDs) of every image in index.json.
Result<std::set<std::string>> ImageSnapshotRoots(const oci::Store& store) {
  BLD_ASSIGN_OR_RETURN(std::vector<oci::TagEntry> entries, store.ListTags());
  std::set<std::string> roots;
  for (const auto& e : entries) {
    auto image = oci::LoadImage(store, e.target);
    if (!image.ok()) {
      // An image bld cannot read (another platform only, or a missing blob) has no
      // snapshot bld made for it; its snapshots are re-made from blobs when needed.
      BLD_LOG(kDebug) << "gc: " << e.target.digest.str() << ": " << image.error().message();
      continue;
    }
    std::vector<oci::Digest> ids;
    for (const auto& d : image->config.diff_ids) {
      ids.push_back(d);
      roots.insert(oci::ChainId(ids).str());
    }
  }
  return roots;
}

}  // namespace

Result<int> CollectSnapshots(const oci::Store& store, snapshot::Snapshotter& sn) {
  // Leftovers of killed writers first (the caller's exclusive lock means none is alive).
  BLD_ASSIGN_OR_RETURN(int removed, sn.RemoveStale());
  BLD_ASSIGN_OR_RETURN(std::set<std::string> keep, ImageSnapshotRoots(store));
  BLD_ASSIGN_OR_RETURN(std::vector<ContainerRecord> containers, ListContainers(store.root()));
  for (const auto& c : containers) {
    if (!c.snapshot_key.empty()) keep.insert(c.snapshot_key);
  }
  std::map<std::string, snapshot::Info> all;
  BLD_TRY(sn.Walk([&](const snapshot::Info& i) -> Status {
    all[i.name] = i;
    return Ok();
  }));
  // Parents of what is kept are kept.
  std::vector<std::string> todo(keep.begin(), keep.end());
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    auto it = all.find(name);
    if (it == all.end() || it->second.parent.empty()) continue;
    if (keep.insert(it->second.parent).second) todo.push_back(it->second.parent);
  }
  // Children before parents: count the live children of every snapshot, remove the
  // unreachable ones without children, repeat.
  std::map<std::string, int> children;
  for (const auto& [name, info] : all) {
    if (!info.parent.empty()) ++children[info.parent];
  }
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto it = all.begin(); it != all.end();) {
      const snapshot::Info& info = it->second;
      if (keep.count(info.name) != 0 || children[info.name] != 0) {
        ++it;
        continue;
      }
      Status s = sn.Remove(info.name);
      if (!s.ok() && !s.error().Is(ErrorCode::kNotFound)) {
        return s.error().Wrap("remove unreachable snapshot " + info.name);
      }
      if (!info.parent.empty()) --children[info.parent];
      ++removed;
      progress = true;
      it = all.erase(it);
    }
  }
  return removed;
}

Result<GcStats> CollectGarbage(const oci::Store& store, snapshot::Snapshotter* snapshotter) {
  GcStats stats;
  std::unique_ptr<snapshot::Snapshotter> opened;
  if (snapshotter == nullptr) {
    BLD_ASSIGN_OR_RETURN(opened, snapshot::OpenSnapshotter(store.root()));
    snapshotter = opened.get();
  }
  // Snapshots first: a layer blob outlives the snapshot made from it.
  BLD_ASSIGN_OR_RETURN(stats.snapshots_removed, CollectSnapshots(store, *snapshotter));

  // Half-written cache records of killed builds: never read as records, so the blobs they
  // name are not kept either; they go before the blobs do.
  BLD_TRY(builder::RemoveStaleCacheFiles(store.root()));
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> reachable, oci::ReachableBlobs(store));
  std::set<oci::Digest> keep(reachable.begin(), reachable.end());
  // Layers recorded in the build cache stay until `bld prune -a` clears it.
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> cached,
                       builder::CacheReferencedBlobs(store.root()));
  keep.insert(cached.begin(), cached.end());
  BLD_ASSIGN_OR_RETURN(std::vector<oci::Digest> all, store.ListBlobs());
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
