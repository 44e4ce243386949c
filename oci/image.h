// Images in the local store: load, resolve a user's name or ID, write.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/config.h"
#include "oci/descriptor.h"
#include "oci/manifest.h"
#include "oci/store.h"

namespace bld::oci {

struct Image {
  // The manifest's descriptor. When the name pointed at an index, this is the
  // chosen platform's entry and `index` is the index's descriptor.
  Descriptor descriptor;
  std::optional<Descriptor> index;
  Manifest manifest;
  ImageConfig config;

  // The image ID: the config digest.
  const Digest& id() const { return manifest.config.digest; }
};

// Reads and verifies the manifest (choosing `platform` when `desc` is an index)
// and the config. Missing or corrupt blobs are errors naming the blob.
Result<Image> LoadImage(const Store& store, const Descriptor& desc,
                        const Platform& platform = Platform::Host());

// The store's name for a user's image name: the fully-qualified reference
// ("busybox" -> "docker.io/library/busybox:latest"). InvalidArgument for a
// malformed reference.
Result<std::string> StoreName(std::string_view name);

// What a name or ID resolves to.
struct ResolvedImage {
  Image image;
  Descriptor target;               // the index.json entry's descriptor (manifest or index)
  std::vector<std::string> names;  // every tag pointing at `target`
};

// Finds an image by name ("busybox", "localhost:5000/a/b:t", "a@sha256:..."),
// by image ID or manifest digest ("sha256:<hex>", or a hex prefix of at least
// 4 characters as `bld images` prints). NotFound naming what was looked for;
// InvalidArgument for an ambiguous prefix or a malformed reference.
Result<ResolvedImage> ResolveImage(const Store& store, std::string_view name_or_id,
                                   const Platform& platform = Platform::Host());

// Writes `config` and a manifest over `layers` (already in the store) and
// returns the manifest descriptor. `manifest_media_type` picks OCI or Docker v2s2.
Result<Descriptor> WriteImage(const Store& store, const ImageConfig& config,
                              const std::vector<Descriptor>& layers,
                              std::string_view manifest_media_type = "");

// Every blob reachable from the store's index.json (manifests, indexes,
// configs, layers). A corrupt manifest or index is an error (what it
// references cannot be known); a missing one is skipped.
Result<std::vector<Digest>> ReachableBlobs(const Store& store);

}  // namespace bld::oci
