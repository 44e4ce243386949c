#include "oci/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "oci/config.h"
#include "oci/image.h"
#include "oci/json_fields.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/reference.h"

namespace bld::oci {

namespace {

constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";
constexpr char kContainerdNameAnnotation[] = "io.containerd.image.name";
constexpr size_t kChunk = 256 * 1024;
// Archive entries up to this size are kept in memory (manifests, configs,
// index.json, small layers); larger ones go straight to ingest files.
constexpr int64_t kSmallEntry = 4 << 20;
constexpr int64_t kSmallBudget = 256 << 20;

struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<struct archive, ArchiveReadFree>;
using WriteArchive = std::unique_ptr<struct archive, ArchiveWriteFree>;

std::string ArchiveErrorString(struct archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

using Sink = std::function<Status(const void* data, size_t n)>;

// ---------------------------------------------------------------------------
// Reading blobs from the store, verified, optionally decompressed.

// libarchive read callback state: reads a store blob and hashes the raw bytes.
struct BlobSource {
  int fd = -1;
  Sha256 hash;
  int64_t size = 0;
  int err = 0;
  std::vector<char> buf = std::vector<char>(kChunk);
};

la_ssize_t BlobSourceRead(struct archive* a, void* client, const void** out) {
  auto* src = static_cast<BlobSource*>(client);
  while (true) {
    ssize_t n = ::read(src->fd, src->buf.data(), src->buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      src->err = errno;
      archive_set_error(a, errno, "read blob");
      return -1;
    }
    src->hash.Update(src->buf.data(), static_cast<size_t>(n));
    src->size += n;
    *out = src->buf.data();
    return n;
  }
}

Status CheckBlob(const Descriptor& d, BlobSource& src) {
  Digest actual = src.hash.Finish();
  if (src.size != d.size) {
    return InvalidArgumentError("blob " + d.digest.str() + " is corrupt: expected " +
                                std::to_string(d.size) + " bytes, found " +
                                std::to_string(src.size));
  }
  if (actual != d.digest) {
    return InvalidArgumentError("blob " + d.digest.str() + " is corrupt: content hashes to " +
                                actual.str());
  }
  return Ok();
}

// Streams blob `d` into `sink`, decompressing `c`; fails if the blob's size or
// digest do not match `d` (checked at the end of the stream).
Status StreamBlob(const Store& store, const Descriptor& d, Compression c, const Sink& sink) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, store.OpenBlob(d.digest));
  BlobSource src;
  src.fd = fd.get();
  if (c == Compression::kNone) {
    while (true) {
      const void* p = nullptr;
      la_ssize_t n = BlobSourceRead(nullptr, &src, &p);
      if (n < 0) return PosixError("read blob " + d.digest.str(), src.err);
      if (n == 0) break;
      BLD_TRY(sink(p, static_cast<size_t>(n)));
    }
    return CheckBlob(d, src);
  }
  ReadArchive a(archive_read_new());
  if (!a) return InternalError("archive_read_new failed");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open(a.get(), &src, nullptr, BlobSourceRead, nullptr) != ARCHIVE_OK) {
    return InvalidArgumentError("layer " + d.digest.str() +
                                ": cannot decompress: " + ArchiveErrorString(a.get()));
  }
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_OK) {
    if (archive_filter_code(a.get(), 0) == ARCHIVE_FILTER_NONE) {
      return InvalidArgumentError("layer " + d.digest.str() + " (" + d.media_type +
                                  ") is not compressed");
    }
    std::vector<char> buf(kChunk);
    while (true) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) {
        return InvalidArgumentError("layer " + d.digest.str() +
                                    ": decompress: " + ArchiveErrorString(a.get()));
      }
      if (n == 0) break;
      BLD_TRY(sink(buf.data(), static_cast<size_t>(n)));
    }
  } else if (r != ARCHIVE_EOF) {
    return InvalidArgumentError("layer " + d.digest.str() +
                                ": decompress: " + ArchiveErrorString(a.get()));
  }
  // Hash whatever the decompressor left unread so the digest covers the blob.
  while (true) {
    const void* p = nullptr;
    la_ssize_t n = BlobSourceRead(a.get(), &src, &p);
    if (n <= 0) break;
  }
  return CheckBlob(d, src);
}

// ---------------------------------------------------------------------------
// Writing tars.

class TarWriter final {
 public:
  Status Open(int fd) {
    a_.reset(archive_write_new());
    if (!a_) return InternalError("archive_write_new failed");
    if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(a_.get()) != ARCHIVE_OK ||
        archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) {
      return Err("open output archive");
    }
    return Ok();
  }

  Status AddDir(const std::string& path) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    archive_entry_set_perm(e.get(), 0755);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return Err("write " + path);
    return Ok();
  }

  // Starts a regular file of exactly `size` bytes; Write() its content, then Finish().
  Status Begin(const std::string& path, int64_t size) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), size);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return Err("write " + path);
    path_ = path;
    expected_ = size;
    written_ = 0;
    return Ok();
  }
  Status Write(const void* data, size_t n) {
    if (written_ + static_cast<int64_t>(n) > expected_) {
      return InternalError("archive entry " + path_ + ": content larger than its header");
    }
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      la_ssize_t w = archive_write_data(a_.get(), p, n);
      if (w < 0) return Err("write " + path_);
      p += w;
      n -= static_cast<size_t>(w);
      written_ += w;
    }
    return Ok();
  }
  Status Finish() {
    if (written_ != expected_) {
      return InternalError("archive entry " + path_ + ": wrote " + std::to_string(written_) +
                           " of " + std::to_string(expected_) + " bytes");
    }
    if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) return Err("write " + path_);
    return Ok();
  }
  Status AddFile(const std::string& path, std::string_view data) {
    BLD_TRY(Begin(path, static_cast<int64_t>(data.size())));
    BLD_TRY(Write(data.data(), data.size()));
    return Finish();
  }
  Status Close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return Err("finish output archive");
    return Ok();
  }

 private:
  Error Err(const std::string& what) {
    int e = archive_errno(a_.get());
    std::string msg = what + ": " + ArchiveErrorString(a_.get());
    return e > 0 ? Error(PosixError(what, e).code(), msg, e) : InternalError(msg);
  }
  WriteArchive a_;
  std::string path_;
  int64_t expected_ = 0;
  int64_t written_ = 0;
};

// ---------------------------------------------------------------------------
// Saving.

std::string ImageLabel(const SaveItem& item) {
  return item.name.empty() ? item.target.digest.str() : item.name;
}

// Adds `d` and everything it references to `out` (each digest once, children
// before the documents that reference them).
Status CollectBlobs(const Store& store, const Descriptor& d, int depth,
                    std::vector<Descriptor>* out, std::set<Digest>* seen) {
  if (seen->count(d.digest) != 0) return Ok();
  if (depth > 8) return InvalidArgumentError("index nesting too deep at " + d.digest.str());
  if (IsIndexMediaType(d.media_type) || IsManifestMediaType(d.media_type)) {
    auto data = store.ReadBlob(d.digest);
    if (!data.ok()) return std::move(data).error().Wrap(d.media_type + " " + d.digest.str());
    BLD_ASSIGN_OR_RETURN(std::string mt, DetectMediaType(*data));
    if (IsIndexMediaType(mt)) {
      BLD_ASSIGN_OR_RETURN(Index idx, Index::Parse(*data));
      for (const Descriptor& child : idx.manifests) {
        BLD_TRY(CollectBlobs(store, child, depth + 1, out, seen));
      }
    } else {
      BLD_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(*data));
      BLD_TRY(CollectBlobs(store, m.config, depth + 1, out, seen));
      for (const Descriptor& l : m.layers) BLD_TRY(CollectBlobs(store, l, depth + 1, out, seen));
    }
  } else if (!store.HasBlob(d.digest)) {
    return NotFoundError("blob " + d.digest.str() + " (" + d.media_type +
                         ") is missing from the store");
  }
  seen->insert(d.digest);
  out->push_back(d);
  return Ok();
}

Status SaveOci(const Store& store, const std::vector<SaveItem>& images, TarWriter& tar) {
  std::vector<Descriptor> blobs;
  std::set<Digest> seen;
  Index index;
  index.media_type = std::string(kMediaTypeOciIndex);
  for (const SaveItem& item : images) {
    BLD_TRY_WRAP(CollectBlobs(store, item.target, 0, &blobs, &seen), "save " + ImageLabel(item));
    Descriptor entry = item.target;
    entry.annotations.erase(kRefNameAnnotation);
    entry.annotations.erase(kContainerdNameAnnotation);
    if (!item.name.empty()) entry.annotations[kRefNameAnnotation] = item.name;
    index.manifests.push_back(std::move(entry));
  }
  BLD_TRY(tar.AddFile("oci-layout",
                      "{\"imageLayoutVersion\":\"" + std::string(kOciLayoutVersion) + "\"}"));
  BLD_TRY(tar.AddFile("index.json", index.ToJson()));
  BLD_TRY(tar.AddDir("blobs/"));
  BLD_TRY(tar.AddDir("blobs/sha256/"));
  for (const Descriptor& d : blobs) {
    BLD_TRY(tar.Begin("blobs/sha256/" + d.digest.hex(), d.size));
    BLD_TRY(StreamBlob(store, d, Compression::kNone,
                       [&](const void* p, size_t n) { return tar.Write(p, n); }));
    BLD_TRY(tar.Finish());
  }
  return Ok();
}

struct DockerLayer {
  Descriptor blob;
  Compression compression = Compression::kNone;
  int64_t tar_size = 0;  // uncompressed
};

struct DockerImage {
  std::string config_path;
  Digest config_digest;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layer_paths;
};

Status SaveDocker(const Store& store, const std::vector<SaveItem>& images, TarWriter& tar) {
  std::vector<DockerImage> out_images;
  std::map<Digest, size_t> image_by_manifest;
  std::map<Digest, Descriptor> configs;
  std::map<Digest, DockerLayer> layers;  // by diff ID
  std::vector<Digest> layer_order;
  for (const SaveItem& item : images) {
    const std::string label = ImageLabel(item);
    auto image = LoadImage(store, item.target, Platform::Host());
    if (!image.ok()) return std::move(image).error().Wrap("save " + label);
    std::string tag;
    if (!item.name.empty()) {
      auto ref = Reference::Parse(item.name);
      if (!ref.ok()) return std::move(ref).error().Wrap("save " + label);
      if (ref->tag().empty()) {
        return InvalidArgumentError("save " + label +
                                    ": docker-archive needs a tag, not only a digest");
      }
      // RepoTags hold "name:tag" in the familiar form `docker save` writes.
      auto tagged = Reference::Parse(ref->Repository() + ":" + ref->tag());
      if (!tagged.ok()) return std::move(tagged).error().Wrap("save " + label);
      tag = tagged->Familiar();
    }
    auto found = image_by_manifest.find(image->descriptor.digest);
    if (found != image_by_manifest.end()) {
      if (!tag.empty()) out_images[found->second].repo_tags.push_back(tag);
      continue;
    }
    const Manifest& m = image->manifest;
    if (m.layers.size() != image->config.diff_ids.size()) {
      return InvalidArgumentError("save " + label + ": manifest has " +
                                  std::to_string(m.layers.size()) + " layers but the config " +
                                  std::to_string(image->config.diff_ids.size()) + " diff_ids");
    }
    DockerImage di;
    di.config_digest = m.config.digest;
    di.config_path = m.config.digest.hex() + ".json";
    if (!tag.empty()) di.repo_tags.push_back(tag);
    configs.emplace(m.config.digest, m.config);
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const Descriptor& l = m.layers[i];
      const Digest& diff_id = image->config.diff_ids[i];
      di.layer_paths.push_back(diff_id.hex() + "/layer.tar");
      if (layers.count(diff_id) != 0) continue;
      DockerLayer dl;
      dl.blob = l;
      if (!LayerCompression(l.media_type, &dl.compression)) {
        return InvalidArgumentError("save " + label + ": layer " + l.digest.str() +
                                    " has media type " + l.media_type +
                                    ", which docker-archive cannot hold");
      }
      // Pass 1: the uncompressed size (a tar header needs it up front) and a
      // check against the diff ID before anything is written.
      Sha256 h;
      int64_t n = 0;
      BLD_TRY_WRAP(StreamBlob(store, l, dl.compression,
                              [&](const void* p, size_t len) {
                                h.Update(p, len);
                                n += static_cast<int64_t>(len);
                                return Ok();
                              }),
                   "save " + label);
      Digest actual = h.Finish();
      if (actual != diff_id) {
        return InvalidArgumentError("save " + label + ": layer " + l.digest.str() +
                                    " uncompresses to " + actual.str() +
                                    ", not the config's diff_id " + diff_id.str());
      }
      dl.tar_size = n;
      layers.emplace(diff_id, dl);
      layer_order.push_back(diff_id);
    }
    image_by_manifest.emplace(image->descriptor.digest, out_images.size());
    out_images.push_back(std::move(di));
  }

  nlohmann::ordered_json manifest = nlohmann::ordered_json::array();
  for (const DockerImage& di : out_images) {
    nlohmann::ordered_json e;
    e["Config"] = di.config_path;
    e["RepoTags"] = di.repo_tags;
    e["Layers"] = di.layer_paths;
    manifest.push_back(std::move(e));
  }
  BLD_TRY(tar.AddFile("manifest.json", manifest.dump()));
  for (const auto& [digest, desc] : configs) {
    BLD_ASSIGN_OR_RETURN(std::string data, store.ReadBlob(digest));
    BLD_TRY(tar.AddFile(digest.hex() + ".json", data));
  }
  for (const Digest& diff_id : layer_order) {
    const DockerLayer& dl = layers.at(diff_id);
    BLD_TRY(tar.AddDir(diff_id.hex() + "/"));
    BLD_TRY(tar.Begin(diff_id.hex() + "/layer.tar", dl.tar_size));
    BLD_TRY(StreamBlob(store, dl.blob, dl.compression,
                       [&](const void* p, size_t n) { return tar.Write(p, n); }));
    BLD_TRY(tar.Finish());
  }
  return Ok();
}

// ---------------------------------------------------------------------------
// Loading.

// "./a//b/" -> "a/b". Absolute paths and ".." are errors: nothing may escape
// the archive root.
Result<std::string> CleanPath(std::string_view raw, std::string_view what) {
  if (!raw.empty() && raw.front() == '/') {
    return InvalidArgumentError("archive " + std::string(what) + " \"" + std::string(raw) +
                                "\" is an absolute path (escapes the archive root)");
  }
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t slash = raw.find('/', start);
    std::string_view c = raw.substr(start, slash == raw.npos ? raw.npos : slash - start);
    if (c == "..") {
      return InvalidArgumentError("archive " + std::string(what) + " \"" + std::string(raw) +
                                  "\" escapes the archive root");
    }
    if (!c.empty() && c != ".") {
      if (!out.empty()) out += '/';
      out += c;
    }
    if (slash == raw.npos) break;
    start = slash + 1;
  }
  return out;
}

// Resolves symlink `target` relative to the directory of `link`; ".." may not
// climb above the root.
Result<std::string> ResolveLinkTarget(const std::string& link, std::string_view target) {
  if (!target.empty() && target.front() == '/') {
    return InvalidArgumentError("archive symlink \"" + link + "\" -> \"" + std::string(target) +
                                "\" points outside the archive");
  }
  std::vector<std::string> parts;
  size_t last = link.rfind('/');
  std::string dir = last == std::string::npos ? "" : link.substr(0, last);
  std::string combined = dir.empty() ? std::string(target) : dir + "/" + std::string(target);
  size_t start = 0;
  while (start <= combined.size()) {
    size_t slash = combined.find('/', start);
    std::string c =
        combined.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (c == "..") {
      if (parts.empty()) {
        return InvalidArgumentError("archive symlink \"" + link + "\" -> \"" + std::string(target) +
                                    "\" escapes the archive root");
      }
      parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

struct StagedEntry {
  bool in_memory = false;
  std::string data;                    // in_memory
  std::unique_ptr<BlobWriter> writer;  // otherwise: content in an ingest file
  Digest digest;
  int64_t size = 0;
};

class ArchiveContents final {
 public:
  explicit ArchiveContents(const Store& store) : store_(store) {}

  Status Read(int fd);

  bool Has(const std::string& path) const { return Find(path) != nullptr; }
  // The entry at `path` after following links; nullptr if absent.
  const StagedEntry* Find(const std::string& path) const {
    return const_cast<ArchiveContents*>(this)->FindMutable(path);
  }
  StagedEntry* FindMutable(const std::string& path) {
    std::string p = path;
    for (int hops = 0; hops < 40; ++hops) {
      auto f = files_.find(p);
      if (f != files_.end()) return &f->second;
      auto l = links_.find(p);
      if (l == links_.end()) return nullptr;
      p = l->second;
    }
    return nullptr;
  }
  Result<std::string> Text(const std::string& path, std::string_view what) const {
    const StagedEntry* e = Find(path);
    if (e == nullptr) return NotFoundError("archive has no " + std::string(what) + " " + path);
    if (!e->in_memory) {
      return InvalidArgumentError("archive entry " + path + " (" + std::string(what) +
                                  ") is too large (" + std::to_string(e->size) + " bytes)");
    }
    return e->data;
  }

  // Commits the entry at `path` as a blob (verified against `expected`).
  Status Commit(const std::string& path, const Digest& expected) {
    StagedEntry* e = FindMutable(path);
    if (e == nullptr) return NotFoundError("archive has no " + path);
    if (e->in_memory) {
      auto r = store_.WriteBlob(e->data, expected);
      if (!r.ok()) return std::move(r).error().Wrap("archive entry " + path);
      return Ok();
    }
    if (!e->writer) return Ok();  // committed already (two paths, one entry)
    auto r = e->writer->Commit(expected, e->size);
    e->writer.reset();
    if (!r.ok()) return std::move(r).error().Wrap("archive entry " + path);
    return Ok();
  }

 private:
  Status ReadEntryData(struct archive* a, const std::string& path, int64_t size, StagedEntry* out);

  const Store& store_;
  std::map<std::string, StagedEntry> files_;
  std::map<std::string, std::string> links_;  // path -> target path (cleaned)
  int64_t in_memory_bytes_ = 0;
};

Status ArchiveContents::ReadEntryData(struct archive* a, const std::string& path, int64_t size,
                                      StagedEntry* out) {
  out->in_memory = size >= 0 && size <= kSmallEntry && in_memory_bytes_ + size <= kSmallBudget;
  Sha256 hash;
  if (!out->in_memory) {
    BLD_ASSIGN_OR_RETURN(out->writer, store_.Ingest());
  } else {
    out->data.reserve(static_cast<size_t>(size));
  }
  std::vector<char> buf(kChunk);
  while (true) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) {
      return InvalidArgumentError("archive entry " + path +
                                  ": truncated or corrupt archive: " + ArchiveErrorString(a));
    }
    if (n == 0) break;
    if (out->in_memory) {
      out->data.append(buf.data(), static_cast<size_t>(n));
    } else {
      BLD_TRY(out->writer->Write(buf.data(), static_cast<size_t>(n)));
    }
    hash.Update(buf.data(), static_cast<size_t>(n));
    out->size += n;
  }
  if (size >= 0 && out->size != size) {
    return InvalidArgumentError("archive entry " + path + ": truncated archive (" +
                                std::to_string(out->size) + " of " + std::to_string(size) +
                                " bytes)");
  }
  if (out->in_memory) in_memory_bytes_ += out->size;
  out->digest = hash.Finish();
  return Ok();
}

Status ArchiveContents::Read(int fd) {
  ReadArchive a(archive_read_new());
  if (!a) return InternalError("archive_read_new failed");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd, kChunk) != ARCHIVE_OK) {
    return InvalidArgumentError("not a tar archive: " + ArchiveErrorString(a.get()));
  }
  bool any = false;
  while (true) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r == ARCHIVE_WARN) r = ARCHIVE_OK;
    if (r != ARCHIVE_OK) {
      if (!any) {
        return InvalidArgumentError("not a tar archive: " + ArchiveErrorString(a.get()));
      }
      return InvalidArgumentError("truncated or corrupt archive: " + ArchiveErrorString(a.get()));
    }
    any = true;
    const char* raw_name = archive_entry_pathname(e);
    std::string raw = raw_name != nullptr ? raw_name : "";
    BLD_ASSIGN_OR_RETURN(std::string path, CleanPath(raw, "entry"));
    const char* hardlink = archive_entry_hardlink(e);
    if (hardlink != nullptr) {
      BLD_ASSIGN_OR_RETURN(std::string target, CleanPath(hardlink, "hard link target"));
      if (path.empty() || target.empty()) {
        return InvalidArgumentError("archive hard link \"" + raw + "\" has an empty name");
      }
      files_.erase(path);
      links_[path] = target;
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        break;
      case AE_IFLNK: {
        if (path.empty()) return InvalidArgumentError("archive symlink with an empty name");
        const char* t = archive_entry_symlink(e);
        BLD_ASSIGN_OR_RETURN(std::string target, ResolveLinkTarget(path, t ? t : ""));
        files_.erase(path);
        links_[path] = target;
        break;
      }
      case AE_IFREG: {
        if (path.empty()) return InvalidArgumentError("archive file with an empty name");
        StagedEntry staged;
        int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        BLD_TRY(ReadEntryData(a.get(), path, size, &staged));
        links_.erase(path);
        files_[path] = std::move(staged);
        break;
      }
      default:
        return InvalidArgumentError("archive entry \"" + raw +
                                    "\" is not a file, directory or link");
    }
  }
  if (!any) return InvalidArgumentError("empty archive: no oci-archive or docker-archive content");
  return Ok();
}

// The store's name for an archive's image name; InvalidArgument naming it.
Result<std::string> NormalizeName(const std::string& name) {
  auto ref = Reference::Parse(name);
  if (!ref.ok()) return std::move(ref).error().Wrap("archive image name");
  return ref->str();
}

std::string BlobPathIn(const Digest& d) { return "blobs/sha256/" + d.hex(); }

// Checks that `d` and everything it references are in the archive with the
// right size and digest; adds them to `needed` (children first).
Status CheckOciBlobs(const ArchiveContents& ar, const Descriptor& d, int depth,
                     std::vector<Digest>* needed, std::set<Digest>* seen) {
  if (seen->count(d.digest) != 0) return Ok();
  if (depth > 8) return InvalidArgumentError("index nesting too deep at " + d.digest.str());
  const std::string path = BlobPathIn(d.digest);
  const StagedEntry* e = ar.Find(path);
  if (e == nullptr) {
    Compression c;
    // Non-distributable layers may legitimately live only at their URLs.
    if (!d.urls.empty() && LayerCompression(d.media_type, &c)) return Ok();
    return NotFoundError("archive is missing blob " + d.digest.str() + " (" + d.media_type + ")");
  }
  if (e->size != d.size) {
    return InvalidArgumentError("archive blob " + d.digest.str() + " has " +
                                std::to_string(e->size) + " bytes, its descriptor says " +
                                std::to_string(d.size));
  }
  if (e->digest != d.digest) {
    return InvalidArgumentError("archive blob " + path + " is corrupt: content hashes to " +
                                e->digest.str());
  }
  if (IsIndexMediaType(d.media_type) || IsManifestMediaType(d.media_type)) {
    BLD_ASSIGN_OR_RETURN(std::string data, ar.Text(path, d.media_type));
    BLD_ASSIGN_OR_RETURN(std::string mt, DetectMediaType(data));
    if (IsIndexMediaType(mt)) {
      auto idx = Index::Parse(data);
      if (!idx.ok()) return std::move(idx).error().Wrap("archive blob " + d.digest.str());
      for (const Descriptor& c : idx->manifests) {
        BLD_TRY(CheckOciBlobs(ar, c, depth + 1, needed, seen));
      }
    } else {
      auto m = Manifest::Parse(data);
      if (!m.ok()) return std::move(m).error().Wrap("archive blob " + d.digest.str());
      BLD_TRY(CheckOciBlobs(ar, m->config, depth + 1, needed, seen));
      for (const Descriptor& l : m->layers) BLD_TRY(CheckOciBlobs(ar, l, depth + 1, needed, seen));
    }
  }
  seen->insert(d.digest);
  needed->push_back(d.digest);
  return Ok();
}

Result<std::vector<TagEntry>> LoadOci(const ArchiveContents& ar, std::vector<Digest>* needed) {
  BLD_ASSIGN_OR_RETURN(std::string layout_text, ar.Text("oci-layout", "oci-layout file"));
  BLD_ASSIGN_OR_RETURN(nlohmann::json layout, internal::ParseJson(layout_text, "oci-layout"));
  if (!layout.is_object() || !layout.contains("imageLayoutVersion")) {
    return InvalidArgumentError("archive oci-layout: imageLayoutVersion is missing");
  }
  BLD_ASSIGN_OR_RETURN(std::string index_text, ar.Text("index.json", "index.json"));
  auto index = Index::Parse(index_text);
  if (!index.ok()) return std::move(index).error().Wrap("archive index.json");
  std::vector<TagEntry> out;
  std::set<Digest> seen;
  for (const Descriptor& d : index->manifests) {
    std::string name;
    auto containerd = d.annotations.find(kContainerdNameAnnotation);
    auto ref_name = d.annotations.find(kRefNameAnnotation);
    if (containerd != d.annotations.end()) {
      name = containerd->second;
    } else if (ref_name != d.annotations.end()) {
      name = ref_name->second;
    }
    if (!name.empty()) {
      auto normalized = NormalizeName(name);
      if (!normalized.ok()) return std::move(normalized).error();
      name = *normalized;
    }
    BLD_TRY_WRAP(CheckOciBlobs(ar, d, 0, needed, &seen),
                 "image " + (name.empty() ? d.digest.str() : name));
    TagEntry t;
    t.name = std::move(name);
    t.target = d;
    t.target.annotations.erase(kRefNameAnnotation);
    t.target.annotations.erase(kContainerdNameAnnotation);
    out.push_back(std::move(t));
  }
  return out;
}

// The digest a docker-archive path names, if it does ("<hex>.json",
// "blobs/sha256/<hex>").
std::optional<Digest> DigestInPath(const std::string& path) {
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (base.size() == 69 && base.compare(64, 5, ".json") == 0) base.resize(64);
  auto d = Digest::FromHex(base);
  if (!d.ok()) return std::nullopt;
  return *d;
}

struct NewBlob {
  std::string data;
  Digest digest;
};

Result<std::vector<TagEntry>> LoadDocker(const ArchiveContents& ar,
                                         std::vector<std::pair<std::string, Digest>>* commits,
                                         std::vector<NewBlob>* manifests) {
  BLD_ASSIGN_OR_RETURN(std::string text, ar.Text("manifest.json", "manifest.json"));
  BLD_ASSIGN_OR_RETURN(nlohmann::json j, internal::ParseJson(text, "archive manifest.json"));
  if (!j.is_array()) return InvalidArgumentError("archive manifest.json: expected an array");
  std::vector<TagEntry> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = "archive manifest.json[" + std::to_string(i) + "]";
    const nlohmann::json& e = j[i];
    if (!e.is_object()) return InvalidArgumentError(where + ": expected an object");
    BLD_ASSIGN_OR_RETURN(auto config_path_raw, internal::GetString(e, "Config", where));
    if (!config_path_raw) return InvalidArgumentError(where + ".Config is missing");
    BLD_ASSIGN_OR_RETURN(auto repo_tags, internal::GetStringArray(e, "RepoTags", where));
    BLD_ASSIGN_OR_RETURN(auto layer_paths, internal::GetStringArray(e, "Layers", where));
    if (!layer_paths) return InvalidArgumentError(where + ".Layers is missing");
    std::vector<std::string> names;
    for (const std::string& t : repo_tags.value_or(std::vector<std::string>{})) {
      BLD_ASSIGN_OR_RETURN(std::string n, NormalizeName(t));
      names.push_back(std::move(n));
    }
    const std::string label = names.empty() ? where : "image " + names[0];

    BLD_ASSIGN_OR_RETURN(std::string config_path, CleanPath(*config_path_raw, "config path"));
    BLD_ASSIGN_OR_RETURN(std::string config_text, ar.Text(config_path, "config"));
    Digest config_digest = Digest::Of(config_text);
    if (auto named = DigestInPath(config_path); named && *named != config_digest) {
      return InvalidArgumentError(label + ": config " + config_path +
                                  " is corrupt: content hashes to " + config_digest.str());
    }
    auto config = ImageConfig::Parse(config_text);
    if (!config.ok()) return std::move(config).error().Wrap(label + ": config " + config_path);
    if (config->diff_ids.size() != layer_paths->size()) {
      return InvalidArgumentError(label + ": " + std::to_string(layer_paths->size()) +
                                  " layers but the config lists " +
                                  std::to_string(config->diff_ids.size()) + " diff_ids");
    }
    Manifest m;
    m.media_type = std::string(kMediaTypeOciManifest);
    m.config.media_type = std::string(kMediaTypeOciConfig);
    m.config.digest = config_digest;
    m.config.size = static_cast<int64_t>(config_text.size());
    commits->emplace_back(config_path, config_digest);
    for (size_t l = 0; l < layer_paths->size(); ++l) {
      BLD_ASSIGN_OR_RETURN(std::string path, CleanPath((*layer_paths)[l], "layer path"));
      const StagedEntry* entry = ar.Find(path);
      if (entry == nullptr) {
        return NotFoundError(label + ": archive is missing layer " + path);
      }
      if (entry->digest != config->diff_ids[l]) {
        return InvalidArgumentError(label + ": layer " + path + " hashes to " +
                                    entry->digest.str() + ", but the config's diff_id is " +
                                    config->diff_ids[l].str() +
                                    " (corrupt, or not an uncompressed tar)");
      }
      Descriptor d;
      d.media_type = std::string(kMediaTypeOciLayer);
      d.digest = entry->digest;
      d.size = entry->size;
      m.layers.push_back(d);
      commits->emplace_back(path, entry->digest);
    }
    NewBlob mb;
    mb.data = m.ToJson();
    mb.digest = Digest::Of(mb.data);
    Descriptor target;
    target.media_type = m.media_type;
    target.digest = mb.digest;
    target.size = static_cast<int64_t>(mb.data.size());
    manifests->push_back(std::move(mb));
    if (names.empty()) {
      out.push_back(TagEntry{"", target});
    } else {
      for (std::string& n : names) out.push_back(TagEntry{std::move(n), target});
    }
  }
  return out;
}

}  // namespace

std::string_view ArchiveFormatName(ArchiveFormat f) {
  return f == ArchiveFormat::kOciArchive ? "oci-archive" : "docker-archive";
}

Result<ArchiveFormat> ParseArchiveFormat(std::string_view s) {
  if (s == "oci-archive") return ArchiveFormat::kOciArchive;
  if (s == "docker-archive") return ArchiveFormat::kDockerArchive;
  return InvalidArgumentError("unknown archive format \"" + std::string(s) +
                              "\" (use oci-archive or docker-archive)");
}

Status SaveArchive(const Store& store, const std::vector<SaveItem>& images, ArchiveFormat format,
                   int out_fd) {
  if (images.empty()) return InvalidArgumentError("save: no images given");
  BLD_ASSIGN_OR_RETURN(StoreLock lock, store.LockShared());
  TarWriter tar;
  BLD_TRY(tar.Open(out_fd));
  if (format == ArchiveFormat::kOciArchive) {
    BLD_TRY(SaveOci(store, images, tar));
  } else {
    BLD_TRY(SaveDocker(store, images, tar));
  }
  return tar.Close();
}

Result<std::vector<TagEntry>> LoadArchive(const Store& store, int in_fd) {
  BLD_ASSIGN_OR_RETURN(StoreLock lock, store.LockShared());
  ArchiveContents ar(store);
  BLD_TRY(ar.Read(in_fd));
  std::vector<TagEntry> tags;
  if (ar.Has("oci-layout") && ar.Has("index.json")) {
    std::vector<Digest> needed;
    BLD_ASSIGN_OR_RETURN(tags, LoadOci(ar, &needed));
    // `needed` lists children before parents: a manifest lands after its layers.
    for (const Digest& d : needed) {
      if (ar.Has(BlobPathIn(d))) BLD_TRY(ar.Commit(BlobPathIn(d), d));
    }
  } else if (ar.Has("manifest.json")) {
    std::vector<std::pair<std::string, Digest>> commits;
    std::vector<NewBlob> manifests;
    BLD_ASSIGN_OR_RETURN(tags, LoadDocker(ar, &commits, &manifests));
    for (const auto& [path, digest] : commits) BLD_TRY(ar.Commit(path, digest));
    for (const NewBlob& m : manifests) {
      auto r = store.WriteBlob(m.data, m.digest);
      if (!r.ok()) return std::move(r).error().Wrap("write manifest");
    }
  } else {
    return InvalidArgumentError(
        "not an oci-archive or docker-archive: no oci-layout+index.json or manifest.json");
  }
  return tags;
}

}  // namespace bld::oci
