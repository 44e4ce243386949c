// The build cache: step cache key -> the layer the step produced.
//
//   <store root>/cache/records/<key hex>.json  {"layer": descriptor|null, "diff_id",
//                                               "created_by", "workdir"...}
//   <store root>/cache/explain/<address hex>.json  the inputs of the last build of a step
//                                                 "address" (context, Dockerfile, stage,
//                                                 instruction), for --explain
//   <store root>/cache/mounts/<id hex>[.N]/        RUN --mount=type=cache directories
//                                                 (.N: private copies for concurrent users)
//   <store root>/cache/convert/<hex>.json           export conversions (layer digest,
//                                                 compression, mtime clamp) -> layer
// Every file is written atomically (temp + fsync + rename), so a killed build
// leaves either the old record or the new one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "parser/instructions.h"

namespace bld::builder {

struct CacheRecord {
  // The layer; nullopt when the step changed nothing (e.g. WORKDIR of an existing dir).
  std::optional<oci::Descriptor> layer;
  oci::Digest diff_id;  // when layer is set
  std::string created_by;
  // When the step was first run (RFC 3339): its history time in every later build.
  std::string created;
};

// A cache mount directory in use; the lock (flock on the directory) is held until
// destruction.
class CacheMount final {
 public:
  CacheMount() = default;
  CacheMount(CacheMount&&) = default;
  CacheMount& operator=(CacheMount&&) = default;
  const std::string& path() const { return path_; }
  // True if this use created the directory (so it is to be seeded and given mode/uid/gid).
  bool created() const { return created_; }

 private:
  friend class BuildCache;
  std::string path_;
  UniqueFd lock_;
  bool created_ = false;
};

class BuildCache final {
 public:
  explicit BuildCache(std::string store_root);

  // The record for `key`, nullopt when there is none (or it is unreadable: a
  // corrupt record is a miss, never an error).
  std::optional<CacheRecord> Lookup(const oci::Digest& key) const;
  Status Store(const oci::Digest& key, const CacheRecord& record) const;

  // Inputs of the last build at `address` (nullopt if none) and their update.
  std::optional<std::map<std::string, std::string>> PreviousInputs(
      const std::string& address) const;
  Status SaveInputs(const std::string& address,
                    const std::map<std::string, std::string>& inputs) const;

  // The directory for RUN --mount=type=cache with this id, created if missing, held
  // as BuildKit's sharing modes say: kShared — concurrent users share it (a shared
  // flock); kLocked — one user at a time (an exclusive flock, waited for); kPrivate —
  // the directory if no one else uses it, else a fresh one of its own (id.1, id.2...).
  Result<CacheMount> AcquireMount(const std::string& id, parser::CacheSharing sharing) const;

  // Export conversions (export.h): nullopt when unknown.
  std::optional<std::pair<oci::Descriptor, oci::Digest>> LookupConversion(
      const std::string& key) const;
  Status StoreConversion(const std::string& key, const oci::Descriptor& layer,
                         const oci::Digest& diff_id) const;

 private:
  std::string dir_;
};

// Every blob a cache record refers to (so `bld prune` keeps it).
Result<std::vector<oci::Digest>> CacheReferencedBlobs(const std::string& store_root);

// Removes what killed writers left in the cache: temp files of WriteFileAtomic
// ("<name>.tmp-<random>", never renamed into place, so never read as a record, and their
// blobs are not kept). The caller holds the store's exclusive lock (no writer is alive).
// Returns how many were removed.
Result<int> RemoveStaleCacheFiles(const std::string& store_root);

// Removes every cache record, explain record and cache mount. Returns the
// number of records removed.
Result<int> PruneCache(const std::string& store_root);

}  // namespace bld::builder
