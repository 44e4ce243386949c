#include "parser/parser.h"

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "parser/shell_word.h"
#include "parser/unicode.h"

namespace bld::parser {
namespace {

constexpr int kMaxOnbuildDepth = 64;

Error ParseError(const ParseOptions& o, int line, std::string_view msg) {
  return InvalidArgumentError(o.file_name + ":" + std::to_string(line) + ": " + std::string(msg));
}

// The regexp [\t\v\f\r ] BuildKit splits on.
bool IsTokenSpace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }
// Go regexp's \s: [\t\n\f\r ].
bool IsReSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Splits at runs of [\t\v\f\r ], at most `n` parts (n < 0: no limit), like
// Go's regexp.Split.
std::vector<std::string> SplitTokenSpace(std::string_view s, int n) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < s.size()) {
    if (n > 0 && static_cast<int>(out.size()) == n - 1) break;
    if (IsTokenSpace(s[i])) {
      size_t j = i;
      while (j < s.size() && IsTokenSpace(s[j])) ++j;
      out.emplace_back(s.substr(start, i - start));
      start = i = j;
      continue;
    }
    ++i;
  }
  out.emplace_back(s.substr(start));
  return out;
}

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view raw) {
  std::string_view t = text::TrimLeftSpace(TrimNewline(raw));
  return !t.empty() && t[0] == '#';
}

// Go's encoding of a Latin-1 byte as a rune: how BuildKit's flag splitter
// (which reads bytes as runes) renders bytes >= 0x80 in its dumps.
std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) text::AppendRune(&out, c);
  return out;
}

// ---- JSON (exec form) ------------------------------------------------------

class JsonStringArray {
 public:
  explicit JsonStringArray(std::string_view s) : s_(s) {}

  // True if the whole input is a JSON array of strings (encoding/json rules).
  bool Parse(std::vector<std::string>* out) {
    SkipWs();
    if (!Consume('[')) return false;
    SkipWs();
    if (Consume(']')) return AtEnd();
    for (;;) {
      std::string v;
      if (!ParseString(&v)) return false;
      out->push_back(std::move(v));
      SkipWs();
      if (Consume(']')) return AtEnd();
      if (!Consume(',')) return false;
      SkipWs();
    }
  }

 private:
  bool AtEnd() {
    SkipWs();
    return i_ == s_.size();
  }
  void SkipWs() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Consume(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  // Reads \uXXXX at i_; returns the code unit or -1 (without consuming).
  long U4(size_t at) const {
    if (at + 6 > s_.size() || s_[at] != '\\' || s_[at + 1] != 'u') return -1;
    long v = 0;
    for (size_t k = at + 2; k < at + 6; ++k) {
      int h = Hex(s_[k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }
  bool ParseString(std::string* out) {
    if (!Consume('"')) return false;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return false;
        char e = s_[i_ + 1];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out->push_back(e);
            i_ += 2;
            continue;
          case 'b':
            out->push_back('\b');
            i_ += 2;
            continue;
          case 'f':
            out->push_back('\f');
            i_ += 2;
            continue;
          case 'n':
            out->push_back('\n');
            i_ += 2;
            continue;
          case 'r':
            out->push_back('\r');
            i_ += 2;
            continue;
          case 't':
            out->push_back('\t');
            i_ += 2;
            continue;
          case 'u': {
            long r = U4(i_);
            if (r < 0) return false;
            i_ += 6;
            if (r >= 0xD800 && r <= 0xDFFF) {
              long r2 = U4(i_);
              if (r < 0xDC00 && r2 >= 0xDC00 && r2 <= 0xDFFF) {
                i_ += 6;
                r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
              } else {
                r = text::kRuneError;
              }
            }
            text::AppendRune(out, static_cast<char32_t>(r));
            continue;
          }
          default:
            return false;
        }
      }
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      auto d = text::DecodeRune(s_, i_);
      text::AppendRune(out, d.rune);
      i_ += d.width;
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

constexpr char kNotStringArray[] =
    "when using JSON array syntax, arrays must be comprised of strings only";

// True if `rest` is a JSON array (as Go's json.Unmarshal reads it) holding something other
// than a string: BuildKit rejects it instead of falling back to shell form.
bool IsJsonArrayOfNonStrings(std::string_view rest) {
  nlohmann::json value = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
  if (!value.is_array()) return false;
  for (const auto& v : value) {
    if (!v.is_string()) return true;
  }
  return false;
}

// Exec form: `rest` is a JSON array of strings. InvalidArgument for a JSON array that
// holds anything else; false (shell form) for anything that is not a JSON array.
Result<bool> ParseJsonArgs(std::string_view rest, std::vector<std::string>* out) {
  rest = text::TrimLeftSpace(rest);
  if (rest.empty() || rest[0] != '[') return false;
  std::vector<std::string> v;
  if (!JsonStringArray(rest).Parse(&v)) {
    if (IsJsonArrayOfNonStrings(rest)) return InvalidArgumentError(kNotStringArray);
    return false;
  }
  *out = std::move(v);
  return true;
}

// ---- directives ------------------------------------------------------------

struct DirectiveState {
  char escape = '\\';
  bool done = false;
  std::set<std::string> seen;
  std::vector<Directive> found;
  int line = 0;

  // Looks for a directive on a line (newline trimmed). Returns an error message
  // or "" when fine.
  std::string ParseLine(std::string_view line_text) {
    ++line;
    if (done) return "";
    if (line_text.empty() || line_text[0] != '#') {
      done = true;
      return "";
    }
    std::string_view s = text::TrimLeftSpace(line_text.substr(1));
    size_t i = 0;
    auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !is_alpha(s[0])) {
      done = true;
      return "";
    }
    while (i < s.size() && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9'))) ++i;
    std::string name = text::AsciiLower(s.substr(0, i));
    while (i < s.size() && IsReSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {
      done = true;
      return "";
    }
    ++i;
    std::string_view rest = s.substr(i);
    size_t b = 0;
    while (b < rest.size() && IsReSpace(rest[b])) ++b;
    std::string_view value;
    if (b < rest.size()) {
      size_t e = rest.size();
      while (e > b && IsReSpace(rest[e - 1])) --e;
      value = rest.substr(b, e - b);
    } else if (!rest.empty()) {
      value = rest.substr(rest.size() - 1);  // `.+?` takes one of the spaces
    } else {
      done = true;
      return "";
    }
    if (name != "syntax" && name != "escape" && name != "check") {
      done = true;
      return "";
    }
    if (!seen.insert(name).second) return "only one " + name + " parser directive can be used";
    if (name == "escape") {
      if (value != "`" && value != "\\") {
        return "invalid escape token '" + std::string(value) + "' does not match ` or \\";
      }
      escape = value[0];
    }
    found.push_back(Directive{name, std::string(value), line});
    return "";
  }
};

// Removes a trailing escape character (and spaces/tabs after it) unless the
// escape is itself escaped. Returns true when the line continues.
bool TrimContinuation(std::string_view* line, char escape) {
  std::string_view s = *line;
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  if (end == 0 || s[end - 1] != escape) return false;
  size_t p = end - 1;
  if (p > 0 && s[p - 1] == escape) return false;
  *line = s.substr(0, p);
  return true;
}

// ---- line parsers ----------------------------------------------------------

struct Parsed {
  std::vector<std::string> args;
  bool json = false;
  std::unique_ptr<Node> nested;
};

// Words of ENV/LABEL/ARG, quotes and escapes kept (BuildKit's parseWords).
std::vector<std::string> ParseWords(std::string_view rest, char escape_token) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  const char32_t escape = static_cast<unsigned char>(escape_token);
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  char32_t ch = 0;
  size_t width = 0;
  for (size_t pos = 0; pos <= rest.size(); pos += width) {
    if (pos != rest.size()) {
      auto d = text::DecodeRune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    if (phase == kInSpaces) {
      if (pos == rest.size()) break;
      if (text::IsSpace(ch)) continue;
      phase = kInWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (text::IsSpace(ch)) {
        phase = kInSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
      }
      if (ch == escape) {
        if (pos + width == rest.size()) continue;
        text::AppendRune(&word, ch);
        pos += width;
        auto d = text::DecodeRune(rest, pos);
        ch = d.rune;
        width = d.width;
      }
      text::AppendRune(&word, ch);
      continue;
    }
    // kInQuote
    if (ch == quote) phase = kInWord;
    if (ch == escape && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = kInWord;
        continue;
      }
      pos += width;
      text::AppendRune(&word, ch);
      auto d = text::DecodeRune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    text::AppendRune(&word, ch);
  }
  return words;
}

Result<Parsed> ParseNameVal(std::string_view rest, std::string_view key, char escape) {
  Parsed p;
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return p;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts = SplitTokenSpace(rest, 2);
    if (parts.size() < 2)
      return InvalidArgumentError(std::string(key) + " must have two arguments");
    p.args = {parts[0], parts[1], ""};
    return p;
  }
  for (const std::string& w : words) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("Syntax error - can't find = in " + text::GoQuote(w) +
                                  ". Must be of the form: name=value");
    }
    p.args.push_back(w.substr(0, eq));
    p.args.push_back(w.substr(eq + 1));
    p.args.push_back("=");
  }
  return p;
}

Parsed ParseWhitespaceDelimited(std::string_view rest) {
  Parsed p;
  if (!rest.empty()) p.args = SplitTokenSpace(rest, -1);
  return p;
}

Result<Parsed> ParseMaybeJson(std::string_view rest) {
  Parsed p;
  if (rest.empty()) return p;
  BLD_ASSIGN_OR_RETURN(bool json, ParseJsonArgs(rest, &p.args));
  if (json) {
    p.json = true;
    return p;
  }
  p.args = {std::string(rest)};
  return p;
}

Result<Parsed> ParseMaybeJsonToList(std::string_view rest) {
  Parsed p;
  BLD_ASSIGN_OR_RETURN(bool json, ParseJsonArgs(rest, &p.args));
  if (json) {
    p.json = true;
    return p;
  }
  return ParseWhitespaceDelimited(rest);
}

Result<Parsed> ParseHealthConfig(std::string_view rest) {
  size_t sep = 0;
  while (sep < rest.size() && !text::IsSpaceByte(static_cast<unsigned char>(rest[sep]))) ++sep;
  size_t next = sep;
  while (next < rest.size() && text::IsSpaceByte(static_cast<unsigned char>(rest[next]))) ++next;
  if (sep == 0) return Parsed{};
  BLD_ASSIGN_OR_RETURN(Parsed p, ParseMaybeJson(rest.substr(next)));
  p.args.insert(p.args.begin(), std::string(rest.substr(0, sep)));
  return p;
}

// Leading --flags of an instruction (BuildKit's extractBuilderFlags, which reads
// the line byte by byte). Returns the rest of the line.
std::string_view ExtractBuilderFlags(std::string_view line, std::vector<std::string>* flags) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  unsigned char ch = 0;
  auto space = [](unsigned char c) { return text::IsSpaceByte(c); };
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    if (pos != line.size()) ch = static_cast<unsigned char>(line[pos]);
    if (phase == kInSpaces) {
      if (pos == line.size()) break;
      if (space(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kInWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags->push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (space(ch)) {
        phase = kInSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags->push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = static_cast<char>(ch);
        blank_ok = true;
        phase = kInQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) continue;
        ++pos;
        ch = static_cast<unsigned char>(line[pos]);
      }
      word.push_back(static_cast<char>(ch));
      continue;
    }
    // kInQuote
    if (static_cast<char>(ch) == quote) {
      phase = kInWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = kInWord;
        continue;
      }
      ++pos;
      ch = static_cast<unsigned char>(line[pos]);
    }
    word.push_back(static_cast<char>(ch));
  }
  return {};
}

Result<Node> NewNodeFromLine(std::string_view line, char escape, int depth);

Result<Parsed> Dispatch(const std::string& cmd, std::string_view rest, char escape, int depth) {
  if (cmd == "add" || cmd == "copy" || cmd == "volume") return ParseMaybeJsonToList(rest);
  if (cmd == "cmd" || cmd == "entrypoint" || cmd == "run" || cmd == "shell") {
    return ParseMaybeJson(rest);
  }
  if (cmd == "env") return ParseNameVal(rest, "ENV", escape);
  if (cmd == "label") return ParseNameVal(rest, "LABEL", escape);
  if (cmd == "arg") {
    Parsed p;
    p.args = ParseWords(rest, escape);
    return p;
  }
  if (cmd == "expose" || cmd == "from") return ParseWhitespaceDelimited(rest);
  if (cmd == "maintainer" || cmd == "stopsignal" || cmd == "user" || cmd == "workdir") {
    Parsed p;
    if (!rest.empty()) p.args = {std::string(rest)};
    return p;
  }
  if (cmd == "healthcheck") return ParseHealthConfig(rest);
  if (cmd == "onbuild") {
    Parsed p;
    if (rest.empty()) return p;
    if (depth >= kMaxOnbuildDepth) return InvalidArgumentError("ONBUILD nested too deeply");
    BLD_ASSIGN_OR_RETURN(Node child, NewNodeFromLine(rest, escape, depth + 1));
    p.nested = std::make_unique<Node>(std::move(child));
    return p;
  }
  // Unknown instruction: kept with one empty argument, like BuildKit.
  Parsed p;
  p.args = {""};
  return p;
}

Result<Node> NewNodeFromLine(std::string_view line, char escape, int depth) {
  std::string_view trimmed = text::TrimSpace(line);
  size_t cmd_end = 0;
  while (cmd_end < trimmed.size() && !IsTokenSpace(trimmed[cmd_end])) ++cmd_end;
  Node node;
  node.instruction = text::AsciiLower(trimmed.substr(0, cmd_end));
  std::string_view args;
  if (cmd_end < trimmed.size()) {
    size_t a = cmd_end;
    while (a < trimmed.size() && IsTokenSpace(trimmed[a])) ++a;
    args = text::TrimSpace(ExtractBuilderFlags(trimmed.substr(a), &node.flags));
  }
  BLD_ASSIGN_OR_RETURN(Parsed p, Dispatch(node.instruction, args, escape, depth));
  node.args = std::move(p.args);
  node.json = p.json;
  node.nested = std::move(p.nested);
  node.original = std::string(line);
  return node;
}

bool CanContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (n->instruction == "onbuild" && n->nested) n = n->nested.get();
  if (n->instruction != "add" && n->instruction != "copy" && n->instruction != "run") return false;
  return !n->json;
}

Result<bool> HeredocFromWord(std::string_view word, Heredoc* out) {
  // ^(\d*)<<(-?)([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return false;
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') {
    chomp = true;
    ++i;
  }
  std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos) return false;
  if (rest.empty()) return false;
  ShellWordOptions opts;
  opts.skip_unset_env = true;
  EnvMap none;
  BLD_ASSIGN_OR_RETURN(std::vector<std::string> words, ExpandWords(rest, none, opts));
  if (words.size() != 1) return false;
  opts.raw_quotes = true;
  BLD_ASSIGN_OR_RETURN(std::vector<std::string> raw, ExpandWords(rest, none, opts));
  if (raw.size() != words.size()) {
    return InvalidArgumentError("internal lexing of heredoc produced inconsistent results: " +
                                std::string(rest));
  }
  auto quotes = [](const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (c == '\'' || c == '"');
    return n;
  };
  unsigned long long fd = 0;
  for (char c : digits) {
    fd = fd * 10 + static_cast<unsigned>(c - '0');
    if (fd > 0xFFFFFFFFull) fd = 0xFFFFFFFFull;
  }
  out->name = words[0];
  out->file_descriptor = static_cast<unsigned>(fd);
  out->chomp = chomp;
  out->expand = quotes(words[0]) == quotes(raw[0]);
  out->content.clear();
  return true;
}

Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line) {
  ShellWordOptions opts;
  opts.raw_quotes = true;
  opts.raw_escapes = true;
  opts.skip_unset_env = true;
  EnvMap none;
  auto words = ExpandWords(line, none, opts);
  std::vector<Heredoc> docs;
  if (!words.ok()) return docs;
  for (const std::string& w : *words) {
    Heredoc h;
    BLD_ASSIGN_OR_RETURN(bool is_heredoc, HeredocFromWord(w, &h));
    if (is_heredoc) docs.push_back(std::move(h));
  }
  return docs;
}

class LineScanner {
 public:
  explicit LineScanner(std::string_view text) : text_(text) {}
  // The next line including its '\n' (the last line may lack it).
  bool Scan(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    size_t nl = text_.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? text_.size() : nl + 1;
    *line = text_.substr(pos_, end - pos_);
    pos_ = end;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Node& Node::operator=(const Node& other) {
  if (this == &other) return *this;
  instruction = other.instruction;
  flags = other.flags;
  args = other.args;
  nested = other.nested ? std::make_unique<Node>(*other.nested) : nullptr;
  json = other.json;
  heredocs = other.heredocs;
  original = other.original;
  start_line = other.start_line;
  end_line = other.end_line;
  comments = other.comments;
  return *this;
}

bool ParseHeredocWord(std::string_view word, Heredoc* out) {
  auto r = HeredocFromWord(word, out);
  return r.ok() && *r;
}

std::string ChompHeredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

Result<AST> Parse(std::string_view input, const ParseOptions& options) {
  AST ast;
  DirectiveState d;
  LineScanner scanner(input);
  int current_line = 0;
  std::vector<std::string> comments;
  std::string_view raw;

  // processLine: newline trimmed, directive looked for, comment dropped.
  auto process_line = [&](std::string_view token, bool strip_left,
                          std::string_view* out) -> Status {
    token = TrimNewline(token);
    if (strip_left) token = text::TrimLeftSpace(token);
    std::string err = d.ParseLine(token);
    if (!err.empty()) return ParseError(options, current_line + 1, err);
    *out = (!token.empty() && token[0] == '#') ? std::string_view() : token;
    return Ok();
  };

  while (scanner.Scan(&raw)) {
    std::string_view bytes = raw;
    if (current_line == 0 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
    if (IsComment(bytes)) {
      std::string c(text::TrimSpace(bytes.substr(1)));
      if (c.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(c));
      }
    }
    std::string_view token;
    BLD_TRY(process_line(bytes, true, &token));
    ++current_line;
    const int start_line = current_line;
    bool continues = TrimContinuation(&token, d.escape);
    if (!continues && token.empty()) continue;
    std::string line(token);

    bool has_empty_continuation = false;
    while (continues && scanner.Scan(&raw)) {
      std::string_view cont;
      BLD_TRY(process_line(raw, false, &cont));
      ++current_line;
      if (IsComment(raw)) continue;
      if (text::TrimLeftSpace(cont).empty()) {
        has_empty_continuation = true;
        continue;
      }
      continues = TrimContinuation(&cont, d.escape);
      line.append(cont);
    }
    if (has_empty_continuation) {
      ast.warnings.push_back(
          Warning{"empty continuation line found in: " + line +
                      " (empty continuation lines will become errors in a future release)",
                  current_line});
    }

    auto child = NewNodeFromLine(line, d.escape, 0);
    if (!child.ok()) return ParseError(options, start_line, child.error().message());

    if (CanContainHeredoc(*child) && line.find("<<") != std::string::npos) {
      auto heredocs = HeredocsFromLine(line);
      if (!heredocs.ok()) return ParseError(options, start_line, heredocs.error().message());
      for (Heredoc& h : *heredocs) {
        bool terminated = false;
        while (scanner.Scan(&raw)) {
          ++current_line;
          std::string_view candidate = TrimNewline(raw);
          if (h.chomp) {
            while (!candidate.empty() && candidate[0] == '\t') candidate.remove_prefix(1);
          }
          if (candidate == h.name) {
            terminated = true;
            break;
          }
          h.content.append(raw);
        }
        if (!terminated) {
          return ParseError(options, start_line,
                            "unterminated heredoc " + text::GoQuote(h.name) +
                                " (no line with just " + h.name + " after it)");
        }
        child->heredocs.push_back(std::move(h));
      }
    }
    child->start_line = start_line;
    child->end_line = current_line;
    child->comments = std::move(comments);
    comments.clear();
    ast.children.push_back(std::move(*child));
  }
  if (ast.children.empty()) {
    return ParseError(options, current_line, "file with no instructions");
  }
  ast.escape_token = d.escape;
  ast.directives = std::move(d.found);
  return ast;
}

std::string DumpNode(const Node& node) {
  std::string s = text::AsciiLower(node.instruction);
  if (!node.flags.empty()) {
    std::vector<std::string> shown;
    for (const std::string& f : node.flags) shown.push_back(Latin1ToUtf8(f));
    s += " " + text::GoQuoteList(shown.data(), shown.data() + shown.size());
  }
  if (node.nested) s += " (" + DumpNode(*node.nested) + ")";
  for (const std::string& a : node.args) {
    s.push_back(' ');
    s += text::GoQuote(a);
  }
  return std::string(text::TrimSpace(s));
}

std::string Dump(const AST& ast) {
  std::string out;
  for (const Node& n : ast.children) {
    out += "(" + DumpNode(n) + ")\n";
  }
  return out;
}

}  // namespace bld::parser
