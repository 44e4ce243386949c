// The local store: an OCI image layout on disk (image-spec image-layout.md),
// so skopeo/umoci read it directly.
//
//   <root>/oci-layout, index.json   layout marker and the tag list
//   <root>/blobs/sha256/<hex>       content, named by its digest
//   <root>/ingest/<random>          partial writes (a writer holds a flock on its file)
//   <root>/lock                     store lock: writers of content and tags hold it
//                                   shared, `bld prune` exclusive
//   <root>/index.lock               serialises read-modify-write of index.json
//
// Blobs are written through an ingest file and only renamed into blobs/ after
// their size and digest were verified and fsynced. A blob whose content does
// not match its name is reported as corrupt, never served by ReadBlob/Verify.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/descriptor.h"
#include "oci/digest.h"

namespace bld::oci {

class Store;

// A blob being written. Abort is implied if Commit is never called.
class BlobWriter final {
 public:
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  ~BlobWriter();

  Status Write(const void* data, size_t n);
  Status Write(std::string_view s) { return Write(s.data(), s.size()); }
  int64_t size() const { return size_; }
  // Verifies size and digest (when given), fsyncs and renames into blobs/.
  // A blob that already exists is fine (content addressed). Returns the digest.
  Result<Digest> Commit(std::optional<Digest> expected = std::nullopt,
                        std::optional<int64_t> expected_size = std::nullopt);

 private:
  friend class Store;
  BlobWriter(const Store* store, UniqueFd fd, std::string path)
      : store_(store), fd_(std::move(fd)), path_(std::move(path)) {}
  const Store* store_;
  UniqueFd fd_;
  std::string path_;
  Sha256 hash_;
  int64_t size_ = 0;
  bool done_ = false;
};

// An image name in index.json.
struct TagEntry {
  std::string name;  // "docker.io/library/busybox:latest"; empty for an untagged image
  Descriptor target;
};

// A held lock on the store; released on destruction.
class StoreLock final {
 public:
  StoreLock(StoreLock&&) noexcept = default;
  StoreLock& operator=(StoreLock&&) noexcept = default;

 private:
  friend class Store;
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class Store final {
 public:
  // Opens (creating if needed) the store at `root` and removes stale ingests.
  static Result<std::unique_ptr<Store>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  std::string BlobPath(const Digest& d) const;

  // Writers of content and tags hold this shared; prune takes it exclusive.
  Result<StoreLock> LockShared() const;
  Result<StoreLock> LockExclusive() const;

  Result<std::unique_ptr<BlobWriter>> Ingest() const;
  // Ingest + Write + Commit.
  Result<Digest> WriteBlob(std::string_view data,
                           std::optional<Digest> expected = std::nullopt) const;
  bool HasBlob(const Digest& d) const;
  // NotFound if absent.
  Result<int64_t> BlobSize(const Digest& d) const;
  // Opens for streaming; the caller verifies the digest while reading.
  Result<UniqueFd> OpenBlob(const Digest& d) const;
  // Reads the whole blob and verifies it (corrupt -> error naming the blob).
  Result<std::string> ReadBlob(const Digest& d) const;
  // Re-hashes the blob; an error naming the blob when it does not match.
  Status VerifyBlob(const Digest& d) const;
  Status DeleteBlob(const Digest& d) const;
  Result<std::vector<Digest>> ListBlobs() const;

  // Tags. Each rewrite of index.json is atomic and serialised by index.lock.
  Result<std::vector<TagEntry>> ListTags() const;
  // Points `name` at `target`, replacing an earlier target of that name.
  Status SetTag(const std::string& name, const Descriptor& target) const;
  // Adds several names (and/or, with empty names, untagged images) in one rewrite.
  Status SetTags(const std::vector<TagEntry>& entries) const;
  // NotFound if the name is absent.
  Status RemoveTag(const std::string& name) const;
  // Removes every entry (tagged or not) whose target digest is `d`.
  Status RemoveTarget(const Digest& d) const;
  Result<Descriptor> ResolveTag(const std::string& name) const;

  // Removes ingest files no live writer holds and that were last written at
  // least `min_age_seconds` ago (a writer takes its lock right after creating
  // the file; the age guards that instant). Returns how many were removed.
  Result<int> CleanIngests(int min_age_seconds = 60) const;

 private:
  explicit Store(std::string root) : root_(std::move(root)) {}
  Result<std::vector<TagEntry>> ReadIndexLocked() const;
  Status WriteIndexLocked(const std::vector<TagEntry>& entries) const;
  template <typename F>
  Status ModifyIndex(F&& f) const;

  std::string root_;
};

}  // namespace bld::oci
