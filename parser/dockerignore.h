// .dockerignore: which context paths a build leaves out. Same rules as Docker
// (moby/patternmatcher): one pattern per line; lines starting with '#' are
// comments; surrounding spaces trimmed; paths cleaned (`./a/../b` -> `b`) and a
// leading '/' dropped; `*` and `?` never cross '/', `**` crosses any number of
// directories; `[...]` classes and `\` escapes; `!pattern` re-includes; the
// last matching pattern wins; a path is excluded if it or any of its parent
// directories matches. Patterns compile to RE2. Pure: the caller reads files.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace re2 {
class RE2;
}

namespace bld::parser {

// The patterns of a .dockerignore file's content (comments and blank lines
// dropped, paths cleaned, '!' kept as prefix), in order.
std::vector<std::string> ReadIgnorePatterns(std::string_view content);

class IgnoreMatcher final {
 public:
  // Compiles patterns (as ReadIgnorePatterns returns them). Fails on a lone
  // "!" or a malformed pattern ("[a-", trailing "\"), naming it.
  static Result<IgnoreMatcher> Compile(const std::vector<std::string>& patterns);
  // ReadIgnorePatterns + Compile; errors say ".dockerignore: ...".
  static Result<IgnoreMatcher> FromFile(std::string_view content);

  // True if `path` (relative to the context root, '/'-separated, cleaned, e.g.
  // "src/main.go") is excluded from the context.
  bool Excluded(std::string_view path) const;
  // True if any pattern starts with '!': a walker must not skip an excluded
  // directory without looking inside, since something below may be re-included.
  bool HasExceptions() const { return has_exceptions_; }
  bool empty() const { return patterns_.empty(); }

  struct Pattern {
    std::string cleaned;  // without '!'
    bool exclusion = false;
    enum class Kind { kExact, kPrefix, kSuffix, kRegexp } kind = Kind::kExact;
    std::shared_ptr<const re2::RE2> regexp;  // kRegexp only
    bool Match(std::string_view path) const;
  };

 private:
  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

// "<dockerfile_path>.dockerignore": the ignore file that, when it exists beside
// the Dockerfile, is used instead of the context's .dockerignore.
std::string DockerfileIgnorePath(std::string_view dockerfile_path);

// Picks the ignore file content to use: the Dockerfile-specific one if it
// exists, else the context root's .dockerignore, else none (nullopt).
std::optional<std::string_view> SelectIgnoreFile(
    const std::optional<std::string>& dockerfile_specific,
    const std::optional<std::string>& context_root);

// Go's filepath.Clean for '/'-separated paths.
std::string CleanPath(std::string_view path);

}  // namespace bld::parser
