#include "snapshot/apply.h"

#include "base/in_root.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "base/userns.h"
#include "snapshot/fsutil.h"

namespace bld::snapshot {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr size_t kReadBuf = 256 * 1024;

// Splits a tar entry name into clean components. Empty result = the root itself.
Result<std::vector<std::string>> CleanPath(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("empty path");
  if (name[0] == '/') return InvalidArgumentError("absolute path");
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    if (c == "..") return InvalidArgumentError("path contains '..'");
    if (!c.empty() && c != ".") {
      if (c.size() > NAME_MAX) return InvalidArgumentError("path component longer than NAME_MAX");
      parts.emplace_back(c);
    }
    i = j + 1;
  }
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += '/';
    s += parts[i];
  }
  return s;
}

// Names as raw bytes. In the C locale libarchive cannot convert a UTF-8 pax name to the
// locale's charset and returns NULL from the plain getter; the UTF-8 form is then the bytes.
const char* EntryPath(archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  return p ? p : archive_entry_pathname_utf8(e);
}
const char* EntryHardlink(archive_entry* e) {
  const char* p = archive_entry_hardlink(e);
  return p ? p : archive_entry_hardlink_utf8(e);
}
const char* EntrySymlink(archive_entry* e) {
  const char* p = archive_entry_symlink(e);
  return p ? p : archive_entry_symlink_utf8(e);
}

struct DeferredDir {
  std::string path;  // relative to root; "" is the root
  mode_t mode;
  timespec mtime;
};

class Applier {
 public:
  Applier(int root_fd, const ApplyOptions& o) : root_(root_fd), o_(o) {}

  Status Init() {
    if (o_.under.empty()) return Ok();
    if (!o_.links_in_root) return InvalidArgumentError("apply: `under` needs links_in_root");
    std::string_view u = o_.under;
    while (u.starts_with("/")) u.remove_prefix(1);
    if (u.empty()) return Ok();
    BLD_ASSIGN_OR_RETURN(under_, CleanPath(u));
    return Ok();
  }

  Status Entry(archive* a, archive_entry* e) {
    const char* raw = EntryPath(e);
    if (!raw) return InvalidArgumentError("entry with an unreadable path name");
    std::string name = raw;
    auto parts_r = CleanPath(name);
    if (!parts_r.ok()) return parts_r.error().Wrap("entry " + name);
    std::vector<std::string> parts = std::move(parts_r).value();
    if (!under_.empty()) {
      if (parts.empty()) return Ok();  // the archive's "./": the destination stays as it is
      parts.insert(parts.begin(), under_.begin(), under_.end());
    }
    Status s = EntryAt(a, e, name, parts);
    if (!s.ok()) return std::move(s).error().Wrap("entry " + name);
    return Ok();
  }

  Status Finish() {
    // Directories' modes and mtimes, deepest first (children change them, and a read-only
    // directory must stay writable while it is filled).
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      UniqueFd fd;
      if (it->path.empty()) {
        int d = ::fcntl(root_, F_DUPFD_CLOEXEC, 0);
        if (d < 0) return ErrnoError("dup");
        fd.reset(d);
      } else {
        BLD_ASSIGN_OR_RETURN(fd, OpenDir(it->path));
      }
      if (::fchmod(fd.get(), it->mode) < 0) return ErrnoError("chmod " + it->path);
      timespec times[2] = {it->mtime, it->mtime};
      if (::futimens(fd.get(), times) < 0) return ErrnoError("utimes " + it->path);
    }
    return Ok();
  }

 private:
  // A directory of the target: never through a symlink, or (links_in_root) through
  // symlinks followed inside the target as root.
  Result<UniqueFd> OpenDir(const std::string& rel) {
    if (o_.links_in_root) return OpenInRoot(root_, rel, O_RDONLY | O_DIRECTORY);
    return OpenBeneath(root_, rel, O_RDONLY | O_DIRECTORY);
  }

  // Opens the directory holding parts[0..n) (creating missing directories 0755), never
  // through a symlink.
  Result<int> Parent(const std::vector<std::string>& parts, size_t n, bool create) {
    if (n == 0) return root_;
    std::string path = JoinParts(parts, n);
    if (parent_fd_.valid() && parent_path_ == path) return parent_fd_.get();
    parent_fd_.reset();
    if (o_.links_in_root) {
      // ADD: symlinks among the parents are followed inside the root (lib -> usr/lib).
      auto d = MkdirAllInRoot(root_, path, 0755, 0, 0);
      if (!d.ok()) return d.error().Wrap("parent " + path);
      parent_fd_ = std::move(d).value();
      parent_path_ = path;
      return parent_fd_.get();
    }
    auto fd = OpenBeneath(root_, path, O_RDONLY | O_DIRECTORY);
    if (!fd.ok() && fd.error().sys_errno() == ENOENT && create) {
      // Walk and create the missing components one at a time.
      UniqueFd cur;
      int curfd = root_;
      for (size_t i = 0; i < n; ++i) {
        auto next = OpenBeneath(curfd, parts[i], O_RDONLY | O_DIRECTORY);
        if (!next.ok() && next.error().sys_errno() == ENOENT) {
          if (::mkdirat(curfd, parts[i].c_str(), 0755) < 0 && errno != EEXIST) {
            return ErrnoError("mkdir " + JoinParts(parts, i + 1));
          }
          created_.insert(JoinParts(parts, i + 1));
          next = OpenBeneath(curfd, parts[i], O_RDONLY | O_DIRECTORY);
        }
        if (!next.ok()) return ParentError(next.error(), JoinParts(parts, i + 1));
        cur = std::move(next).value();
        curfd = cur.get();
      }
      fd = std::move(cur);
    }
    if (!fd.ok()) return ParentError(fd.error(), path);
    parent_fd_ = std::move(fd).value();
    parent_path_ = path;
    return parent_fd_.get();
  }

  static Error ParentError(const Error& e, const std::string& path) {
    if (e.sys_errno() == ELOOP) {
      return InvalidArgumentError("parent " + path + " is a symlink: refusing to write through it");
    }
    if (e.sys_errno() == ENOTDIR)
      return InvalidArgumentError("parent " + path + " is not a directory");
    if (e.sys_errno() == EXDEV)
      return InvalidArgumentError("parent " + path + " leaves the target");
    return e;
  }

  void InvalidateParent() {
    parent_fd_.reset();
    parent_path_.clear();
  }

  Status EntryAt(archive* a, archive_entry* e, const std::string& name,
                 const std::vector<std::string>& parts) {
    if (parts.empty()) {
      // The root itself ("./"): only a directory makes sense.
      if (archive_entry_filetype(e) != AE_IFDIR || EntryHardlink(e)) {
        return InvalidArgumentError("the root of a layer must be a directory");
      }
      return Metadata(e, root_, "", /*is_dir=*/true);
    }
    const std::string& base = parts.back();
    std::string rel = JoinParts(parts, parts.size());
    if (base.rfind(kWhiteoutPrefix, 0) == 0) return Whiteout(parts, base);

    BLD_ASSIGN_OR_RETURN(int pfd, Parent(parts, parts.size() - 1, true));
    const char* hardlink = EntryHardlink(e);
    mode_t type = archive_entry_filetype(e);
    bool is_dir = !hardlink && type == AE_IFDIR;

    // What is there already?
    struct stat st;
    bool replaces_whiteout = false;
    if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      bool ours = created_.count(rel) > 0;
      bool whiteout = whiteouts_.count(rel) > 0;
      replaces_whiteout = whiteout;
      if (is_dir && S_ISLNK(st.st_mode) && o_.links_in_root &&
          OpenInRoot(root_, rel, O_PATH | O_DIRECTORY).ok()) {
        // ADD: a directory entry over a symlink to a directory keeps the link (Docker);
        // what the tar has below it goes to the link's target, inside the root.
        return Ok();
      }
      if (ours && !whiteout) {
        if (!(is_dir && S_ISDIR(st.st_mode))) return InvalidArgumentError("duplicate entry");
      } else if (!(is_dir && S_ISDIR(st.st_mode))) {
        // A lower layer's entry (copy snapshotter) or this layer's whiteout: replace.
        BLD_TRY(RemoveAt(pfd, base));
        whiteouts_.erase(rel);
        InvalidateParentIfUnder(rel);
      }
    } else if (errno != ENOENT) {
      return ErrnoError("stat");
    }
    created_.insert(rel);

    if (hardlink) return Hardlink(pfd, base, hardlink);

    switch (type) {
      case AE_IFDIR: {
        if (::mkdirat(pfd, base.c_str(), 0700) < 0 && errno != EEXIST) return ErrnoError("mkdir");
        BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenBeneath(pfd, base, O_RDONLY | O_DIRECTORY));
        // Deleted and re-created in this layer: in an overlay upper dir the new directory
        // must not show the lower one's contents.
        if (replaces_whiteout) BLD_TRY(Opaque(fd.get(), rel));
        return Metadata(e, fd.get(), rel, /*is_dir=*/true);
      }
      case AE_IFREG: {
        BLD_ASSIGN_OR_RETURN(UniqueFd fd,
                             OpenBeneath(pfd, base, O_WRONLY | O_CREAT | O_EXCL, 0600));
        BLD_TRY(WriteData(a, fd.get(), archive_entry_size(e)));
        return Metadata(e, fd.get(), rel, /*is_dir=*/false);
      }
      case AE_IFLNK: {
        const char* target = EntrySymlink(e);
        if (!target) return InvalidArgumentError("symlink without a target");
        if (::symlinkat(target, pfd, base.c_str()) < 0) return ErrnoError("symlink");
        return NamedMetadata(e, pfd, base, /*is_link=*/true);
      }
      case AE_IFCHR:
      case AE_IFBLK: {
        mode_t m = (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600;
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(pfd, base.c_str(), m, dev) < 0) {
          if (errno == EPERM) {
            BLD_LOG(kWarn) << "apply layer: skipping device node " << rel
                           << " (not permitted to create device nodes here)";
            created_.erase(rel);
            return Ok();
          }
          return ErrnoError("mknod");
        }
        return NamedMetadata(e, pfd, base, false);
      }
      case AE_IFIFO: {
        if (::mkfifoat(pfd, base.c_str(), 0600) < 0) return ErrnoError("mkfifo");
        return NamedMetadata(e, pfd, base, false);
      }
      case AE_IFSOCK:
        return InvalidArgumentError("sockets cannot be stored in a layer");
      default:
        return InvalidArgumentError("unknown entry type " + std::to_string(type));
    }
  }

  void InvalidateParentIfUnder(const std::string& rel) {
    if (parent_path_ == rel || parent_path_.rfind(rel + "/", 0) == 0) InvalidateParent();
  }

  Status Whiteout(const std::vector<std::string>& parts, const std::string& base) {
    BLD_ASSIGN_OR_RETURN(int pfd, Parent(parts, parts.size() - 1, true));
    std::string dir = JoinParts(parts, parts.size() - 1);
    if (base == kOpaqueMarker) return Opaque(pfd, dir);
    if (base.rfind(kWhiteoutMetaPrefix, 0) == 0) {
      // Other AUFS metadata (.wh..wh.plnk, ...): not content.
      return Ok();
    }
    std::string victim = base.substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == "..") {
      return InvalidArgumentError("malformed whiteout");
    }
    std::string rel = dir.empty() ? victim : dir + "/" + victim;
    if (created_.count(rel) && !whiteouts_.count(rel)) {
      // Whiteouts only hide lower layers; this layer's own entry stays (image-spec).
      return Ok();
    }
    if (whiteouts_.count(rel)) return InvalidArgumentError("duplicate whiteout");
    BLD_TRY(RemoveAt(pfd, victim));
    InvalidateParentIfUnder(rel);
    if (o_.whiteouts == WhiteoutStyle::kDelete) return Ok();
    if (::mknodat(pfd, victim.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) {
      return ErrnoError("create overlay whiteout " + rel);
    }
    whiteouts_.insert(rel);
    created_.insert(rel);
    return Ok();
  }

  Status Opaque(int dirfd, const std::string& dir) {
    if (o_.whiteouts == WhiteoutStyle::kDelete) {
      // Remove everything a lower layer put here; keep what this layer added.
      int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0) return ErrnoError("dup");
      DIR* d = ::fdopendir(dup);
      if (!d) {
        ::close(dup);
        return ErrnoError("opendir " + dir);
      }
      std::vector<std::string> victims;
      while (dirent* de = ::readdir(d)) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        std::string rel = dir.empty() ? de->d_name : dir + "/" + de->d_name;
        if (!created_.count(rel)) victims.emplace_back(de->d_name);
      }
      ::closedir(d);
      for (const auto& v : victims) {
        BLD_TRY(RemoveAt(dirfd, v));
        InvalidateParentIfUnder(dir.empty() ? v : dir + "/" + v);
      }
      return Ok();
    }
    const char* xattr =
        o_.whiteouts == WhiteoutStyle::kOverlay ? "trusted.overlay.opaque" : "user.overlay.opaque";
    if (::fsetxattr(dirfd, xattr, "y", 1, 0) < 0) {
      return ErrnoError(std::string("mark ") + (dir.empty() ? "/" : dir) + " opaque (" + xattr +
                        ")");
    }
    return Ok();
  }

  Status Hardlink(int pfd, const std::string& base, const char* target) {
    auto tparts = CleanPath(target);
    if (!tparts.ok()) return tparts.error().Wrap(std::string("hardlink target ") + target);
    if (tparts->empty()) return InvalidArgumentError("hardlink to the root");
    tparts->insert(tparts->begin(), under_.begin(), under_.end());
    std::string trel = JoinParts(*tparts, tparts->size());
    if (whiteouts_.count(trel))
      return InvalidArgumentError("hardlink target " + trel + " is a whiteout");
    // Resolve the target's directory without following symlinks (and without the cache,
    // which holds this entry's parent).
    UniqueFd tdir;
    int tdirfd = root_;
    if (tparts->size() > 1) {
      auto r = OpenDir(JoinParts(*tparts, tparts->size() - 1));
      if (!r.ok()) {
        if (r.error().sys_errno() == ENOENT) {
          return InvalidArgumentError("hardlink target " + trel + " does not exist");
        }
        return ParentError(r.error(), JoinParts(*tparts, tparts->size() - 1))
            .Wrap("hardlink target " + trel);
      }
      tdir = std::move(r).value();
      tdirfd = tdir.get();
    }
    struct stat st;
    if (::fstatat(tdirfd, tparts->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        return InvalidArgumentError("hardlink target " + trel + " does not exist");
      return ErrnoError("stat hardlink target " + trel);
    }
    if (S_ISDIR(st.st_mode))
      return InvalidArgumentError("hardlink target " + trel + " is a directory");
    if (::linkat(tdirfd, tparts->back().c_str(), pfd, base.c_str(), 0) < 0) {
      return ErrnoError("link to " + trel);
    }
    return Ok();
  }

  Status WriteData(archive* a, int fd, int64_t size) {
    const void* buf;
    size_t len;
    la_int64_t off;
    bool sparse = false;
    int64_t pos = 0;
    for (;;) {
      int r = archive_read_data_block(a, &buf, &len, &off);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        return InvalidArgumentError(std::string("read tar data: ") + archive_error_string(a));
      }
      if (off != pos) sparse = true;
      const char* p = static_cast<const char*>(buf);
      size_t left = len;
      int64_t o = off;
      while (left > 0) {
        ssize_t w = ::pwrite(fd, p, left, o);
        if (w < 0) {
          if (errno == EINTR) continue;
          return ErrnoError("write");
        }
        p += w;
        left -= static_cast<size_t>(w);
        o += w;
      }
      pos = off + static_cast<int64_t>(len);
    }
    if ((sparse || pos != size) && ::ftruncate(fd, size) < 0) return ErrnoError("truncate");
    return Ok();
  }

  // The owner to give an entry. Rootless, ids that bld's user namespace does not map cannot
  // be set (EINVAL): such an id is left as the caller's (-1: the creator, root of the
  // namespace), ownership squashed. A single-id namespace squashes everything, and bld said
  // so once when it entered it; otherwise the first squashed id of a process is a warning.
  // ADD --chown (options.owner) overrides the tar's owners.
  std::pair<uid_t, gid_t> Owner(archive_entry* e, const std::string& what) {
    uid_t uid = o_.owner ? o_.owner->first : static_cast<uid_t>(archive_entry_uid(e));
    gid_t gid = o_.owner ? o_.owner->second : static_cast<gid_t>(archive_entry_gid(e));
    bool uid_ok = UidMapped(uid), gid_ok = GidMapped(gid);
    if (uid_ok && gid_ok) return {uid, gid};
    static std::atomic<bool> warned{false};
    if (MappedUidCount() > 1 && !warned.exchange(true)) {
      BLD_LOG(kWarn) << "apply layer: " << what << " is owned by " << uid << ":" << gid
                     << ", which bld's user namespace does not map: owned by root instead "
                        "(this and any other such file; widen the ranges in /etc/subuid and "
                        "/etc/subgid)";
    }
    return {uid_ok ? uid : static_cast<uid_t>(-1), gid_ok ? gid : static_cast<gid_t>(-1)};
  }

  // Owner, mode, xattrs, mtime of an open file or directory.
  Status Metadata(archive_entry* e, int fd, const std::string& rel, bool is_dir) {
    if (!o_.ignore_ownership) {
      auto [uid, gid] = Owner(e, rel);
      if (::fchown(fd, uid, gid) < 0) return ErrnoError("chown");
    }
    mode_t mode = archive_entry_perm(e) & 07777;
    timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (is_dir) {
      dirs_.push_back({rel, mode, mtime});
    } else if (::fchmod(fd, mode) < 0) {
      return ErrnoError("chmod");
    }
    BLD_TRY(Xattrs(
        e, [fd](const char* n, const void* v, size_t s) { return ::fsetxattr(fd, n, v, s, 0); }));
    if (!is_dir) {
      timespec times[2] = {mtime, mtime};
      if (::futimens(fd, times) < 0) return ErrnoError("utimes");
    }
    return Ok();
  }

  // Same for symlinks, devices and fifos, addressed by name (never opened).
  Status NamedMetadata(archive_entry* e, int pfd, const std::string& base, bool is_link) {
    if (!o_.ignore_ownership) {
      auto [uid, gid] = Owner(e, base);
      if (::fchownat(pfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
        return ErrnoError("chown");
      }
    }
    if (!is_link && ::fchmodat(pfd, base.c_str(), archive_entry_perm(e) & 07777, 0) < 0) {
      return ErrnoError("chmod");
    }
    std::string path = "/proc/self/fd/" + std::to_string(pfd) + "/" + base;
    BLD_TRY(Xattrs(e, [&path](const char* n, const void* v, size_t s) {
      return ::lsetxattr(path.c_str(), n, v, s, 0);
    }));
    timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    timespec times[2] = {mtime, mtime};
    if (::utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) return ErrnoError("utimes");
    return Ok();
  }

  template <typename F>
  Status Xattrs(archive_entry* e, F set) {
    if (archive_entry_xattr_reset(e) == 0) return Ok();
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      std::string n = name;
      if (IsOverlayXattr(n)) {
        BLD_LOG(kDebug) << "apply layer: dropping overlay-internal xattr " << n;
        continue;
      }
      if (set(name, value, size) < 0) return ErrnoError("setxattr " + n);
    }
    return Ok();
  }

  int root_;
  const ApplyOptions& o_;
  std::vector<std::string> under_;  // o_.under's components
  UniqueFd parent_fd_;
  std::string parent_path_;
  std::unordered_set<std::string> created_;    // paths this layer created
  std::unordered_set<std::string> whiteouts_;  // overlay whiteouts this layer created
  std::vector<DeferredDir> dirs_;
};

// Streams blob -> (sha256 of blob) -> decompress -> (sha256 of tar) -> libarchive.
struct Stream {
  ByteSource blob;
  oci::Sha256 blob_hash;
  int64_t blob_size = 0;
  std::string head;  // bytes read to sniff the compression, served first
  size_t head_pos = 0;
  std::unique_ptr<Decompressor> dec;
  oci::Sha256 tar_hash;
  int64_t tar_size = 0;
  std::vector<char> buf = std::vector<char>(kReadBuf);
  std::optional<Error> error;

  Result<size_t> ReadBlob(void* p, size_t n) {
    if (head_pos < head.size()) {
      size_t k = std::min(n, head.size() - head_pos);
      memcpy(p, head.data() + head_pos, k);
      head_pos += k;
      return k;
    }
    BLD_ASSIGN_OR_RETURN(size_t k, blob(p, n));
    blob_hash.Update(p, k);
    blob_size += static_cast<int64_t>(k);
    return k;
  }

  Result<size_t> ReadTar(void* p, size_t n) {
    BLD_ASSIGN_OR_RETURN(size_t k, dec->Read(p, n));
    tar_hash.Update(p, k);
    tar_size += static_cast<int64_t>(k);
    return k;
  }

  // The tar, decompressed and hashed on a thread of its own (ReadTar), for libarchive.
  std::unique_ptr<ReadAhead> ahead;
  int64_t delivered = 0;  // tar bytes given to libarchive (reader's thread)

  static la_ssize_t ArchiveRead(archive*, void* ctx, const void** out) {
    auto* s = static_cast<Stream*>(ctx);
    auto r = s->ahead->Next();
    if (!r.ok()) {
      s->error = r.error();
      return -1;
    }
    *out = r->data();
    s->delivered += static_cast<int64_t>(r->size());
    return static_cast<la_ssize_t>(r->size());
  }
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

Result<ApplyResult> Apply(ByteSource blob, const std::string& target_dir,
                          const ApplyOptions& options) {
  ScopedUtf8Locale utf8;
  int rfd = ::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0) return ErrnoError("apply layer: open target " + target_dir);
  UniqueFd root(rfd);

  auto s = std::make_unique<Stream>();
  s->blob = std::move(blob);
  // Sniff the compression from the first bytes.
  {
    std::string head(8, '\0');
    size_t got = 0;
    while (got < head.size()) {
      BLD_ASSIGN_OR_RETURN(size_t k, s->blob(head.data() + got, head.size() - got));
      if (k == 0) break;
      got += k;
    }
    head.resize(got);
    s->blob_hash.Update(head);
    s->blob_size = static_cast<int64_t>(got);
    s->head = std::move(head);
  }
  oci::Compression sniffed = SniffCompression(s->head);
  oci::Compression c = options.compression.value_or(sniffed);
  if (options.compression && sniffed != *options.compression &&
      (sniffed != oci::Compression::kNone || *options.compression != oci::Compression::kNone)) {
    return InvalidArgumentError(std::string("apply layer: declared compression ") +
                                std::string(CompressionName(*options.compression)) +
                                " but the blob is " + std::string(CompressionName(sniffed)));
  }
  Stream* sp = s.get();
  BLD_ASSIGN_OR_RETURN(
      s->dec, Decompressor::Create(c, [sp](void* p, size_t n) { return sp->ReadBlob(p, n); }));

  s->ahead =
      std::make_unique<ReadAhead>([sp](void* p, size_t n) { return sp->ReadTar(p, n); }, kReadBuf);

  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) return InternalError("apply layer: archive_read_new failed");
  archive_read_support_format_tar(a.get());
  if (options.archive_filters) archive_read_support_filter_all(a.get());
  if (archive_read_open(a.get(), sp, nullptr, &Stream::ArchiveRead, nullptr) != ARCHIVE_OK) {
    if (sp->error) return sp->error->Wrap("apply layer");
    return InvalidArgumentError(std::string("apply layer: ") + archive_error_string(a.get()));
  }

  // Entry errors name the target directory: where a full or failing disk is.
  const std::string applying = "apply layer to " + target_dir;
  Applier applier(root.get(), options);
  BLD_TRY_WRAP(applier.Init(), applying);
  ApplyResult result;
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (sp->error) return sp->error->Wrap("apply layer");
      // An empty stream is an empty layer.
      if (sp->delivered == 0 && result.entries == 0) break;
      return InvalidArgumentError(std::string("apply layer: read tar: ") +
                                  archive_error_string(a.get()));
    }
    BLD_TRY_WRAP(applier.Entry(a.get(), e), applying);
    ++result.entries;
  }
  BLD_TRY_WRAP(applier.Finish(), applying);
  // Hash whatever follows the end-of-archive marker, so the diff ID covers the whole stream.
  for (;;) {
    BLD_ASSIGN_OR_RETURN(std::string_view k, sp->ahead->Next());
    if (k.empty()) break;
  }
  // And the rest of the blob (a decompressor stops at its end marker); the read-ahead
  // thread no longer touches the stream.
  for (;;) {
    BLD_ASSIGN_OR_RETURN(size_t k, sp->ReadBlob(sp->buf.data(), sp->buf.size()));
    if (k == 0) break;
    if (c != oci::Compression::kNone) {
      return InvalidArgumentError("apply layer: trailing data after the compressed stream");
    }
  }
  result.diff_id = sp->tar_hash.Finish();
  result.digest = sp->blob_hash.Finish();
  result.size = sp->blob_size;
  result.uncompressed_size = sp->tar_size;
  if (options.expected_digest && *options.expected_digest != result.digest) {
    return InvalidArgumentError("apply layer: blob digest mismatch: expected " +
                                options.expected_digest->str() + ", got " + result.digest.str());
  }
  if (options.expected_diff_id && *options.expected_diff_id != result.diff_id) {
    return InvalidArgumentError("apply layer: diff ID mismatch: expected " +
                                options.expected_diff_id->str() + ", got " + result.diff_id.str());
  }
  return result;
}

Result<ApplyResult> ApplyFd(int blob_fd, const std::string& target_dir,
                            const ApplyOptions& options) {
  return Apply(
      [blob_fd](void* p, size_t n) -> Result<size_t> {
        for (;;) {
          ssize_t k = ::read(blob_fd, p, n);
          if (k >= 0) return static_cast<size_t>(k);
          if (errno != EINTR) return ErrnoError("read layer blob");
        }
      },
      target_dir, options);
}

}  // namespace bld::snapshot
