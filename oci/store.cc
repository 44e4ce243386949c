#include "oci/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ctime>

#include "base/file.h"
#include "base/random.h"
#include "oci/media_types.h"

namespace bld::oci {

namespace {

constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

Result<UniqueFd> LockFile(const std::string& path, int how) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT, 0644));
  while (::flock(fd.get(), how) < 0) {
    if (errno != EINTR) return ErrnoError("lock " + path);
  }
  return fd;
}

}  // namespace

BlobWriter::~BlobWriter() {
  if (!done_) ::unlink(path_.c_str());
}

Status BlobWriter::Write(const void* data, size_t n) {
  if (done_) return FailedPreconditionError("write to a committed blob");
  BLD_TRY(WriteAll(fd_.get(), std::string_view(static_cast<const char*>(data), n), path_));
  hash_.Update(data, n);
  size_ += static_cast<int64_t>(n);
  return Ok();
}

Result<Digest> BlobWriter::Commit(std::optional<Digest> expected,
                                  std::optional<int64_t> expected_size) {
  if (done_) return FailedPreconditionError("blob already committed");
  done_ = true;
  // From here on the destructor no longer removes the ingest file; do it on failure paths.
  auto fail = [this](Error e) {
    ::unlink(path_.c_str());
    return e;
  };
  Digest actual = hash_.Finish();
  if (expected_size && *expected_size != size_) {
    return fail(InvalidArgumentError(
        "blob " + (expected ? expected->str() : actual.str()) + ": size mismatch: expected " +
        std::to_string(*expected_size) + " bytes, got " + std::to_string(size_)));
  }
  if (expected && *expected != actual) {
    return fail(InvalidArgumentError("blob " + expected->str() +
                                     ": digest mismatch: content hashes to " + actual.str()));
  }
  if (::fsync(fd_.get()) < 0) return fail(ErrnoError("fsync " + path_));
  fd_.reset();
  std::string dest = store_->BlobPath(actual);
  if (::rename(path_.c_str(), dest.c_str()) < 0) return fail(ErrnoError("rename into " + dest));
  BLD_TRY(FsyncDir(Dirname(dest)));
  return actual;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& root) {
  BLD_TRY(MkdirAll(root + "/blobs/sha256"));
  BLD_TRY(MkdirAll(root + "/ingest"));
  std::string layout = root + "/oci-layout";
  if (!PathExists(layout)) {
    BLD_TRY(WriteFileAtomic(layout, R"({"imageLayoutVersion":"1.0.0"})"));
  }
  std::unique_ptr<Store> store(new Store(root));
  if (!PathExists(root + "/index.json")) {
    BLD_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(root + "/index.lock", LOCK_EX));
    if (!PathExists(root + "/index.json")) BLD_TRY(store->WriteIndexLocked({}));
  }
  BLD_TRY(store->CleanIngests());
  return store;
}

std::string Store::BlobPath(const Digest& d) const { return root_ + "/blobs/sha256/" + d.hex(); }

Result<StoreLock> Store::LockShared() const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, LockFile(root_ + "/lock", LOCK_SH));
  return StoreLock(std::move(fd));
}

Result<StoreLock> Store::LockExclusive() const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, LockFile(root_ + "/lock", LOCK_EX));
  return StoreLock(std::move(fd));
}

Result<std::unique_ptr<BlobWriter>> Store::Ingest() const {
  std::string path = root_ + "/ingest/" + RandomHex(32);
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_EXCL, 0644));
  // The lock marks the ingest as live; CleanIngests removes only unlocked ones.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    Error e = ErrnoError("lock " + path);
    ::unlink(path.c_str());
    return e;
  }
  return std::unique_ptr<BlobWriter>(new BlobWriter(this, std::move(fd), std::move(path)));
}

Result<Digest> Store::WriteBlob(std::string_view data, std::optional<Digest> expected) const {
  if (expected && HasBlob(*expected)) return *expected;
  BLD_ASSIGN_OR_RETURN(auto w, Ingest());
  BLD_TRY(w->Write(data));
  return w->Commit(expected, static_cast<int64_t>(data.size()));
}

bool Store::HasBlob(const Digest& d) const {
  struct stat st;
  return ::stat(BlobPath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int64_t> Store::BlobSize(const Digest& d) const {
  struct stat st;
  if (::stat(BlobPath(d).c_str(), &st) < 0) {
    if (errno == ENOENT) return NotFoundError("blob " + d.str() + " not found in store " + root_);
    return ErrnoError("stat blob " + d.str());
  }
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> Store::OpenBlob(const Digest& d) const {
  auto fd = OpenFile(BlobPath(d), O_RDONLY);
  if (!fd.ok() && fd.error().code() == ErrorCode::kNotFound) {
    return NotFoundError("blob " + d.str() + " not found in store " + root_);
  }
  return fd;
}

Result<std::string> Store::ReadBlob(const Digest& d) const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenBlob(d));
  BLD_ASSIGN_OR_RETURN(std::string data, ReadFd(fd.get()));
  Digest actual = Digest::Of(data);
  if (actual != d) {
    return InternalError("blob " + d.str() + " in store " + root_ + " is corrupt (content hashes to " +
                         actual.str() + "); remove the image and pull or build it again");
  }
  return data;
}

Status Store::VerifyBlob(const Digest& d) const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenBlob(d));
  Sha256 h;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read blob " + d.str());
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  Digest actual = h.Finish();
  if (actual != d) {
    return InternalError("blob " + d.str() + " in store " + root_ + " is corrupt (content hashes to " +
                         actual.str() + ")");
  }
  return Ok();
}

Status Store::DeleteBlob(const Digest& d) const {
  if (::unlink(BlobPath(d).c_str()) < 0 && errno != ENOENT) {
    return ErrnoError("remove blob " + d.str());
  }
  return Ok();
}

Result<std::vector<Digest>> Store::ListBlobs() const {
  BLD_ASSIGN_OR_RETURN(auto names, ListDir(root_ + "/blobs/sha256"));
  std::vector<Digest> out;
  for (const auto& n : names) {
    auto d = Digest::FromHex(n);
    if (d.ok()) out.push_back(*d);  // foreign files in blobs/ are left alone
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<TagEntry>> Store::ReadIndexLocked() const {
  std::string path = root_ + "/index.json";
  BLD_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InternalError(path + " is not valid JSON; fix or remove it");
  }
  std::vector<TagEntry> out;
  auto it = j.find("manifests");
  if (it == j.end()) return out;
  if (!it->is_array()) return InternalError(path + ": \"manifests\" is not an array");
  for (const auto& m : *it) {
    auto d = DescriptorFromJson(m);
    if (!d.ok()) return std::move(d).error().Wrap(path);
    TagEntry e;
    e.target = std::move(*d);
    auto name = e.target.annotations.find(kRefNameAnnotation);
    if (name != e.target.annotations.end()) {
      e.name = name->second;
      e.target.annotations.erase(name);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status Store::WriteIndexLocked(const std::vector<TagEntry>& entries) const {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = kMediaTypeOciIndex;
  j["manifests"] = nlohmann::ordered_json::array();
  for (const auto& e : entries) {
    Descriptor d = e.target;
    if (!e.name.empty()) d.annotations[kRefNameAnnotation] = e.name;
    j["manifests"].push_back(nlohmann::ordered_json::parse(ToJson(d).dump()));
  }
  return WriteFileAtomic(root_ + "/index.json", j.dump(2) + "\n");
}

template <typename F>
Status Store::ModifyIndex(F&& f) const {
  BLD_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(root_ + "/index.lock", LOCK_EX));
  BLD_ASSIGN_OR_RETURN(std::vector<TagEntry> entries, ReadIndexLocked());
  BLD_TRY(f(entries));
  return WriteIndexLocked(entries);
}

Result<std::vector<TagEntry>> Store::ListTags() const {
  BLD_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(root_ + "/index.lock", LOCK_SH));
  return ReadIndexLocked();
}

Status Store::SetTag(const std::string& name, const Descriptor& target) const {
  return SetTags({TagEntry{name, target}});
}

Status Store::SetTags(const std::vector<TagEntry>& add) const {
  return ModifyIndex([&](std::vector<TagEntry>& entries) -> Status {
    for (const auto& a : add) {
      if (a.name.empty()) {
        // An untagged image: keep one entry per digest.
        bool present = std::any_of(entries.begin(), entries.end(), [&](const TagEntry& e) {
          return e.target.digest == a.target.digest;
        });
        if (!present) entries.push_back(a);
        continue;
      }
      // As docker: an image whose last name moves to another image stays, untagged
      // (`<none>`, usable by ID), until it is pruned.
      std::vector<Descriptor> moved;
      for (const auto& e : entries) {
        if (e.name == a.name && e.target.digest != a.target.digest) moved.push_back(e.target);
      }
      std::erase_if(entries, [&](const TagEntry& e) { return e.name == a.name; });
      for (const auto& old : moved) {
        bool referenced = std::any_of(entries.begin(), entries.end(), [&](const TagEntry& e) {
          return e.target.digest == old.digest;
        });
        if (!referenced) entries.push_back(TagEntry{"", old});
      }
      // A tagged image no longer needs its untagged entry.
      std::erase_if(entries, [&](const TagEntry& e) {
        return e.name.empty() && e.target.digest == a.target.digest;
      });
      entries.push_back(a);
    }
    return Ok();
  });
}

Status Store::RemoveTag(const std::string& name) const {
  return ModifyIndex([&](std::vector<TagEntry>& entries) -> Status {
    size_t n = std::erase_if(entries, [&](const TagEntry& e) { return e.name == name; });
    if (n == 0) return NotFoundError("no image named " + name);
    return Ok();
  });
}

Status Store::RemoveTarget(const Digest& d) const {
  return ModifyIndex([&](std::vector<TagEntry>& entries) -> Status {
    size_t n = std::erase_if(entries, [&](const TagEntry& e) { return e.target.digest == d; });
    if (n == 0) return NotFoundError("no image with digest " + d.str());
    return Ok();
  });
}

Result<Descriptor> Store::ResolveTag(const std::string& name) const {
  BLD_ASSIGN_OR_RETURN(auto entries, ListTags());
  for (auto& e : entries) {
    if (e.name == name) return std::move(e.target);
  }
  return NotFoundError("no image named " + name);
}

Result<int> Store::CleanIngests(int min_age_seconds) const {
  time_t now = ::time(nullptr);
  std::string dir = root_ + "/ingest";
  BLD_ASSIGN_OR_RETURN(auto names, ListDir(dir));
  int removed = 0;
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    auto fd = OpenFile(path, O_RDONLY | O_NOFOLLOW);
    if (!fd.ok()) continue;  // vanished meanwhile
    struct stat st;
    if (::fstat(fd->get(), &st) < 0 || now - st.st_mtime < min_age_seconds) continue;
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) {
      // Nobody holds it: a writer died. Unlink while we hold the lock.
      if (::unlink(path.c_str()) == 0) ++removed;
    }
  }
  return removed;
}

}  // namespace bld::oci
