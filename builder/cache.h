// The build cache: step cache key -> the layer the step produced.
//
//   <store root>/cache/records/<key hex>.json  {"layer": descriptor|null, "diff_id",
//                                               "created_by", "workdir"...}
//   <store root>/cache/explain/<address hex>.json  the inputs of the last build of a step
//                                                 "address" (context, Dockerfile, stage,
//                                                 instruction), for --explain
//   <store root>/cache/mounts/<id hex>/           RUN --mount=type=cache directories
// Every file is written atomically (temp + fsync + rename), so a killed build
// leaves either the old record or the new one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/digest.h"

namespace bld::builder {

struct CacheRecord {
  // The layer; nullopt when the step changed nothing (e.g. WORKDIR of an existing dir).
  std::optional<oci::Descriptor> layer;
  oci::Digest diff_id;  // when layer is set
  std::string created_by;
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

  // Directory for RUN --mount=type=cache with this id (created if missing).
  Result<std::string> MountDir(const std::string& id) const;

 private:
  std::string dir_;
};

// Every blob a cache record refers to (so `bld prune` keeps it).
Result<std::vector<oci::Digest>> CacheReferencedBlobs(const std::string& store_root);

// Removes every cache record, explain record and cache mount. Returns the
// number of records removed.
Result<int> PruneCache(const std::string& store_root);

}  // namespace bld::builder
