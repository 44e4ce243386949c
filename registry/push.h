// Push: local store -> registry.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "registry/client.h"

namespace bld::registry {

struct PushOptions {
  // Blobs uploaded at once.
  int parallel = 4;
  // The compression the pushed layers must have (--compression). Layers are
  // pushed as stored; a different compression is an error (recompression on
  // push is not implemented).
  std::optional<oci::Compression> compression;
  // Human-readable progress lines (called from several threads, serialised).
  std::function<void(const std::string&)> progress;
};

struct PushResult {
  oci::Digest digest;       // of the manifest (or index) pushed under dest
  int uploaded = 0;         // blobs sent
  int mounted = 0;          // blobs mounted from another repository
  int existing = 0;         // blobs the registry already had
  bool up_to_date = false;  // dest already pointed at this digest: nothing sent
};

// Pushes the manifest or index `local` (and everything it references) from
// `store` to dest (its tag, or its digest when it has no tag). Blobs the
// registry has are skipped (HEAD), blobs known in another repository of the
// same registry are mounted, others uploaded `parallel` at a time; manifests
// go last. Bytes and media types are pushed exactly as stored.
Result<PushResult> Push(Client& client, const oci::Store& store, const oci::Descriptor& local,
                        const oci::Reference& dest, const PushOptions& options = {});

}  // namespace bld::registry
