#include "base/file.h"
#include "base/random.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace bld {

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoError("open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadFd(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> ReadFile(const std::string& path) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  auto r = ReadFd(fd.get());
  if (!r.ok()) return std::move(r).error().Wrap(path);
  return r;
}

Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(what.empty() ? std::string("write") : "write " + std::string(what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Status ReadExact(int fd, void* buf, size_t n, std::string_view what) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + std::string(what));
    }
    if (r == 0) return InternalError("read " + std::string(what) + ": unexpected end of file");
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Ok();
}

Status FsyncDir(const std::string& dir) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) < 0) return ErrnoError("fsync " + dir);
  return Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = Dirname(path);
  std::string tmp = path + ".tmp-" + RandomHex(16);
  {
    BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    Status s = WriteAll(fd.get(), data, tmp);
    if (s.ok() && ::fchmod(fd.get(), mode) < 0) s = ErrnoError("chmod " + tmp);
    if (s.ok() && ::fsync(fd.get()) < 0) s = ErrnoError("fsync " + tmp);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = ErrnoError("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return FsyncDir(dir.empty() ? "." : dir);
}

Status MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return Ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Ok();
    return PosixError("mkdir " + path, ENOTDIR);
  }
  std::string parent = Dirname(path);
  if (!parent.empty() && parent != path) BLD_TRY(MkdirAll(parent, mode));
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return ErrnoError("mkdir " + path);
  return Ok();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return PosixError("remove " + path, ec.value());
  return Ok();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return ErrnoError("opendir " + path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return PosixError("readdir " + path, err);
  return names;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (out != "/") out += '/';
  out.append(b);
  return out;
}

std::string Dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string Basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return std::string(path.substr(slash + 1));
}

}  // namespace bld
