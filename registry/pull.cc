#include "registry/pull.h"

#include <mutex>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/blob_sources.h"
#include "registry/parallel.h"

namespace bld::registry {

namespace {

std::string HumanSize(int64_t n) {
  char buf[32];
  if (n >= (1 << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  }
  return buf;
}

// Fetches one blob into the store, verifying size and digest.
Status FetchInto(Client& client, const oci::Store& store, const std::string& repo,
                 const oci::Descriptor& desc) {
  std::unique_ptr<oci::BlobWriter> writer;
  auto reset = [&]() -> Status {
    writer.reset();  // discards a partial earlier try
    BLD_ASSIGN_OR_RETURN(writer, store.Ingest());
    return Ok();
  };
  auto write = [&](std::string_view data) -> Status {
    if (writer->size() + static_cast<int64_t>(data.size()) > desc.size) {
      return FailedPreconditionError("the registry sent more than the " +
                                     std::to_string(desc.size) + " bytes the manifest declares");
    }
    return writer->Write(data);
  };
  BLD_TRY(client.FetchBlob(repo, desc.digest, desc.size, reset, write));
  auto committed = writer->Commit(desc.digest, desc.size);
  if (!committed.ok()) {
    // Bad content from the registry, not bad input from the user.
    return Error(ErrorCode::kFailedPrecondition,
                 client.registry() + "/" + repo + ": blob " + desc.digest.str() +
                     " does not match its descriptor; not stored: " + committed.error().message());
  }
  return Ok();
}

}  // namespace

Result<PullResult> Pull(Client& client, const oci::Store& store, const oci::Reference& ref,
                        const PullOptions& options) {
  const std::string repo = ref.path();
  const std::string reference = ref.digest() ? ref.digest()->str() : ref.tag();
  std::mutex progress_mu;
  auto progress = [&](const std::string& line) {
    if (!options.progress) return;
    std::lock_guard<std::mutex> l(progress_mu);
    options.progress(line);
  };

  BLD_ASSIGN_OR_RETURN(oci::StoreLock lock, store.LockShared());
  BLD_ASSIGN_OR_RETURN(FetchedManifest top, client.GetManifest(repo, reference));
  PullResult result;
  result.name = ref.str();
  FetchedManifest chosen;
  std::optional<oci::Platform> platform;
  if (oci::IsIndexMediaType(top.media_type)) {
    auto index = oci::Index::Parse(top.bytes);
    if (!index.ok()) return std::move(index).error().Wrap(ref.str() + ": index");
    auto entry = index->SelectPlatform(options.platform);
    if (!entry.ok()) return std::move(entry).error().Wrap(ref.str());
    progress("Choosing " + options.platform.str() + " manifest " + entry->digest.str());
    BLD_ASSIGN_OR_RETURN(chosen, client.GetManifest(repo, entry->digest.str()));
    if (oci::IsIndexMediaType(chosen.media_type)) {
      return FailedPreconditionError(ref.str() + ": the index entry for " + options.platform.str() +
                                     " is itself an index");
    }
    platform = entry->platform;
    result.index = top.descriptor();
  } else {
    chosen = std::move(top);
  }
  auto manifest = oci::Manifest::Parse(chosen.bytes);
  if (!manifest.ok()) {
    return std::move(manifest).error().Wrap(ref.str() + ": manifest " + chosen.digest.str());
  }

  std::vector<oci::Descriptor> blobs = {manifest->config};
  for (const oci::Descriptor& l : manifest->layers) {
    bool dup = false;
    for (const oci::Descriptor& b : blobs) dup = dup || b.digest == l.digest;
    if (!dup) blobs.push_back(l);
  }
  std::atomic<int> fetched{0}, present{0};
  Status s = ParallelFor(blobs.size(), options.parallel, [&](size_t i) -> Status {
    const oci::Descriptor& d = blobs[i];
    if (store.HasBlob(d.digest)) {
      ++present;
      progress("Blob " + d.digest.str() + " already present");
      return Ok();
    }
    progress("Fetching blob " + d.digest.str() + " (" + HumanSize(d.size) + ")");
    BLD_TRY(FetchInto(client, store, repo, d));
    ++fetched;
    return Ok();
  });
  if (!s.ok()) return s.error().Wrap("pull " + ref.str());

  // Manifests after their content, the tag last: a tag never names missing blobs.
  auto wm = store.WriteBlob(chosen.bytes, chosen.digest);
  if (!wm.ok()) return std::move(wm).error().Wrap("pull " + ref.str() + ": store manifest");
  std::vector<oci::Digest> all;
  for (const auto& b : blobs) all.push_back(b.digest);
  all.push_back(chosen.digest);
  if (result.index) {
    auto wi = store.WriteBlob(top.bytes, top.digest);
    if (!wi.ok()) return std::move(wi).error().Wrap("pull " + ref.str() + ": store index");
    all.push_back(top.digest);
  }
  result.target = chosen.descriptor();
  result.target.platform = platform;
  BLD_TRY_WRAP(store.SetTag(result.name, result.target), "pull " + ref.str() + ": tag");
  result.config = manifest->config.digest;
  result.blobs_fetched = fetched;
  result.blobs_present = present;
  // Only a hint for later mounts: failing to record it does not fail the pull.
  (void)BlobSources(store.root()).Record(client.registry(), repo, all);
  return result;
}

}  // namespace bld::registry
