// Source trees that COPY/ADD read: the build context (after .dockerignore) or
// another stage's / image's root filesystem.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "parser/dockerignore.h"

namespace bld::builder {

// Content digests of files, remembered per (device, inode, size, mtime, ctime)
// so a file read by several steps of one build is hashed once.
class FileHasher final {
 public:
  // "sha256:<hex>" of the content of the open file `fd` (named `name` in errors).
  Result<std::string> Digest(int fd, const std::string& name, const struct stat& st);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> cache_;
};

// Every path of a tree is resolved inside its root (base/in_root.h): a symlink in the
// context or in a stage's root filesystem is followed as if that root were "/", never out
// of it.
class SourceTree final {
 public:
  // A tree rooted at `root` (opened as a root fd here); `ignore` excludes paths (the
  // context's .dockerignore), null for none.
  static Result<SourceTree> Open(std::string root,
                                 std::shared_ptr<const parser::IgnoreMatcher> ignore);

  const std::string& root() const { return root_; }
  // True if `rel` (cleaned, relative, "" = root) is left out.
  bool Excluded(const std::string& rel) const;
  // The relative paths a COPY source names: the path itself (cleaned; ".." may
  // not leave the root), or for a pattern with *, ? or [ every entry it matches
  // (filepath.Match rules per component), sorted; none for a pattern that matches
  // nothing (BuildKit: an empty wildcard copies nothing). NotFound naming the source
  // ("... not found in build context" / "... excluded by .dockerignore") when a
  // plain path does not exist.
  Result<std::vector<std::string>> Match(const std::string& source) const;
  // `rel` with every symlink on the way resolved inside the root (the last one too when
  // `follow_last`): relative, cleaned, "" for the root. NotFound when it does not exist.
  Result<std::string> Resolve(const std::string& rel, bool follow_last) const;
  // lstat of a relative path (parents resolved inside the root, the last not followed).
  Result<struct stat> Lstat(const std::string& rel) const;
  // Opens a regular file / directory / link (O_PATH) of the tree, inside the root.
  Result<UniqueFd> OpenFile(const std::string& rel) const;
  Result<std::string> ReadLink(const std::string& rel) const;
  Result<std::vector<std::string>> List(const std::string& rel) const;
  // The host path of a path that Resolve returned (symlink-free), for mounts.
  std::string HostPath(const std::string& rel) const;
  // Calls fn for `rel` and, when it is a directory, everything below it
  // (depth first, names sorted), skipping excluded paths. fn returning an
  // error stops the walk.
  using WalkFn = std::function<Status(const std::string& rel, const struct stat& st)>;
  Status Walk(const std::string& rel, const WalkFn& fn) const;
  // sha256 over the relative paths, types, modes, owners, link targets and
  // contents below `rel` (not mtimes): what a bind mount of it reads.
  Result<std::string> TreeDigest(const std::string& rel, FileHasher& hasher) const;

 private:
  SourceTree(std::string root, UniqueFd fd, std::shared_ptr<const parser::IgnoreMatcher> ignore)
      : root_(std::move(root)), fd_(std::move(fd)), ignore_(std::move(ignore)) {}
  std::string root_;
  UniqueFd fd_;
  std::shared_ptr<const parser::IgnoreMatcher> ignore_;
};

// The build context: its directory and .dockerignore.
class BuildContext final {
 public:
  // Reads <dockerfile>.dockerignore or <dir>/.dockerignore.
  static Result<std::unique_ptr<BuildContext>> Open(const std::string& dir,
                                                    const std::string& dockerfile_path);
  const SourceTree& tree() const { return tree_; }
  FileHasher& hasher() { return hasher_; }

 private:
  explicit BuildContext(SourceTree tree) : tree_(std::move(tree)) {}
  SourceTree tree_;
  FileHasher hasher_;
};

bool HasGlob(std::string_view s);

}  // namespace bld::builder
