#include "builder/context.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "base/file.h"
#include "oci/digest.h"

namespace bld::builder {

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

Result<std::string> FileHasher::Digest(const std::string& path, const struct stat& st) {
  std::string id = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                   std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_sec) +
                   "." + std::to_string(st.st_ctim.tv_nsec);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NOFOLLOW));
  oci::Sha256 h;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path);
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  std::string d = h.Finish().str();
  std::lock_guard lock(mu_);
  cache_[id] = d;
  return d;
}

SourceTree::SourceTree(std::string root, std::shared_ptr<const parser::IgnoreMatcher> ignore)
    : root_(std::move(root)), ignore_(std::move(ignore)) {}

bool SourceTree::Excluded(const std::string& rel) const {
  return ignore_ != nullptr && !rel.empty() && ignore_->Excluded(rel);
}

std::string SourceTree::HostPath(const std::string& rel) const {
  return rel.empty() ? root_ : JoinPath(root_, rel);
}

Result<struct stat> SourceTree::Lstat(const std::string& rel) const {
  struct stat st;
  std::string p = HostPath(rel);
  if (lstat(p.c_str(), &st) != 0) return ErrnoError("lstat " + (rel.empty() ? "." : rel));
  return st;
}

Status SourceTree::Walk(const std::string& rel, const WalkFn& fn) const {
  struct stat st;
  std::string host = HostPath(rel);
  if (lstat(host.c_str(), &st) != 0) return ErrnoError("lstat " + (rel.empty() ? "." : rel));
  bool excluded = Excluded(rel);
  if (!excluded) BLD_TRY(fn(rel, st));
  if (!S_ISDIR(st.st_mode)) return Ok();
  if (excluded && !(ignore_ != nullptr && ignore_->HasExceptions())) return Ok();
  BLD_ASSIGN_OR_RETURN(auto names, ListDir(host));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) BLD_TRY(Walk(rel.empty() ? n : rel + "/" + n, fn));
  return Ok();
}

Result<std::string> SourceTree::TreeDigest(const std::string& rel, FileHasher& hasher) const {
  oci::Sha256 h;
  Status st = Walk(rel, [&](const std::string& p, const struct stat& s) -> Status {
    std::string e = p + "\n" + std::to_string(s.st_mode) + " " + std::to_string(s.st_uid) + ":" +
                    std::to_string(s.st_gid) + "\n";
    if (S_ISREG(s.st_mode)) {
      BLD_ASSIGN_OR_RETURN(std::string d, hasher.Digest(HostPath(p), s));
      e += d;
    } else if (S_ISLNK(s.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(HostPath(p).c_str(), buf, sizeof(buf));
      if (n > 0) e.append(buf, static_cast<size_t>(n));
    }
    h.Update(std::to_string(e.size()) + ":" + e);
    return Ok();
  });
  if (!st.ok()) return st.error();
  return h.Finish().str();
}

Result<std::vector<std::string>> SourceTree::Match(const std::string& source) const {
  std::string cleaned = parser::CleanPath(source);
  while (cleaned.starts_with("/")) cleaned.erase(0, 1);
  if (cleaned == ".") cleaned.clear();
  if (cleaned == ".." || cleaned.starts_with("../")) {
    return InvalidArgumentError("source " + source + " is outside of the build context");
  }
  const bool is_context = ignore_ != nullptr;
  const std::string where = is_context ? "build context" : "source image";
  if (!HasGlob(cleaned)) {
    struct stat st;
    if (lstat(HostPath(cleaned).c_str(), &st) != 0) {
      return NotFoundError(source + ": not found in " + where);
    }
    if (Excluded(cleaned)) {
      return NotFoundError(source + ": excluded by .dockerignore");
    }
    return std::vector<std::string>{cleaned};
  }
  // Walk from the longest prefix without pattern characters.
  std::string prefix;
  {
    size_t glob = cleaned.find_first_of("*?[");
    size_t slash = cleaned.rfind('/', glob);
    if (slash != std::string::npos) prefix = cleaned.substr(0, slash);
  }
  int depth = static_cast<int>(std::count(cleaned.begin(), cleaned.end(), '/'));
  std::vector<std::string> out;
  std::function<Status(const std::string&, int)> walk = [&](const std::string& rel,
                                                            int d) -> Status {
    auto names = ListDir(HostPath(rel));
    if (!names.ok()) return Ok();
    for (const auto& n : *names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      if (fnmatch(cleaned.c_str(), child.c_str(), FNM_PATHNAME) == 0) {
        if (!Excluded(child)) out.push_back(child);
      }
      if (d < depth) {
        struct stat st;
        if (lstat(HostPath(child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
          BLD_TRY(walk(child, d + 1));
        }
      }
    }
    return Ok();
  };
  int prefix_depth =
      prefix.empty() ? 0 : static_cast<int>(std::count(prefix.begin(), prefix.end(), '/')) + 1;
  BLD_TRY(walk(prefix, prefix_depth));
  std::sort(out.begin(), out.end());
  if (out.empty()) return NotFoundError(source + ": no files match in " + where);
  return out;
}

Result<std::unique_ptr<BuildContext>> BuildContext::Open(const std::string& dir,
                                                         const std::string& dockerfile_path) {
  if (!IsDirectory(dir)) return NotFoundError("build context " + dir + " is not a directory");
  std::optional<std::string> specific, root;
  if (!dockerfile_path.empty()) {
    auto r = ReadFile(parser::DockerfileIgnorePath(dockerfile_path));
    if (r.ok()) specific = *r;
  }
  // .containerignore (podman/buildah) wins over .dockerignore when both exist.
  auto r = ReadFile(JoinPath(dir, ".containerignore"));
  if (!r.ok()) r = ReadFile(JoinPath(dir, ".dockerignore"));
  if (r.ok()) root = *r;
  std::shared_ptr<const parser::IgnoreMatcher> matcher;
  auto content = parser::SelectIgnoreFile(specific, root);
  if (content) {
    BLD_ASSIGN_OR_RETURN(auto m, parser::IgnoreMatcher::FromFile(*content));
    matcher = std::make_shared<parser::IgnoreMatcher>(std::move(m));
  } else {
    BLD_ASSIGN_OR_RETURN(auto m, parser::IgnoreMatcher::Compile({}));
    matcher = std::make_shared<parser::IgnoreMatcher>(std::move(m));
  }
  return std::unique_ptr<BuildContext>(new BuildContext(SourceTree(dir, matcher)));
}

}  // namespace bld::builder
