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
#include "parser/dockerignore.h"

namespace bld::builder {

// Content digests of files, remembered per (device, inode, size, mtime, ctime)
// so a file read by several steps of one build is hashed once.
class FileHasher final {
 public:
  // "sha256:<hex>" of the file's content.
  Result<std::string> Digest(const std::string& path, const struct stat& st);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> cache_;
};

class FileHasher;

class SourceTree final {
 public:
  // A tree rooted at `root`; `ignore` excludes paths (the context's
  // .dockerignore), null for none.
  SourceTree(std::string root, std::shared_ptr<const parser::IgnoreMatcher> ignore);

  const std::string& root() const { return root_; }
  // True if `rel` (cleaned, relative, "" = root) is left out.
  bool Excluded(const std::string& rel) const;
  // The relative paths a COPY source names: the path itself (cleaned; ".." may
  // not leave the root), or for a pattern with *, ? or [ every entry it matches
  // (filepath.Match rules per component), sorted. NotFound naming the source
  // ("... not found in build context" / "... excluded by .dockerignore") when
  // nothing matches.
  Result<std::vector<std::string>> Match(const std::string& source) const;
  // lstat of a relative path.
  Result<struct stat> Lstat(const std::string& rel) const;
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
  std::string root_;
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
