// Image archives: `bld save` / `bld load`.
//
//   oci-archive     a tar of an OCI image layout (oci-layout, index.json,
//                   blobs/sha256/<hex>); each saved name is an index.json entry
//                   with an org.opencontainers.image.ref.name annotation holding
//                   the fully-qualified name ("docker.io/library/busybox:latest").
//                   Blobs are stored byte for byte, so digests are unchanged.
//   docker-archive  the `docker save` format: manifest.json
//                   [{"Config":"<hex>.json","RepoTags":["busybox:latest"],
//                     "Layers":["<diffid-hex>/layer.tar",...]}], the config blob
//                   as <hex>.json (byte for byte: the image ID is unchanged) and
//                   each layer as an UNCOMPRESSED tar, as Docker and skopeo
//                   expect. Saving decompresses gzip/zstd layers (checking each
//                   against the config's diff_ids). Loading stores each layer.tar
//                   as it is, as an uncompressed OCI layer
//                   (application/vnd.oci.image.layer.v1.tar): its blob digest is
//                   its diff ID, nothing is recompressed, and a new OCI manifest
//                   is written over the unchanged config. (`bld push` may
//                   compress later.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/store.h"

namespace bld::oci {

enum class ArchiveFormat { kOciArchive, kDockerArchive };

// "oci-archive" / "docker-archive".
std::string_view ArchiveFormatName(ArchiveFormat f);
// InvalidArgument naming the value and the accepted ones.
Result<ArchiveFormat> ParseArchiveFormat(std::string_view s);

struct SaveItem {
  // The store's fully-qualified name ("docker.io/library/busybox:latest");
  // empty saves the image without a name.
  std::string name;
  // A manifest or index in `store` (the tag's target). For docker-archive an
  // index is resolved to the manifest for Platform::Host().
  Descriptor target;
};

// Writes `images` to `out_fd` as a tar in `format`. Every blob is verified
// while it is read; a missing or corrupt blob is an error naming it and the
// image. Holds the store's shared lock while reading. On error the output is
// incomplete and the caller discards it. The same target saved under several
// names is written once.
Status SaveArchive(const Store& store, const std::vector<SaveItem>& images, ArchiveFormat format,
                   int out_fd);

// Reads an oci-archive or docker-archive (detected from its contents; a
// gzip/zstd/xz-compressed tar is fine) from `in_fd` and adds its blobs to
// `store`. Returns the images found: fully-qualified names (normalised from
// the archive's ref.name / io.containerd.image.name annotations or RepoTags)
// and their targets; an image without a name has an empty `name`. Tags are
// NOT set: the caller sets them (holding store.LockShared() across this call
// and SetTags, so prune cannot remove the new blobs in between). Both
// functions take store.LockShared() themselves: the caller must not hold
// LockExclusive().
//
// Nothing is added to the store unless the whole archive is valid: entries are
// staged in ingest files and committed only after every referenced blob was
// found with the right size and digest (diff IDs for docker-archive layers).
// Errors name the problem: an entry escaping the archive root ("../x", an
// absolute path or symlink), a truncated or non-tar input, a blob whose
// content does not match its digest, a blob missing from the archive, a
// malformed manifest/config, an invalid name.
Result<std::vector<TagEntry>> LoadArchive(const Store& store, int in_fd);

}  // namespace bld::oci
