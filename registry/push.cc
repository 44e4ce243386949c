#include "registry/push.h"

#include <atomic>
#include <mutex>

#include "oci/manifest.h"
#include "registry/blob_sources.h"
#include "registry/parallel.h"

namespace bld::registry {

namespace {

std::string_view CompressionName(oci::Compression c) {
  switch (c) {
    case oci::Compression::kNone:
      return "uncompressed";
    case oci::Compression::kGzip:
      return "gzip";
    case oci::Compression::kZstd:
      return "zstd";
  }
  return "?";
}

struct LocalManifest {
  oci::Descriptor desc;
  std::string bytes;
};

Result<LocalManifest> ReadManifest(const oci::Store& store, const oci::Descriptor& d) {
  LocalManifest m;
  m.desc = d;
  auto bytes = store.ReadBlob(d.digest);
  if (!bytes.ok()) return std::move(bytes).error().Wrap("read manifest " + d.digest.str());
  m.bytes = std::move(*bytes);
  if (m.desc.media_type.empty()) {
    BLD_ASSIGN_OR_RETURN(m.desc.media_type, oci::DetectMediaType(m.bytes));
  }
  return m;
}

}  // namespace

Result<PushResult> Push(Client& client, const oci::Store& store, const oci::Descriptor& local,
                        const oci::Reference& dest, const PushOptions& options) {
  const std::string repo = dest.path();
  const std::string reference = !dest.tag().empty() ? dest.tag() : dest.digest()->str();
  const std::string what = "push " + dest.str();
  std::mutex progress_mu;
  auto progress = [&](const std::string& line) {
    if (!options.progress) return;
    std::lock_guard<std::mutex> l(progress_mu);
    options.progress(line);
  };

  BLD_ASSIGN_OR_RETURN(oci::StoreLock lock, store.LockShared());
  auto top = ReadManifest(store, local);
  if (!top.ok()) return std::move(top).error().Wrap(what);
  if (dest.digest() && *dest.digest() != local.digest) {
    return InvalidArgumentError(what + ": the destination names digest " + dest.digest()->str() +
                                " but the image's manifest is " + local.digest.str());
  }

  // The manifests to push (children of an index first) and the blobs they use.
  std::vector<LocalManifest> children;
  std::vector<oci::Manifest> manifests;
  if (oci::IsIndexMediaType(top->desc.media_type)) {
    auto index = oci::Index::Parse(top->bytes);
    if (!index.ok()) return std::move(index).error().Wrap(what);
    for (const oci::Descriptor& child : index->manifests) {
      if (!store.HasBlob(child.digest)) {
        return FailedPreconditionError(
            what + ": the index lists manifest " + child.digest.str() +
            (child.platform ? " (" + child.platform->str() + ")" : std::string()) +
            ", which is not in the local store; pull all its platforms first or push one "
            "platform's "
            "manifest");
      }
      auto m = ReadManifest(store, child);
      if (!m.ok()) return std::move(m).error().Wrap(what);
      children.push_back(std::move(*m));
    }
  } else {
    children.clear();
  }
  std::vector<const LocalManifest*> image_manifests;
  for (const auto& c : children) image_manifests.push_back(&c);
  if (children.empty()) image_manifests.push_back(&*top);

  std::vector<oci::Descriptor> blobs;
  auto add_blob = [&](const oci::Descriptor& d) {
    for (const auto& b : blobs) {
      if (b.digest == d.digest) return;
    }
    blobs.push_back(d);
  };
  for (const LocalManifest* lm : image_manifests) {
    if (oci::IsIndexMediaType(lm->desc.media_type)) {
      return FailedPreconditionError(what + ": nested index " + lm->desc.digest.str() +
                                     " is not supported");
    }
    auto m = oci::Manifest::Parse(lm->bytes);
    if (!m.ok()) return std::move(m).error().Wrap(what + ": manifest " + lm->desc.digest.str());
    if (options.compression) {
      for (const oci::Descriptor& l : m->layers) {
        oci::Compression c;
        if (!oci::LayerCompression(l.media_type, &c) || c != *options.compression) {
          return FailedPreconditionError(
              what + ": --compression " + std::string(CompressionName(*options.compression)) +
              ": layer " + l.digest.str() + " is stored " +
              (oci::LayerCompression(l.media_type, &c) ? std::string(CompressionName(c))
                                                       : "as " + l.media_type) +
              "; recompressing layers on push is not supported yet (push without --compression)");
        }
      }
    }
    add_blob(m->config);
    for (const oci::Descriptor& l : m->layers) add_blob(l);
  }
  std::vector<oci::Digest> all;
  for (const auto& b : blobs) all.push_back(b.digest);
  for (const auto& c : children) all.push_back(c.desc.digest);
  all.push_back(local.digest);
  BlobSources sources(store.root());

  PushResult result;
  result.digest = local.digest;
  // Already there: a re-push costs one request.
  auto existing = client.HeadManifest(repo, reference);
  if (!existing.ok()) return std::move(existing).error().Wrap(what);
  if (*existing && (*existing)->digest == local.digest) {
    result.up_to_date = true;
    progress(dest.str() + " is up to date");
    (void)sources.Record(client.registry(), repo, all);
    return result;
  }

  std::atomic<int> uploaded{0}, mounted{0}, present{0};
  Status s = ParallelFor(blobs.size(), options.parallel, [&](size_t i) -> Status {
    const oci::Descriptor& d = blobs[i];
    BLD_ASSIGN_OR_RETURN(bool exists, client.BlobExists(repo, d.digest));
    if (exists) {
      ++present;
      progress("Blob " + d.digest.str() + " already in " + client.registry() + "/" + repo);
      return Ok();
    }
    BLD_ASSIGN_OR_RETURN(int64_t size, store.BlobSize(d.digest));
    if (size != d.size) {
      return FailedPreconditionError("blob " + d.digest.str() + " is " + std::to_string(size) +
                                     " bytes in the store but " + std::to_string(d.size) +
                                     " in its descriptor");
    }
    std::optional<std::string> from;
    for (const std::string& r : sources.Lookup(client.registry(), d.digest)) {
      if (r != repo) {
        from = r;
        break;
      }
    }
    BLD_ASSIGN_OR_RETURN(UniqueFd fd, store.OpenBlob(d.digest));
    BLD_ASSIGN_OR_RETURN(Client::UploadOutcome outcome,
                         client.UploadBlob(repo, d.digest, size, fd.get(), from));
    if (outcome == Client::UploadOutcome::kMounted) {
      ++mounted;
      progress("Mounted blob " + d.digest.str() + " from " + *from);
    } else {
      ++uploaded;
      progress("Uploaded blob " + d.digest.str());
    }
    return Ok();
  });
  if (!s.ok()) return s.error().Wrap(what);

  for (const LocalManifest& c : children) {
    auto put = client.PutManifest(repo, c.desc.digest.str(), c.desc.media_type, c.bytes);
    if (!put.ok()) return std::move(put).error().Wrap(what);
  }
  auto put = client.PutManifest(repo, reference, top->desc.media_type, top->bytes);
  if (!put.ok()) return std::move(put).error().Wrap(what);
  result.digest = *put;
  result.uploaded = uploaded;
  result.mounted = mounted;
  result.existing = present;
  (void)sources.Record(client.registry(), repo, all);
  return result;
}

}  // namespace bld::registry
