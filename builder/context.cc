#include "builder/context.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "base/file.h"
#include "base/in_root.h"
#include "oci/digest.h"

namespace bld::builder {

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

Result<std::string> FileHasher::Digest(int fd, const std::string& name, const struct stat& st) {
  std::string id = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                   std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_sec) +
                   "." + std::to_string(st.st_ctim.tv_nsec);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  oci::Sha256 h;
  std::vector<char> buf(1 << 16);
  for (off_t off = 0;;) {
    ssize_t n = pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + name);
    if (n == 0) break;
    off += n;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  std::string d = h.Finish().str();
  std::lock_guard lock(mu_);
  cache_[id] = d;
  return d;
}

Result<SourceTree> SourceTree::Open(std::string root,
                                    std::shared_ptr<const parser::IgnoreMatcher> ignore) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenRoot(root));
  return SourceTree(std::move(root), std::move(fd), std::move(ignore));
}

bool SourceTree::Excluded(const std::string& rel) const {
  return ignore_ != nullptr && !rel.empty() && ignore_->Excluded(rel);
}

std::string SourceTree::HostPath(const std::string& rel) const {
  return rel.empty() ? root_ : JoinPath(root_, rel);
}

namespace {
std::string Shown(const std::string& rel) { return rel.empty() ? "." : rel; }
}  // namespace

Result<std::string> SourceTree::Resolve(const std::string& rel, bool follow_last) const {
  BLD_ASSIGN_OR_RETURN(std::string r, ResolveInRoot(fd_.get(), rel.empty() ? "/" : rel,
                                                    follow_last));
  std::string out = r == "/" ? "" : r.substr(1);
  auto fd = OpenInRoot(fd_.get(), out, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return NotFoundError(Shown(rel) + ": not found");
  return out;
}

Result<struct stat> SourceTree::Lstat(const std::string& rel) const {
  auto fd = OpenInRoot(fd_.get(), rel, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return fd.error().Wrap("lstat " + Shown(rel));
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return ErrnoError("lstat " + Shown(rel));
  return st;
}

Result<UniqueFd> SourceTree::OpenFile(const std::string& rel) const {
  return OpenInRoot(fd_.get(), rel, O_RDONLY | O_NOFOLLOW);
}

Result<std::string> SourceTree::ReadLink(const std::string& rel) const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(fd_.get(), rel, O_PATH | O_NOFOLLOW));
  char buf[4096];
  ssize_t n = readlinkat(fd.get(), "", buf, sizeof(buf));
  if (n < 0) return ErrnoError("readlink " + Shown(rel));
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::vector<std::string>> SourceTree::List(const std::string& rel) const {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd,
                       OpenInRoot(fd_.get(), rel, O_RDONLY | O_DIRECTORY));
  DIR* d = fdopendir(fd.get());
  if (d == nullptr) return ErrnoError("list " + Shown(rel));
  fd.release();
  std::vector<std::string> out;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  int err = errno;
  closedir(d);
  if (err != 0) {
    errno = err;
    return ErrnoError("list " + Shown(rel));
  }
  return out;
}

Status SourceTree::Walk(const std::string& rel, const WalkFn& fn) const {
  BLD_ASSIGN_OR_RETURN(struct stat st, Lstat(rel));
  bool excluded = Excluded(rel);
  if (!excluded) BLD_TRY(fn(rel, st));
  if (!S_ISDIR(st.st_mode)) return Ok();
  if (excluded && !(ignore_ != nullptr && ignore_->HasExceptions())) return Ok();
  BLD_ASSIGN_OR_RETURN(auto names, List(rel));
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
      BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(p));
      BLD_ASSIGN_OR_RETURN(std::string d, hasher.Digest(fd.get(), p, s));
      e += d;
    } else if (S_ISLNK(s.st_mode)) {
      BLD_ASSIGN_OR_RETURN(std::string t, ReadLink(p));
      e += t;
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
    if (!Lstat(cleaned).ok()) return NotFoundError(source + ": not found in " + where);
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
    auto names = List(rel);
    if (!names.ok()) return Ok();
    for (const auto& n : *names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      if (fnmatch(cleaned.c_str(), child.c_str(), FNM_PATHNAME) == 0) {
        if (!Excluded(child)) out.push_back(child);
      }
      if (d < depth) {
        auto st = Lstat(child);
        if (st.ok() && S_ISDIR(st->st_mode)) BLD_TRY(walk(child, d + 1));
      }
    }
    return Ok();
  };
  int prefix_depth =
      prefix.empty() ? 0 : static_cast<int>(std::count(prefix.begin(), prefix.end(), '/')) + 1;
  BLD_TRY(walk(prefix, prefix_depth));
  std::sort(out.begin(), out.end());
  // An empty wildcard copies nothing (BuildKit); a plain missing path is an error above.
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
  BLD_ASSIGN_OR_RETURN(SourceTree tree, SourceTree::Open(dir, matcher));
  return std::unique_ptr<BuildContext>(new BuildContext(std::move(tree)));
}

}  // namespace bld::builder
