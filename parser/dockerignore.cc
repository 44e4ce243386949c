#include "parser/dockerignore.h"

#include <re2/re2.h>

#include "parser/unicode.h"

namespace bld::parser {

std::string CleanPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string_view> parts;
  size_t dotdot_floor = 0;  // leading ".." kept for relative paths
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view e = path.substr(i, j - i);
    i = j + 1;
    if (e.empty() || e == ".") continue;
    if (e == "..") {
      if (parts.size() > dotdot_floor) {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(e);
        dotdot_floor = parts.size();
      }
      continue;
    }
    parts.push_back(e);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out.push_back('/');
    out.append(parts[k]);
  }
  if (out.empty()) return ".";
  return out;
}

std::vector<std::string> ReadIgnorePatterns(std::string_view content) {
  std::vector<std::string> out;
  size_t pos = 0;
  bool first = true;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view line = content.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    first = false;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view p = text::TrimSpace(line);
    if (p.empty()) continue;
    bool invert = p[0] == '!';
    if (invert) p = text::TrimSpace(p.substr(1));
    std::string pattern(p);
    if (!pattern.empty()) {
      pattern = CleanPath(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    out.push_back(invert ? "!" + pattern : pattern);
  }
  return out;
}

namespace {

bool ShouldEscape(char32_t c) {
  return c < 0x80 &&
         std::string_view(".+()|{}$").find(static_cast<char>(c)) != std::string_view::npos;
}

// filepath.Match's syntax check: brackets closed, ranges complete, no trailing '\'.
bool ValidGlob(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (i + 1 >= p.size()) return false;
      ++i;
    } else if (p[i] == '[') {
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      bool any = false;
      for (;;) {
        if (j >= p.size()) return false;
        if (p[j] == ']' && any) break;
        if (p[j] == '\\') ++j;
        if (j >= p.size()) return false;
        ++j;
        any = true;
        if (j < p.size() && p[j] == '-') {
          ++j;
          if (j >= p.size() || p[j] == ']') return false;
          if (p[j] == '\\') ++j;
          if (j >= p.size()) return false;
          ++j;
        }
      }
      i = j;
    }
  }
  return true;
}

}  // namespace

bool IgnoreMatcher::Pattern::Match(std::string_view path) const {
  switch (kind) {
    case Kind::kExact:
      return path == cleaned;
    case Kind::kPrefix:
      return path.substr(0, cleaned.size() - 2) ==
             std::string_view(cleaned).substr(0, cleaned.size() - 2);
    case Kind::kSuffix: {
      std::string_view suffix = std::string_view(cleaned).substr(2);
      if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
        return true;
      }
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case Kind::kRegexp:
      return RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *regexp);
  }
  return false;
}

Result<IgnoreMatcher> IgnoreMatcher::Compile(const std::vector<std::string>& patterns) {
  IgnoreMatcher m;
  for (const std::string& raw : patterns) {
    std::string p(text::TrimSpace(raw));
    if (p.empty()) continue;
    p = CleanPath(p);
    Pattern pat;
    if (p[0] == '!') {
      if (p.size() == 1) return InvalidArgumentError("illegal exclusion pattern: \"!\"");
      pat.exclusion = true;
      p.erase(0, 1);
      m.has_exceptions_ = true;
    }
    if (!ValidGlob(p)) return InvalidArgumentError("syntax error in pattern " + text::GoQuote(p));
    pat.cleaned = p;
    // Translate to a regexp, noting when a cheaper comparison is equivalent.
    std::string re = "^";
    using Kind = Pattern::Kind;
    Kind kind = Kind::kExact;
    size_t pos = 0;
    for (int i = 0; pos < p.size(); ++i) {
      auto d = text::DecodeRune(p, pos);
      pos += d.width;
      char32_t ch = d.rune;
      if (ch == '*') {
        if (pos < p.size() && p[pos] == '*') {
          ++pos;
          if (pos < p.size() && p[pos] == '/') ++pos;
          if (pos >= p.size()) {
            if (kind == Kind::kExact) {
              kind = Kind::kPrefix;
            } else {
              re += ".*";
              kind = Kind::kRegexp;
            }
          } else {
            re += "(.*/)?";
            kind = Kind::kRegexp;
          }
          if (i == 0) kind = Kind::kSuffix;
        } else {
          re += "[^/]*";
          kind = Kind::kRegexp;
        }
      } else if (ch == '?') {
        re += "[^/]";
        kind = Kind::kRegexp;
      } else if (ShouldEscape(ch)) {
        re += "\\";
        re.push_back(static_cast<char>(ch));
      } else if (ch == '\\') {
        if (pos < p.size()) {
          auto n = text::DecodeRune(p, pos);
          pos += n.width;
          re += "\\";
          text::AppendRune(&re, n.rune);
          kind = Kind::kRegexp;
        } else {
          re += "\\\\";
        }
      } else if (ch == '[' || ch == ']') {
        re.push_back(static_cast<char>(ch));
        kind = Kind::kRegexp;
      } else {
        text::AppendRune(&re, ch);
      }
    }
    pat.kind = kind;
    if (kind == Kind::kRegexp) {
      re += "$";
      RE2::Options opts;
      opts.set_log_errors(false);
      auto compiled = std::make_shared<RE2>(re, opts);
      if (!compiled->ok()) {
        return InvalidArgumentError("syntax error in pattern " + text::GoQuote(p) + ": " +
                                    compiled->error());
      }
      pat.regexp = std::move(compiled);
    }
    m.patterns_.push_back(std::move(pat));
  }
  return m;
}

Result<IgnoreMatcher> IgnoreMatcher::FromFile(std::string_view content) {
  auto m = Compile(ReadIgnorePatterns(content));
  if (!m.ok()) return m.error().Wrap(".dockerignore");
  return m;
}

bool IgnoreMatcher::Excluded(std::string_view file) const {
  bool matched = false;
  size_t slash = file.rfind('/');
  std::string parent = slash == std::string_view::npos ? "." : CleanPath(file.substr(0, slash));
  std::vector<std::string_view> parent_dirs;
  {
    std::string_view pv = parent;
    size_t i = 0;
    while (true) {
      size_t j = pv.find('/', i);
      parent_dirs.push_back(pv.substr(i, j == std::string_view::npos ? pv.npos : j - i));
      if (j == std::string_view::npos) break;
      i = j + 1;
    }
  }
  for (const Pattern& p : patterns_) {
    if (p.exclusion != matched) continue;
    bool match = p.Match(file);
    if (!match && parent != ".") {
      for (size_t i = 0; i < parent_dirs.size() && !match; ++i) {
        // parent_dirs[0..i] joined, i.e. a prefix of `parent`.
        size_t len = (parent_dirs[i].data() - parent.data()) + parent_dirs[i].size();
        match = p.Match(std::string_view(parent).substr(0, len));
      }
    }
    if (match) matched = !p.exclusion;
  }
  return matched;
}

std::string DockerfileIgnorePath(std::string_view dockerfile_path) {
  return std::string(dockerfile_path) + ".dockerignore";
}

std::optional<std::string_view> SelectIgnoreFile(
    const std::optional<std::string>& dockerfile_specific,
    const std::optional<std::string>& context_root) {
  if (dockerfile_specific) return std::string_view(*dockerfile_specific);
  if (context_root) return std::string_view(*context_root);
  return std::nullopt;
}

}  // namespace bld::parser
