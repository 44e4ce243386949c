#include "base/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <deque>
#include <optional>
#include <vector>

namespace bld {

namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS
constexpr int kMaxRetries = 128;  // openat2 EAGAIN: a concurrent rename or mount; retry

int OpenAt2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || (errno == EAGAIN && attempt < kMaxRetries)) continue;
    return -1;
  }
}

// One directory step: `name` (a single component, not "." or "..") below `dirfd`, never
// following a symlink (an O_PATH fd of the link itself is returned for a final link).
int OpenComponent(int dirfd, const std::string& name) {
  return OpenAt2(dirfd, name.c_str(), O_PATH | O_NOFOLLOW, 0,
                 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

std::deque<std::string> Components(std::string_view path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (!part.empty() && part != ".") out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

Result<std::string> ReadLinkFd(int fd, const std::string& where) {
  char buf[4096];
  ssize_t n = readlinkat(fd, "", buf, sizeof(buf));
  if (n < 0) return ErrnoError("readlink " + where);
  if (static_cast<size_t>(n) == sizeof(buf)) {
    return InvalidArgumentError("readlink " + where + ": link target too long");
  }
  return std::string(buf, static_cast<size_t>(n));
}

// Walks `path` below `root_fd` one component at a time. Keeps the resolved components and
// an fd per resolved directory; interprets symlinks inside the root.
class Walk final {
 public:
  Walk(int root_fd, std::string_view path) : root_fd_(root_fd), todo_(Components(path)) {}

  int current() const { return dirs_.empty() ? root_fd_ : dirs_.back().get(); }
  const std::vector<std::string>& done() const { return done_; }
  bool finished() const { return todo_.empty(); }
  // The next component; ".." is handled here (pops the last resolved directory).
  std::optional<std::string> Next() {
    while (!todo_.empty()) {
      std::string part = std::move(todo_.front());
      todo_.pop_front();
      if (part != "..") return part;
      if (!done_.empty()) {
        done_.pop_back();
        dirs_.pop_back();
      }
    }
    return std::nullopt;
  }
  // Replaces the current component by the symlink's target.
  Status Splice(const std::string& target, const std::string& where) {
    if (++links_ > kMaxSymlinks) {
      return InvalidArgumentError("too many levels of symbolic links at " + where);
    }
    std::deque<std::string> t = Components(target);
    todo_.insert(todo_.begin(), t.begin(), t.end());
    if (!target.empty() && target[0] == '/') {
      done_.clear();
      dirs_.clear();
    }
    return Ok();
  }
  void Push(std::string part, UniqueFd fd) {
    done_.push_back(std::move(part));
    dirs_.push_back(std::move(fd));
  }
  // The rest of the path, as written, after `part` (which does not exist).
  std::string RestAfter(const std::string& part) {
    std::vector<std::string> parts = done_;
    parts.push_back(part);
    while (!todo_.empty()) {
      std::string p = std::move(todo_.front());
      todo_.pop_front();
      if (p == "..") {
        if (!parts.empty()) parts.pop_back();
      } else {
        parts.push_back(std::move(p));
      }
    }
    return Join(parts);
  }
  std::string Where(const std::string& part) const {
    std::vector<std::string> parts = done_;
    parts.push_back(part);
    return Join(parts);
  }

 private:
  int root_fd_;
  std::deque<std::string> todo_;
  std::vector<std::string> done_;
  std::vector<UniqueFd> dirs_;
  int links_ = 0;
};

}  // namespace

int OpenInRootRaw(int root_fd, const char* path, int flags, mode_t mode, uint64_t extra_resolve) {
  while (*path == '/') ++path;
  if (*path == '\0') path = ".";
  return OpenAt2(root_fd, path, flags, mode,
                 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve);
}

Result<UniqueFd> OpenRoot(const std::string& dir) {
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open root " + dir);
  return UniqueFd(fd);
}

Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode) {
  std::string p(path);
  int fd = OpenInRootRaw(root_fd, p.c_str(), flags, mode);
  if (fd < 0) {
    std::string shown = p.empty() || p[0] != '/' ? "/" + p : p;
    return ErrnoError("open " + shown);
  }
  return UniqueFd(fd);
}

Result<std::string> ResolveInRoot(int root_fd, std::string_view path, bool follow_last) {
  Walk walk(root_fd, path);
  while (auto part = walk.Next()) {
    const bool last = walk.finished();
    int fd = OpenComponent(walk.current(), *part);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return walk.RestAfter(*part);
      return ErrnoError("resolve " + walk.Where(*part));
    }
    UniqueFd owned(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return ErrnoError("stat " + walk.Where(*part));
    if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
      std::string where = walk.Where(*part);
      BLD_ASSIGN_OR_RETURN(std::string target, ReadLinkFd(fd, where));
      BLD_TRY(walk.Splice(target, where));
      continue;
    }
    walk.Push(std::move(*part), std::move(owned));
  }
  return Join(walk.done());
}

Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode, uid_t uid,
                                gid_t gid) {
  Walk walk(root_fd, path);
  while (auto part = walk.Next()) {
    std::string where = walk.Where(*part);
    int fd = OpenComponent(walk.current(), *part);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(walk.current(), part->c_str(), mode) != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + where);
      }
      fd = OpenComponent(walk.current(), *part);
      if (fd < 0) return ErrnoError("open " + where);
      UniqueFd created(fd);
      struct stat st;
      if (fstat(fd, &st) != 0) return ErrnoError("stat " + where);
      if (!S_ISDIR(st.st_mode)) {
        return FailedPreconditionError("cannot create directory " + where +
                                       ": something else appeared there");
      }
      if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) return ErrnoError("chown " + where);
      if (chmod(FdPath(fd).c_str(), mode) != 0) return ErrnoError("chmod " + where);
      walk.Push(std::move(*part), std::move(created));
      continue;
    }
    if (fd < 0) {
      if (errno == ENOTDIR) {
        return FailedPreconditionError("cannot create directory " + where + ": " +
                                       Join(walk.done()) + " is not a directory");
      }
      return ErrnoError("open " + where);
    }
    UniqueFd owned(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return ErrnoError("stat " + where);
    if (S_ISLNK(st.st_mode)) {
      BLD_ASSIGN_OR_RETURN(std::string target, ReadLinkFd(fd, where));
      BLD_TRY(walk.Splice(target, where));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      return FailedPreconditionError("cannot create directory " + where +
                                     ": a file of that name exists");
    }
    walk.Push(std::move(*part), std::move(owned));
  }
  int fd = fcntl(walk.current(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("dup " + Join(walk.done()));
  return UniqueFd(fd);
}

std::string FdPath(int fd) {
  char buf[64];
  snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
  return buf;
}

}  // namespace bld
