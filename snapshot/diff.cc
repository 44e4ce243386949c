#include "snapshot/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "oci/store.h"
#include "snapshot/fsutil.h"

namespace bld::snapshot {

namespace {

constexpr size_t kBuf = 256 * 1024;
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

std::string_view LayerMediaType(oci::Compression c) {
  switch (c) {
    case oci::Compression::kNone:
      return oci::kMediaTypeOciLayer;
    case oci::Compression::kGzip:
      return oci::kMediaTypeOciLayerGzip;
    case oci::Compression::kZstd:
      return oci::kMediaTypeOciLayerZstd;
  }
  return oci::kMediaTypeOciLayer;
}

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// tar bytes -> sha256 (diff ID) -> compressor -> sha256 (digest) -> sink.
class LayerWriter {
 public:
  LayerWriter(const DiffOptions& o, const ByteSink& sink) : o_(o), sink_(sink) {}
  // After a failed write (a full disk), archive_write_free flushes what is left through
  // Write; that must not reach the hashes and compressor, which are destroyed first.
  ~LayerWriter() {
    closing_ = true;
    a_.reset();
  }
  LayerWriter(const LayerWriter&) = delete;
  LayerWriter& operator=(const LayerWriter&) = delete;

  Status Open() {
    BLD_ASSIGN_OR_RETURN(comp_, Compressor::Create(o_.compression, o_.compress,
                                                   [this](const void* p, size_t n) -> Status {
                                                     blob_hash_.Update(p, n);
                                                     blob_size_ += static_cast<int64_t>(n);
                                                     return sink_(p, n);
                                                   }));
    a_.reset(archive_write_new());
    if (!a_) return InternalError("archive_write_new failed");
    // xattrs as SCHILY.xattr only, as Go's archive/tar (containerd, docker) writes them.
    if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_set_format_option(a_.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_.get(), 0) != ARCHIVE_OK ||
        archive_write_open(a_.get(), this, nullptr, &LayerWriter::Write, nullptr) != ARCHIVE_OK) {
      return InternalError(std::string("tar writer: ") + archive_error_string(a_.get()));
    }
    entry_.reset(archive_entry_new());
    buf_.reserve(kBuf);
    return Ok();
  }

  int64_t Mtime(const struct stat& st) const {
    int64_t t = st.st_mtim.tv_sec;
    if (o_.source_date_epoch && t > *o_.source_date_epoch) t = *o_.source_date_epoch;
    return t;
  }

  // Writes a header; `data_fd` (regular files) supplies the content.
  Status Add(const std::string& path, const struct stat& st, const std::string& symlink,
             const std::string& hardlink, const Xattrs& xattrs, int data_fd) {
    archive_entry* e = entry_.get();
    archive_entry_clear(e);
    archive_entry_copy_pathname(e, path.c_str());
    archive_entry_set_uid(e, st.st_uid);
    archive_entry_set_gid(e, st.st_gid);
    archive_entry_set_mtime(e, Mtime(st), 0);
    archive_entry_set_perm(e, st.st_mode & 07777);
    for (const auto& [name, value] : xattrs) {
      if (IsOverlayXattr(name)) continue;
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
    }
    int64_t size = 0;
    if (!hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_copy_hardlink(e, hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
          archive_entry_set_filetype(e, AE_IFDIR);
          break;
        case S_IFREG:
          archive_entry_set_filetype(e, AE_IFREG);
          size = st.st_size;
          archive_entry_set_size(e, size);
          break;
        case S_IFLNK:
          archive_entry_set_filetype(e, AE_IFLNK);
          archive_entry_copy_symlink(e, symlink.c_str());
          break;
        case S_IFCHR:
        case S_IFBLK:
          archive_entry_set_filetype(e, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
          archive_entry_set_rdevmajor(e, major(st.st_rdev));
          archive_entry_set_rdevminor(e, minor(st.st_rdev));
          break;
        case S_IFIFO:
          archive_entry_set_filetype(e, AE_IFIFO);
          break;
        case S_IFSOCK:
          return Ok();  // sockets are not layer content (docker and containerd skip them too)
        default:
          return InvalidArgumentError("unknown file type");
      }
    }
    // ARCHIVE_WARN: a name that is not UTF-8 was stored as raw bytes (pax hdrcharset=BINARY).
    int r = archive_write_header(a_.get(), e);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return TarError("write header");
    ++entries_;
    if (size > 0) {
      if (read_buf_.empty()) read_buf_.resize(kBuf);
      int64_t left = size;
      while (left > 0) {
        ssize_t n = ::read(data_fd, read_buf_.data(), std::min<int64_t>(left, kBuf));
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoError("read");
        }
        if (n == 0) return FailedPreconditionError("file shrank while being read");
        if (archive_write_data(a_.get(), read_buf_.data(), static_cast<size_t>(n)) != n) {
          return TarError("write data");
        }
        left -= n;
      }
    }
    return Ok();
  }

  // An empty regular file marking a whiteout or an opaque directory.
  Status AddMarker(const std::string& path, int64_t mtime) {
    struct stat st {};
    st.st_mode = S_IFREG;
    st.st_mtim.tv_sec = mtime;
    return Add(path, st, "", "", {}, -1);
  }

  Result<DiffResult> Finish() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return TarError("close");
    if (error_) return *error_;
    BLD_TRY(Flush());
    BLD_TRY(comp_->Finish());
    DiffResult r;
    r.diff_id = tar_hash_.Finish();
    r.uncompressed_size = tar_size_;
    r.entries = entries_;
    r.descriptor.media_type = std::string(LayerMediaType(o_.compression));
    r.descriptor.digest = blob_hash_.Finish();
    r.descriptor.size = blob_size_;
    return r;
  }

 private:
  Error TarError(const char* what) {
    if (error_) return *error_;
    return InternalError(std::string("tar ") + what + ": " + archive_error_string(a_.get()));
  }

  Status Process(const void* p, size_t n) {
    tar_hash_.Update(p, n);
    tar_size_ += static_cast<int64_t>(n);
    return comp_->Write(p, n);
  }

  Status Flush() {
    if (buf_.empty()) return Ok();
    Status s = Process(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }

  static la_ssize_t Write(archive*, void* ctx, const void* p, size_t n) {
    auto* w = static_cast<LayerWriter*>(ctx);
    if (w->closing_ || w->error_) return -1;
    Status s = w->Buffer(p, n);
    if (!s.ok()) {
      w->error_ = s.error();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Status Buffer(const void* p, size_t n) {
    if (buf_.size() + n <= kBuf) {
      buf_.insert(buf_.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
      return Ok();
    }
    BLD_TRY(Flush());
    if (n >= kBuf / 2) return Process(p, n);
    buf_.insert(buf_.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
    return Ok();
  }

  const DiffOptions& o_;
  const ByteSink& sink_;
  std::unique_ptr<Compressor> comp_;
  std::unique_ptr<archive, ArchiveWriteFree> a_;
  std::unique_ptr<archive_entry, EntryFree> entry_;
  std::vector<char> buf_;
  std::vector<char> read_buf_;
  oci::Sha256 tar_hash_, blob_hash_;
  int64_t tar_size_ = 0, blob_size_ = 0, entries_ = 0;
  std::optional<Error> error_;
  bool closing_ = false;
};

struct Child {
  std::string name;
  struct stat st;
};

Result<std::vector<Child>> ReadDir(int dirfd, const std::string& what) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoError("dup");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return ErrnoError("opendir " + what);
  }
  std::vector<Child> out;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    Child c;
    c.name = e->d_name;
    if (::fstatat(dirfd, e->d_name, &c.st, AT_SYMLINK_NOFOLLOW) < 0) {
      int err = errno;
      ::closedir(d);
      return PosixError("stat " + what + "/" + c.name, err);
    }
    out.push_back(std::move(c));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Child& a, const Child& b) { return a.name < b.name; });
  return out;
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Result<Xattrs> XattrsAt(int dirfd, const std::string& name, const struct stat& st) {
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return ErrnoError("open " + name);
    UniqueFd f(fd);
    return ListXattrsFd(fd);
  }
  return ListXattrsPath("/proc/self/fd/" + std::to_string(dirfd) + "/" + name);
}

Result<std::string> ReadLinkAt(int dirfd, const std::string& name, const struct stat& st) {
  std::vector<char> buf(static_cast<size_t>(st.st_size) + 2);
  for (;;) {
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoError("readlink " + name);
    if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
}

// Emission of entries shared by both walks: hardlink tracking, file content.
class Emitter {
 public:
  explicit Emitter(LayerWriter* w) : w_(w) {}

  // Emits one entry (not recursing).
  Status Emit(int dirfd, const std::string& name, const std::string& rel, const struct stat& st) {
    std::string hardlink;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = links_.find(key);
      if (it != links_.end()) {
        hardlink = it->second;
      } else {
        links_.emplace(key, rel);
      }
    }
    std::string target;
    if (S_ISLNK(st.st_mode)) {
      BLD_ASSIGN_OR_RETURN(target, ReadLinkAt(dirfd, name, st));
    }
    UniqueFd data;
    Xattrs xs;
    if (S_ISREG(st.st_mode) && hardlink.empty() && st.st_size > 0) {
      // One open for the xattrs and the content.
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoError("open " + rel);
      data.reset(fd);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      BLD_ASSIGN_OR_RETURN(xs, ListXattrsFd(fd));
    } else {
      BLD_ASSIGN_OR_RETURN(xs, XattrsAt(dirfd, name, st));
    }
    Status s = w_->Add(rel, st, target, hardlink, xs, data.get());
    if (!s.ok()) return std::move(s).error().Wrap(rel);
    return Ok();
  }

  LayerWriter* writer() { return w_; }

 private:
  LayerWriter* w_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + name);
  return UniqueFd(fd);
}

bool IsOpaque(int fd) {
  char v[2];
  for (const char* n : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    ssize_t k = ::fgetxattr(fd, n, v, sizeof v);
    if (k == 1 && v[0] == 'y') return true;
  }
  return false;
}

bool IsWhiteout(int dirfd, const std::string& name, const struct stat& st) {
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return true;
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    // Kernel >= 6.7 "xattr whiteouts" (used where mknod 0/0 is not allowed).
    std::string p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    char v[1];
    for (const char* n : {"trusted.overlay.whiteout", "user.overlay.whiteout"}) {
      if (::lgetxattr(p.c_str(), n, v, 0) >= 0) return true;
    }
  }
  return false;
}

// Walks an overlay upper dir.
Status WalkUpper(Emitter& em, int dirfd, const std::string& rel, dev_t dev) {
  BLD_ASSIGN_OR_RETURN(std::vector<Child> children, ReadDir(dirfd, rel.empty() ? "." : rel));
  std::vector<const Child*> whiteouts, rest;
  for (const auto& c : children) {
    if (IsWhiteout(dirfd, c.name, c.st)) {
      whiteouts.push_back(&c);
    } else {
      rest.push_back(&c);
    }
  }
  for (const Child* c : whiteouts) {
    BLD_TRY(em.writer()->AddMarker(Join(rel, ".wh." + c->name), em.writer()->Mtime(c->st)));
  }
  for (const Child* c : rest) {
    std::string crel = Join(rel, c->name);
    BLD_TRY(em.Emit(dirfd, c->name, crel, c->st));
    if (S_ISDIR(c->st.st_mode)) {
      if (c->st.st_dev != dev) continue;  // a mount inside the upper dir is not content
      BLD_ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(dirfd, c->name));
      if (IsOpaque(sub.get())) {
        BLD_TRY(em.writer()->AddMarker(Join(crel, std::string(kOpaqueMarker)),
                                       em.writer()->Mtime(c->st)));
      }
      BLD_TRY(WalkUpper(em, sub.get(), crel, dev));
    }
  }
  return Ok();
}

// Everything under an upper directory that has no lower counterpart.
Status WalkAll(Emitter& em, int dirfd, const std::string& rel, dev_t dev) {
  BLD_ASSIGN_OR_RETURN(std::vector<Child> children, ReadDir(dirfd, rel));
  for (const auto& c : children) {
    std::string crel = Join(rel, c.name);
    BLD_TRY(em.Emit(dirfd, c.name, crel, c.st));
    if (S_ISDIR(c.st.st_mode) && c.st.st_dev == dev) {
      BLD_ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(dirfd, c.name));
      BLD_TRY(WalkAll(em, sub.get(), crel, dev));
    }
  }
  return Ok();
}

Result<bool> SameContent(int ldir, int udir, const std::string& name, off_t size) {
  int lf = ::openat(ldir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (lf < 0) return ErrnoError("open " + name);
  UniqueFd l(lf);
  int uf = ::openat(udir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (uf < 0) return ErrnoError("open " + name);
  UniqueFd u(uf);
  std::vector<char> a(kBuf), b(kBuf);
  off_t left = size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<off_t>(left, kBuf));
    BLD_TRY(ReadExact(l.get(), a.data(), want, name));
    BLD_TRY(ReadExact(u.get(), b.data(), want, name));
    if (memcmp(a.data(), b.data(), want) != 0) return false;
    left -= static_cast<off_t>(want);
  }
  return true;
}

// True if `u` (upper) differs from `l` (lower), both non-directories or both directories.
Result<bool> Changed(int ldir, int udir, const std::string& name, const struct stat& l,
                     const struct stat& u) {
  if ((l.st_mode & S_IFMT) != (u.st_mode & S_IFMT)) return true;
  if ((l.st_mode & 07777) != (u.st_mode & 07777) || l.st_uid != u.st_uid || l.st_gid != u.st_gid) {
    return true;
  }
  if (S_ISREG(u.st_mode) && l.st_size != u.st_size) return true;
  if ((S_ISCHR(u.st_mode) || S_ISBLK(u.st_mode)) && l.st_rdev != u.st_rdev) return true;
  if (S_ISLNK(u.st_mode)) {
    BLD_ASSIGN_OR_RETURN(std::string lt, ReadLinkAt(ldir, name, l));
    BLD_ASSIGN_OR_RETURN(std::string ut, ReadLinkAt(udir, name, u));
    if (lt != ut) return true;
  }
  BLD_ASSIGN_OR_RETURN(Xattrs lx, XattrsAt(ldir, name, l));
  BLD_ASSIGN_OR_RETURN(Xattrs ux, XattrsAt(udir, name, u));
  if (lx != ux) return true;
  if (l.st_mtim.tv_sec == u.st_mtim.tv_sec && l.st_mtim.tv_nsec == u.st_mtim.tv_nsec) return false;
  // Only the mtime differs: same content is no change (a re-copied identical file).
  if (S_ISREG(u.st_mode)) {
    BLD_ASSIGN_OR_RETURN(bool same, SameContent(ldir, udir, name, u.st_size));
    return !same;
  }
  return S_ISDIR(u.st_mode);
}

Status WalkTrees(Emitter& em, int ldir, int udir, const std::string& rel, dev_t dev) {
  const std::string what = rel.empty() ? "." : rel;
  BLD_ASSIGN_OR_RETURN(std::vector<Child> lower, ReadDir(ldir, what));
  BLD_ASSIGN_OR_RETURN(std::vector<Child> upper, ReadDir(udir, what));
  // Whiteouts first.
  size_t j = 0;
  for (const auto& l : lower) {
    while (j < upper.size() && upper[j].name < l.name) ++j;
    if (j < upper.size() && upper[j].name == l.name) continue;
    BLD_TRY(em.writer()->AddMarker(Join(rel, ".wh." + l.name), em.writer()->Mtime(l.st)));
  }
  size_t i = 0;
  for (const auto& u : upper) {
    while (i < lower.size() && lower[i].name < u.name) ++i;
    const Child* l = (i < lower.size() && lower[i].name == u.name) ? &lower[i] : nullptr;
    std::string crel = Join(rel, u.name);
    bool udir_is = S_ISDIR(u.st.st_mode);
    if (!l) {
      BLD_TRY(em.Emit(udir, u.name, crel, u.st));
      if (udir_is && u.st.st_dev == dev) {
        BLD_ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(udir, u.name));
        BLD_TRY(WalkAll(em, sub.get(), crel, dev));
      }
      continue;
    }
    bool both_dirs = udir_is && S_ISDIR(l->st.st_mode);
    BLD_ASSIGN_OR_RETURN(bool changed, Changed(ldir, udir, u.name, l->st, u.st));
    if (changed) BLD_TRY(em.Emit(udir, u.name, crel, u.st));
    if (!udir_is || u.st.st_dev != dev) continue;
    BLD_ASSIGN_OR_RETURN(UniqueFd usub, OpenDirAt(udir, u.name));
    if (both_dirs) {
      BLD_ASSIGN_OR_RETURN(UniqueFd lsub, OpenDirAt(ldir, u.name));
      BLD_TRY(WalkTrees(em, lsub.get(), usub.get(), crel, dev));
    } else {
      BLD_TRY(WalkAll(em, usub.get(), crel, dev));
    }
  }
  return Ok();
}

Result<UniqueFd> OpenRoot(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + dir);
  return UniqueFd(fd);
}

Result<DiffResult> StoreDiff(const oci::Store& store,
                             const std::function<Result<DiffResult>(const ByteSink&)>& run) {
  BLD_ASSIGN_OR_RETURN(std::unique_ptr<oci::BlobWriter> w, store.Ingest());
  oci::BlobWriter* wp = w.get();
  BLD_ASSIGN_OR_RETURN(DiffResult r,
                       run([wp](const void* p, size_t n) { return wp->Write(p, n); }));
  BLD_TRY_WRAP(w->Commit(r.descriptor.digest, r.descriptor.size), "store layer");
  return r;
}

}  // namespace

Result<DiffResult> DiffUpperDir(const std::string& upper_dir, const DiffOptions& options,
                                const ByteSink& blob_out) {
  ScopedUtf8Locale utf8;
  BLD_ASSIGN_OR_RETURN(UniqueFd root, OpenRoot(upper_dir));
  struct stat st;
  if (::fstat(root.get(), &st) < 0) return ErrnoError("stat " + upper_dir);
  LayerWriter w(options, blob_out);
  BLD_TRY(w.Open());
  Emitter em(&w);
  if (IsOpaque(root.get())) BLD_TRY(w.AddMarker(std::string(kOpaqueMarker), w.Mtime(st)));
  BLD_TRY_WRAP(WalkUpper(em, root.get(), "", st.st_dev), "diff " + upper_dir);
  return w.Finish();
}

Result<DiffResult> DiffTrees(const std::string& lower, const std::string& upper,
                             const DiffOptions& options, const ByteSink& blob_out) {
  ScopedUtf8Locale utf8;
  BLD_ASSIGN_OR_RETURN(UniqueFd uroot, OpenRoot(upper));
  struct stat st;
  if (::fstat(uroot.get(), &st) < 0) return ErrnoError("stat " + upper);
  LayerWriter w(options, blob_out);
  BLD_TRY(w.Open());
  Emitter em(&w);
  if (lower.empty()) {
    BLD_TRY_WRAP(WalkAll(em, uroot.get(), "", st.st_dev), "diff " + upper);
  } else {
    BLD_ASSIGN_OR_RETURN(UniqueFd lroot, OpenRoot(lower));
    BLD_TRY_WRAP(WalkTrees(em, lroot.get(), uroot.get(), "", st.st_dev),
                 "diff " + lower + " -> " + upper);
  }
  return w.Finish();
}

Result<DiffResult> DiffUpperDir(const std::string& upper_dir, const DiffOptions& options,
                                const oci::Store& store) {
  return StoreDiff(store,
                   [&](const ByteSink& sink) { return DiffUpperDir(upper_dir, options, sink); });
}

Result<DiffResult> DiffTrees(const std::string& lower, const std::string& upper,
                             const DiffOptions& options, const oci::Store& store) {
  return StoreDiff(store,
                   [&](const ByteSink& sink) { return DiffTrees(lower, upper, options, sink); });
}

}  // namespace bld::snapshot
