#include "parser/shell_word.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "parser/unicode.h"

namespace bld::parser {
namespace {

using Rune = int32_t;
constexpr Rune kEof = -1;

std::string RuneString(Rune r) {
  std::string s;
  text::AppendRune(&s, r < 0 ? text::kRuneError : static_cast<char32_t>(r));
  return s;
}

// A rune reader like Go's text/scanner: invalid UTF-8 reads as U+FFFD, a
// leading byte order mark is skipped.
class RuneScanner {
 public:
  explicit RuneScanner(std::string_view s) : s_(s) {
    if (!s_.empty()) {
      auto d = text::DecodeRune(s_, 0);
      if (d.rune == 0xFEFF) pos_ = d.width;
    }
  }
  Rune Peek() const {
    if (pos_ >= s_.size()) return kEof;
    return static_cast<Rune>(text::DecodeRune(s_, pos_).rune);
  }
  Rune Next() {
    if (pos_ >= s_.size()) return kEof;
    auto d = text::DecodeRune(s_, pos_);
    pos_ += d.width;
    return static_cast<Rune>(d.rune);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

void WriteRune(std::string* out, Rune r) {
  text::AppendRune(out, r < 0 ? text::kRuneError : static_cast<char32_t>(r));
}

std::vector<Rune> ToRunes(std::string_view s) {
  std::vector<Rune> out;
  for (size_t i = 0; i < s.size();) {
    auto d = text::DecodeRune(s, i);
    out.push_back(static_cast<Rune>(d.rune));
    i += d.width;
  }
  return out;
}

std::string FromRunes(const std::vector<Rune>& runes) {
  std::string out;
  for (Rune r : runes) WriteRune(&out, r);
  return out;
}

// Splits text into words at whitespace, as the shell does for unquoted text.
struct WordSplitter {
  std::string word;
  std::vector<std::string> words;
  bool in_word = false;

  void AddChar(Rune ch) {
    bool space = ch >= 0 && text::IsSpace(static_cast<char32_t>(ch));
    if (space && in_word) {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else if (!space) {
      AddRawChar(ch);
    }
  }
  void AddRawChar(Rune ch) {
    WriteRune(&word, ch);
    in_word = true;
  }
  void AddString(std::string_view s) {
    for (Rune r : ToRunes(s)) AddChar(r);
  }
  void AddRawString(std::string_view s) {
    word += s;
    in_word = true;
  }
  std::vector<std::string> TakeWords() {
    if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
      in_word = false;
    }
    return std::move(words);
  }
};

Error SyntaxError(std::string m) { return InvalidArgumentError(std::move(m)); }

// Converts a shell pattern (`*`, `?`, escapes; no brackets) to an RE2 pattern.
Result<std::string> ShellPatternToRegex(std::string_view pattern, bool greedy, bool anchored) {
  RuneScanner s(pattern);
  std::string out;
  if (anchored) out.push_back('^');
  const char* star = greedy ? ".*" : ".*?";
  for (Rune tok = s.Next(); tok != kEof; tok = s.Next()) {
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out.push_back('.');
        continue;
      case '\\':
        if (s.Peek() == '}' || s.Peek() == '/') continue;
        out.push_back('\\');
        tok = s.Next();
        if (tok != '*' && tok != '?' && tok != '\\') {
          return SyntaxError("invalid escape '\\" + RuneString(tok) + "'");
        }
        break;
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out.push_back('\\');
        break;
      default:
        break;
    }
    WriteRune(&out, tok);
  }
  return out;
}

Result<std::unique_ptr<RE2>> CompilePattern(std::string_view pattern, bool greedy, bool anchored) {
  auto re_text = ShellPatternToRegex(pattern, greedy, anchored);
  if (!re_text.ok()) {
    return SyntaxError("invalid pattern (" + std::string(pattern) +
                       ") in substitution: " + re_text.error().message());
  }
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(*re_text, opts);
  if (!re->ok()) {
    return SyntaxError("invalid pattern (" + std::string(pattern) +
                       ") in substitution: " + re->error());
  }
  return re;
}

// Finds the leftmost match of re in s at or after `from`: [begin, end), or false.
bool FindMatch(const RE2& re, std::string_view s, size_t from, size_t* begin, size_t* end) {
  re2::StringPiece m;
  if (!re.Match(re2::StringPiece(s.data(), s.size()), from, s.size(), RE2::UNANCHORED, &m, 1)) {
    return false;
  }
  *begin = static_cast<size_t>(m.data() - s.data());
  *end = *begin + m.size();
  return true;
}

// Go's Regexp.Expand of `tmpl` for a pattern whose only group is the whole match.
void ExpandTemplate(std::string* dst, std::string_view tmpl, std::string_view match) {
  while (!tmpl.empty()) {
    size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    dst->append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      dst->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view str = tmpl;
    bool brace = false;
    if (!str.empty() && str[0] == '{') {
      brace = true;
      str.remove_prefix(1);
    }
    size_t i = 0;
    while (i < str.size()) {
      auto d = text::DecodeRune(str, i);
      if (!text::IsLetter(d.rune) && !text::IsDigit(d.rune) && d.rune != '_') break;
      i += d.width;
    }
    bool ok = i > 0;
    std::string_view name = str.substr(0, i);
    if (ok && brace) {
      if (i >= str.size() || str[i] != '}')
        ok = false;
      else
        ++i;
    }
    if (!ok) {
      dst->push_back('$');
      continue;
    }
    tmpl = str.substr(i);
    long num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name[0] == '0' && name.size() > 1) num = -1;
    if (num == 0) dst->append(match);
  }
  dst->append(tmpl);
}

// Go's Regexp.ReplaceAllString.
std::string ReplaceAll(const RE2& re, std::string_view src, std::string_view repl) {
  std::string dst;
  size_t last_match_end = 0, search_pos = 0;
  while (search_pos <= src.size()) {
    size_t a0, a1;
    if (!FindMatch(re, src, search_pos, &a0, &a1)) break;
    dst.append(src.substr(last_match_end, a0 - last_match_end));
    if (a1 > last_match_end || a0 == 0) ExpandTemplate(&dst, repl, src.substr(a0, a1 - a0));
    last_match_end = a1;
    size_t width = search_pos < src.size() ? text::DecodeRune(src, search_pos).width : 1;
    if (search_pos + width > a1) {
      search_pos += width;
    } else if (search_pos + 1 > a1) {
      search_pos++;
    } else {
      search_pos = a1;
    }
  }
  dst.append(src.substr(std::min(last_match_end, src.size())));
  return dst;
}

Result<std::string> TrimPrefixPattern(std::string_view pattern, std::string value, bool greedy) {
  BLD_ASSIGN_OR_RETURN(auto re, CompilePattern(pattern, greedy, /*anchored=*/true));
  size_t b, e;
  if (FindMatch(*re, value, 0, &b, &e)) value = value.substr(e);
  return value;
}

// Reverses a pattern without reversing escapes: a\*c -> c\*a.
std::string ReversePattern(std::string_view pattern) {
  std::vector<Rune> in = ToRunes(pattern);
  std::vector<Rune> out(in.size());
  if (in.empty()) return "";
  size_t last = in.size() - 1;
  for (size_t i = 0; i <= last;) {
    size_t out_idx = last - i;
    if (in[i] == '\\' && i != last) {
      out[out_idx - 1] = in[i];
      out[out_idx] = in[i + 1];
      i += 2;
    } else {
      out[out_idx] = in[i];
      i++;
    }
  }
  return FromRunes(out);
}

std::string ReverseString(std::string_view s) {
  std::vector<Rune> r = ToRunes(s);
  std::reverse(r.begin(), r.end());
  return FromRunes(r);
}

bool IsSpecialParam(Rune ch) {
  switch (ch) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

class ShellWord {
 public:
  ShellWord(std::string_view src, const EnvMap& env, const ShellWordOptions& opts,
            ShellWordResult* result)
      : scanner_(src), env_(env), opts_(opts), raw_escapes_(opts.raw_escapes), result_(result) {}

  struct Processed {
    std::string word;
    std::vector<std::string> words;
  };

  Result<Processed> ProcessStopOn(Rune stop, bool raw_escapes) {
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    auto r = ProcessStopOnImpl(stop);
    raw_escapes_ = saved;
    return r;
  }

 private:
  Result<Processed> ProcessStopOnImpl(Rune stop) {
    std::string result;
    WordSplitter words;
    const Rune escape = static_cast<unsigned char>(opts_.escape_token);
    while (scanner_.Peek() != kEof) {
      Rune ch = scanner_.Peek();
      if (stop != kEof && ch == stop) {
        scanner_.Next();
        return Processed{std::move(result), words.TakeWords()};
      }
      bool quote = !opts_.skip_process_quotes && (ch == '\'' || ch == '"');
      if (ch == '$' || quote) {
        Result<std::string> tmp = ch == '$'    ? ProcessDollar()
                                  : ch == '\'' ? ProcessSingleQuote()
                                               : ProcessDoubleQuote();
        if (!tmp.ok()) return std::move(tmp).error();
        result += *tmp;
        if (ch == '$') {
          words.AddString(*tmp);
        } else {
          words.AddRawString(*tmp);
        }
        continue;
      }
      ch = scanner_.Next();
      if (ch == escape) {
        if (raw_escapes_) {
          words.AddRawChar(ch);
          WriteRune(&result, ch);
        }
        ch = scanner_.Next();
        if (ch == kEof) break;
        words.AddRawChar(ch);
      } else {
        words.AddChar(ch);
      }
      WriteRune(&result, ch);
    }
    if (stop != kEof) {
      return SyntaxError("unexpected end of statement while looking for matching " +
                         RuneString(stop));
    }
    return Processed{std::move(result), words.TakeWords()};
  }

  Result<std::string> ProcessSingleQuote() {
    std::string result;
    Rune ch = scanner_.Next();
    if (opts_.raw_quotes) WriteRune(&result, ch);
    for (;;) {
      ch = scanner_.Next();
      if (ch == kEof) {
        return SyntaxError("unexpected end of statement while looking for matching single-quote");
      }
      if (ch == '\'') {
        if (opts_.raw_quotes) WriteRune(&result, ch);
        return result;
      }
      WriteRune(&result, ch);
    }
  }

  Result<std::string> ProcessDoubleQuote() {
    std::string result;
    const Rune escape = static_cast<unsigned char>(opts_.escape_token);
    Rune ch = scanner_.Next();
    if (opts_.raw_quotes) WriteRune(&result, ch);
    for (;;) {
      Rune p = scanner_.Peek();
      if (p == kEof) {
        return SyntaxError("unexpected end of statement while looking for matching double-quote");
      }
      if (p == '"') {
        ch = scanner_.Next();
        if (opts_.raw_quotes) WriteRune(&result, ch);
        return result;
      }
      if (p == '$') {
        BLD_ASSIGN_OR_RETURN(std::string value, ProcessDollar());
        result += value;
        continue;
      }
      ch = scanner_.Next();
      if (ch == escape) {
        if (raw_escapes_) WriteRune(&result, ch);
        Rune n = scanner_.Peek();
        if (n == kEof) continue;
        if (n == '"' || n == '$' || n == escape) ch = scanner_.Next();
      }
      WriteRune(&result, ch);
    }
  }

  Result<std::string> ProcessDollar() {
    // ${a:-${b:-...}} recurses; bound it so hostile input cannot exhaust the stack.
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{++depth_};
    if (depth_ > kMaxDepth) return SyntaxError("syntax error: substitutions nested too deeply");
    scanner_.Next();  // '$'
    if (scanner_.Peek() != '{') {
      std::string name = ProcessName();
      if (name.empty()) return std::string("$");
      const std::string* value = GetEnv(name);
      if (value == nullptr && opts_.skip_unset_env) return "$" + name;
      return value != nullptr ? *value : std::string();
    }
    scanner_.Next();  // '{'
    switch (scanner_.Peek()) {
      case kEof:
        return SyntaxError("syntax error: missing '}'");
      case '{':
      case '}':
      case ':':
        return SyntaxError("syntax error: bad substitution");
      default:
        break;
    }
    std::string name = ProcessName();
    Rune ch = scanner_.Next();
    std::string chs = RuneString(ch);
    bool null_is_unset = false;
    if (ch == '}') {
      const std::string* value = GetEnv(name);
      if (value == nullptr && opts_.skip_unset_env) return "${" + name + "}";
      return value != nullptr ? *value : std::string();
    }
    if (ch == ':' || ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
      if (ch == ':') {
        null_is_unset = true;
        ch = scanner_.Next();
        chs += RuneString(ch);
      }
      bool raw = ch == '#' || ch == '%';
      auto processed = ProcessStopOn('}', raw);
      if (!processed.ok()) {
        if (scanner_.Peek() == kEof) return SyntaxError("syntax error: missing '}'");
        return std::move(processed).error();
      }
      std::string word = std::move(processed->word);
      const std::string* value = GetEnv(name);
      bool set = value != nullptr;
      if (opts_.skip_unset_env && !set) return "${" + name + chs + word + "}";
      switch (ch) {
        case '-':
          if (!set || (null_is_unset && value->empty())) return word;
          return *value;
        case '+':
          if (!set || (null_is_unset && value->empty())) return std::string();
          return word;
        case '?':
          if (!set) {
            return SyntaxError(name + ": " + (word.empty() ? "is not allowed to be unset" : word));
          }
          if (null_is_unset && value->empty()) {
            return SyntaxError(name + ": " + (word.empty() ? "is not allowed to be empty" : word));
          }
          return *value;
        case '%':
        case '#': {
          bool greedy = false;
          if (!word.empty() && static_cast<unsigned char>(word[0]) == ch) {
            greedy = true;
            word.erase(0, 1);
          }
          std::string v = set ? *value : std::string();
          if (ch == '%') {
            BLD_ASSIGN_OR_RETURN(std::string r,
                                 TrimPrefixPattern(ReversePattern(word), ReverseString(v), greedy));
            return ReverseString(r);
          }
          return TrimPrefixPattern(word, std::move(v), greedy);
        }
        default:
          return SyntaxError("unsupported modifier (" + chs + ") in substitution");
      }
    }
    if (ch == '/') {
      bool replace_all = scanner_.Peek() == '/';
      if (replace_all) scanner_.Next();
      auto pattern = ProcessStopOn('/', true);
      if (!pattern.ok()) {
        if (scanner_.Peek() == kEof) return SyntaxError("syntax error: missing '/' in ${}");
        return std::move(pattern).error();
      }
      auto replacement = ProcessStopOn('}', true);
      if (!replacement.ok()) {
        if (scanner_.Peek() == kEof) return SyntaxError("syntax error: missing '}'");
        return std::move(replacement).error();
      }
      const std::string* value = GetEnv(name);
      if (opts_.skip_unset_env && value == nullptr) {
        return "${" + name + "/" + pattern->word + "/" + replacement->word + "}";
      }
      BLD_ASSIGN_OR_RETURN(auto re, CompilePattern(pattern->word, true, false));
      std::string v = value != nullptr ? *value : std::string();
      if (replace_all) return ReplaceAll(*re, v, replacement->word);
      size_t b, e;
      if (FindMatch(*re, v, 0, &b, &e)) v = v.substr(0, b) + replacement->word + v.substr(e);
      return v;
    }
    return SyntaxError("unsupported modifier (" + chs + ") in substitution");
  }

  std::string ProcessName() {
    std::string name;
    while (scanner_.Peek() != kEof) {
      Rune ch = scanner_.Peek();
      if (name.empty() && text::IsDigit(static_cast<char32_t>(ch))) {
        while (scanner_.Peek() != kEof && text::IsDigit(static_cast<char32_t>(scanner_.Peek()))) {
          WriteRune(&name, scanner_.Next());
        }
        return name;
      }
      if (name.empty() && IsSpecialParam(ch)) {
        scanner_.Next();
        return RuneString(ch);
      }
      auto c = static_cast<char32_t>(ch);
      if (!text::IsLetter(c) && !text::IsDigit(c) && ch != '_') break;
      WriteRune(&name, scanner_.Next());
    }
    return name;
  }

  const std::string* GetEnv(const std::string& name) {
    auto it = env_.find(name);
    if (it == env_.end()) {
      result_->unmatched.insert(name);
      return nullptr;
    }
    result_->matched.insert(name);
    return &it->second;
  }

  static constexpr int kMaxDepth = 256;
  int depth_ = 0;
  RuneScanner scanner_;
  const EnvMap& env_;
  const ShellWordOptions& opts_;
  bool raw_escapes_;
  ShellWordResult* result_;
};

}  // namespace

EnvMap BuildEnvMap(const std::vector<std::string>& env) {
  EnvMap out;
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) {
      out[e] = "";
    } else {
      out[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return out;
}

Result<ShellWordResult> ProcessShellWord(std::string_view word, const EnvMap& env,
                                         const ShellWordOptions& options) {
  ShellWordResult result;
  ShellWord sw(word, env, options, &result);
  auto processed = sw.ProcessStopOn(kEof, options.raw_escapes);
  if (!processed.ok()) {
    return InvalidArgumentError("failed to process " + text::GoQuote(word) + ": " +
                                processed.error().message());
  }
  result.word = std::move(processed->word);
  result.words = std::move(processed->words);
  return result;
}

Result<std::string> ExpandWord(std::string_view word, const EnvMap& env,
                               const ShellWordOptions& options) {
  BLD_ASSIGN_OR_RETURN(ShellWordResult r, ProcessShellWord(word, env, options));
  return std::move(r.word);
}

Result<std::vector<std::string>> ExpandWords(std::string_view word, const EnvMap& env,
                                             const ShellWordOptions& options) {
  BLD_ASSIGN_OR_RETURN(ShellWordResult r, ProcessShellWord(word, env, options));
  return std::move(r.words);
}

}  // namespace bld::parser
