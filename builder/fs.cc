#include "builder/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/file.h"
#include "parser/dockerignore.h"

namespace bld::builder {

namespace {
std::vector<std::string> Split(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (!part.empty() && part != ".") out.push_back(part);
    i = j + 1;
  }
  return out;
}
}  // namespace

std::string CleanAbs(const std::string& path) {
  std::string c = parser::CleanPath("/" + path);
  return c.empty() ? "/" : c;
}

Result<std::string> ResolveInRoot(const std::string& root, const std::string& path,
                                  bool follow_last) {
  std::vector<std::string> todo = Split(path);
  std::vector<std::string> done;  // resolved components
  int links = 0;
  size_t i = 0;
  while (i < todo.size()) {
    const std::string part = todo[i];
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      ++i;
      continue;
    }
    std::string host = root;
    for (const auto& d : done) host += "/" + d;
    host += "/" + part;
    bool last = i + 1 == todo.size();
    struct stat st;
    if ((!last || follow_last) && lstat(host.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 40) return InvalidArgumentError("too many levels of symbolic links in " + path);
      char buf[4096];
      ssize_t n = readlink(host.c_str(), buf, sizeof(buf));
      if (n < 0) return ErrnoError("readlink " + host);
      std::string target(buf, static_cast<size_t>(n));
      std::vector<std::string> rest(todo.begin() + static_cast<long>(i) + 1, todo.end());
      std::vector<std::string> t = Split(target);
      if (!target.empty() && target[0] == '/') done.clear();
      todo = t;
      todo.insert(todo.end(), rest.begin(), rest.end());
      i = 0;
      continue;
    }
    done.push_back(part);
    ++i;
  }
  std::string host = root;
  for (const auto& d : done) host += "/" + d;
  return host;
}

Result<std::string> MkdirAllInRoot(const std::string& root, const std::string& path, uid_t uid,
                                   gid_t gid) {
  std::vector<std::string> parts = Split(CleanAbs(path));
  std::string cur = "/";
  std::string host = root;
  for (const auto& p : parts) {
    cur = cur == "/" ? "/" + p : cur + "/" + p;
    BLD_ASSIGN_OR_RETURN(host, ResolveInRoot(root, cur));
    struct stat st;
    if (lstat(host.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return FailedPreconditionError("cannot create directory " + cur +
                                       ": a file of that name exists");
      }
      continue;
    }
    if (mkdir(host.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir " + cur);
    if (chmod(host.c_str(), 0755) != 0) return ErrnoError("chmod " + cur);
    if (lchown(host.c_str(), uid, gid) != 0) return ErrnoError("chown " + cur);
  }
  return host;
}

std::string ReadFileInRoot(const std::string& root, const std::string& path) {
  auto host = ResolveInRoot(root, path);
  if (!host.ok()) return "";
  auto r = ReadFile(*host);
  return r.ok() ? *r : "";
}

}  // namespace bld::builder
