#include "snapshot/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <locale.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

namespace bld::snapshot {

Result<UniqueFd> OpenBeneath(int dirfd, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return ErrnoError("open " + path);
  }
}

namespace {

Status RemoveChildren(int dirfd, const std::string& what) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoError("dup");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return ErrnoError("opendir " + what);
  }
  std::vector<std::pair<std::string, bool>> names;
  while (dirent* e = ::readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    names.emplace_back(e->d_name, e->d_type == DT_DIR);
  }
  ::closedir(d);
  for (auto& [name, is_dir] : names) {
    BLD_TRY(RemoveAt(dirfd, name));
  }
  return Ok();
}

}  // namespace

Status RemoveAt(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0) return Ok();
  if (errno == ENOENT) return Ok();
  if (errno != EISDIR && errno != EPERM) return ErrnoError("remove " + name);
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + name);
  UniqueFd child(fd);
  struct stat parent_st, child_st;
  if (::fstat(dirfd, &parent_st) == 0 && ::fstat(child.get(), &child_st) == 0 &&
      parent_st.st_dev != child_st.st_dev) {
    return PosixError("remove " + name + ": is a mount point", EBUSY);
  }
  // A directory without write/search permission (mode 0555 etc.) must be opened up first.
  ::fchmod(child.get(), 0700);
  BLD_TRY_WRAP(RemoveChildren(child.get(), name), "remove " + name);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return ErrnoError("remove " + name);
  }
  return Ok();
}

namespace {

Result<Xattrs> ReadXattrs(const std::function<ssize_t(char*, size_t)>& list,
                          const std::function<ssize_t(const char*, void*, size_t)>& get,
                          const std::string& what) {
  Xattrs out;
  std::vector<char> names(1024);
  ssize_t n;
  for (;;) {
    n = list(names.data(), names.size());
    if (n >= 0) break;
    if (errno == ERANGE) {
      names.resize(names.size() * 4);
      continue;
    }
    if (errno == ENOTSUP) return out;
    return ErrnoError("listxattr " + what);
  }
  std::vector<char> value(256);
  for (ssize_t i = 0; i < n;) {
    std::string name(names.data() + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    ssize_t v;
    for (;;) {
      v = get(name.c_str(), value.data(), value.size());
      if (v >= 0) break;
      if (errno == ERANGE) {
        value.resize(value.size() * 4);
        continue;
      }
      break;
    }
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return ErrnoError("getxattr " + what + " " + name);
    }
    out.emplace_back(std::move(name), std::string(value.data(), static_cast<size_t>(v)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<Xattrs> ListXattrsFd(int fd) {
  return ReadXattrs(
      [fd](char* b, size_t n) { return ::flistxattr(fd, b, n); },
      [fd](const char* name, void* b, size_t n) { return ::fgetxattr(fd, name, b, n); },
      "fd " + std::to_string(fd));
}

Result<Xattrs> ListXattrsPath(const std::string& path) {
  return ReadXattrs([&path](char* b, size_t n) { return ::llistxattr(path.c_str(), b, n); },
                    [&path](const char* name, void* b, size_t n) {
                      return ::lgetxattr(path.c_str(), name, b, n);
                    },
                    path);
}

ScopedUtf8Locale::ScopedUtf8Locale() {
  static locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (utf8) old_ = ::uselocale(utf8);
}

ScopedUtf8Locale::~ScopedUtf8Locale() {
  if (old_) ::uselocale(static_cast<locale_t>(old_));
}

bool IsOverlayXattr(const std::string& name) {
  return name.rfind("trusted.overlay.", 0) == 0 || name.rfind("user.overlay.", 0) == 0;
}

Status CopyFileData(int in, int out, off_t size, const std::string& what) {
  if (size == 0) return Ok();
  if (::ioctl(out, FICLONE, in) == 0) return Ok();
  off_t done = 0;
  while (done < size) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(size - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
      return ErrnoError("copy " + what);
    }
    if (n == 0) break;
    done += n;
  }
  if (done >= size) return Ok();
  // Fallback: plain read/write from where copy_file_range stopped.
  std::vector<char> buf(1 << 20);
  if (::lseek(in, done, SEEK_SET) < 0 || ::lseek(out, done, SEEK_SET) < 0) {
    return ErrnoError("seek " + what);
  }
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + what);
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write " + what);
      }
      off += w;
    }
  }
  return Ok();
}

Status CopyXattrsFd(int in, int out, const std::string& what) {
  BLD_ASSIGN_OR_RETURN(Xattrs xs, ListXattrsFd(in));
  for (auto& [name, value] : xs) {
    if (IsOverlayXattr(name)) continue;
    if (::fsetxattr(out, name.c_str(), value.data(), value.size(), 0) < 0) {
      // SELinux labels are the host's policy, not the file's: Docker drops them too.
      if (name == "security.selinux") continue;
      return ErrnoError("setxattr " + what + " " + name);
    }
  }
  return Ok();
}

namespace {

struct DirTimes {
  std::string path;
  timespec times[2];
  mode_t mode;
};

class TreeCopier {
 public:
  explicit TreeCopier(const CopyTreeOptions& o) : o_(o) {}
  Status Copy(const std::string& src, const std::string& dst) {
    BLD_TRY(CopyDir(src, dst, /*create=*/false));
    // Directory modes and times last (children change them; read-only dirs block writes).
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      if (::chmod(it->path.c_str(), it->mode) < 0) return ErrnoError("chmod " + it->path);
      if (::utimensat(AT_FDCWD, it->path.c_str(), it->times, AT_SYMLINK_NOFOLLOW) < 0) {
        return ErrnoError("utimes " + it->path);
      }
    }
    return Ok();
  }

 private:
  Status Meta(const std::string& src, const std::string& dst, const struct stat& st, bool link) {
    uid_t uid = o_.owner ? o_.owner->first : st.st_uid;
    gid_t gid = o_.owner ? o_.owner->second : st.st_gid;
    if (::lchown(dst.c_str(), uid, gid) < 0 && geteuid() == 0) {
      return ErrnoError("chown " + dst);
    }
    if (!link && !S_ISDIR(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) < 0) {
      return ErrnoError("chmod " + dst);
    }
    BLD_ASSIGN_OR_RETURN(Xattrs xs, ListXattrsPath(src));
    for (auto& [name, value] : xs) {
      if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) < 0) {
        return ErrnoError("setxattr " + dst + " " + name);
      }
    }
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
      dirs_.push_back({dst, {times[0], times[1]}, static_cast<mode_t>(st.st_mode & 07777)});
    } else if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) {
      return ErrnoError("utimes " + dst);
    }
    return Ok();
  }

  Status CopyDir(const std::string& src, const std::string& dst, bool create) {
    struct stat st;
    if (::lstat(src.c_str(), &st) < 0) return ErrnoError("stat " + src);
    if (::mkdir(dst.c_str(), 0700) < 0 && (create || errno != EEXIST)) {
      return ErrnoError("mkdir " + dst);
    }
    ::chmod(dst.c_str(), 0700);
    BLD_TRY(Meta(src, dst, st, false));
    DIR* d = ::opendir(src.c_str());
    if (!d) return ErrnoError("opendir " + src);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    for (const auto& name : names) {
      std::string s = src + "/" + name, t = dst + "/" + name;
      struct stat cst;
      if (::lstat(s.c_str(), &cst) < 0) return ErrnoError("stat " + s);
      if (S_ISDIR(cst.st_mode)) {
        if (cst.st_dev != st.st_dev) continue;  // never copy another mount's contents
        BLD_TRY(CopyDir(s, t, true));
        continue;
      }
      if (!S_ISDIR(cst.st_mode) && cst.st_nlink > 1) {
        auto key = std::make_pair(cst.st_dev, cst.st_ino);
        auto it = links_.find(key);
        if (it != links_.end()) {
          if (::link(it->second.c_str(), t.c_str()) < 0) return ErrnoError("link " + t);
          continue;
        }
        links_.emplace(key, t);
      }
      if (S_ISREG(cst.st_mode)) {
        int in = ::open(s.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0) return ErrnoError("open " + s);
        UniqueFd infd(in);
        int out = ::open(t.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0) return ErrnoError("create " + t);
        UniqueFd outfd(out);
        BLD_TRY(CopyFileData(in, out, cst.st_size, s));
      } else if (S_ISLNK(cst.st_mode)) {
        std::vector<char> buf(static_cast<size_t>(cst.st_size) + 1);
        ssize_t n = ::readlink(s.c_str(), buf.data(), buf.size());
        if (n < 0) return ErrnoError("readlink " + s);
        std::string target(buf.data(), static_cast<size_t>(n));
        if (::symlink(target.c_str(), t.c_str()) < 0) return ErrnoError("symlink " + t);
      } else {
        if (::mknod(t.c_str(), cst.st_mode & S_IFMT, cst.st_rdev) < 0) {
          return ErrnoError("mknod " + t);
        }
      }
      BLD_TRY(Meta(s, t, cst, S_ISLNK(cst.st_mode)));
    }
    return Ok();
  }

  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<DirTimes> dirs_;
  CopyTreeOptions o_;
};

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst, const CopyTreeOptions& o) {
  TreeCopier c(o);
  return c.Copy(src, dst);
}

}  // namespace bld::snapshot
