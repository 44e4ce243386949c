// Which repositories of which registries a blob is known to be in, so that a
// push can ask the registry for a cross-repository mount instead of uploading.
// A hint only: a wrong entry costs one declined mount.
//
// Kept in <store root>/registry/blob-sources.json, rewritten atomically under
// <store root>/registry/blob-sources.lock:
//   {"localhost:5000": {"sha256:...": ["a/b", "c/d"]}}
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/digest.h"

namespace bld::registry {

class BlobSources final {
 public:
  explicit BlobSources(std::string store_root) : root_(std::move(store_root)) {}

  // Repositories of `registry` holding `digest`, most recently recorded first.
  // An unreadable record reads as empty.
  std::vector<std::string> Lookup(const std::string& registry, const oci::Digest& digest) const;
  // Records that `repo` of `registry` holds each of `digests`.
  Status Record(const std::string& registry, const std::string& repo,
                const std::vector<oci::Digest>& digests) const;

 private:
  std::string root_;
};

}  // namespace bld::registry
