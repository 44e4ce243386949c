#include "parser/instructions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "parser/unicode.h"

namespace bld::parser {
namespace {

Error At(const ParseOptions& o, int line, std::string_view msg) {
  return InvalidArgumentError(o.file_name + ":" + std::to_string(line) + ": " + std::string(msg));
}

constexpr std::string_view kInstructionNames[] = {
    "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
    "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
    "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};

size_t Levenshtein(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate within a small edit distance, or "".
std::string Suggest(std::string_view value, const std::vector<std::string_view>& candidates) {
  std::string v = text::AsciiLower(value);
  size_t best = SIZE_MAX;
  std::string_view pick;
  for (std::string_view c : candidates) {
    size_t d = Levenshtein(v, text::AsciiLower(c));
    if (d < best) {
      best = d;
      pick = c;
    }
  }
  size_t limit = v.size() <= 3 ? 1 : v.size() <= 6 ? 2 : 3;
  if (pick.empty() || best > limit) return "";
  return std::string(pick);
}

// ---- flags -------------------------------------------------------------------

enum class FlagKind { kBool, kString, kStrings };
struct FlagSpec {
  std::string_view name;
  FlagKind kind;
};

// Every flag any instruction knows, to tell "not valid here" from "unknown".
const std::vector<std::string_view>& AllFlagNames() {
  static const std::vector<std::string_view> names = {
      "platform", "mount",   "network",      "security",       "from",     "chown",
      "chmod",    "link",    "parents",      "exclude",        "checksum", "keep-git-dir",
      "interval", "timeout", "start-period", "start-interval", "retries"};
  return names;
}

class Flags {
 public:
  bool Used(std::string_view n) const { return values_.count(std::string(n)) > 0; }
  std::string String(std::string_view n) const {
    auto it = values_.find(std::string(n));
    return it == values_.end() || it->second.empty() ? "" : it->second.back();
  }
  bool Bool(std::string_view n) const { return String(n) == "true"; }
  std::vector<std::string> Strings(std::string_view n) const {
    auto it = values_.find(std::string(n));
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  std::map<std::string, std::vector<std::string>> values_;
};

Result<Flags> ParseFlags(std::string_view instr, const std::vector<std::string>& flags,
                         std::initializer_list<FlagSpec> specs) {
  Flags out;
  auto valid_list = [&] {
    std::string s;
    for (const FlagSpec& f : specs)
      s += std::string(s.empty() ? "" : ", ") + "--" + std::string(f.name);
    return s.empty() ? std::string(instr) + " takes no flags" : "valid flags: " + s;
  };
  for (const std::string& arg : flags) {
    if (arg.rfind("--", 0) != 0) return InvalidArgumentError("flag should start with --: " + arg);
    if (arg == "--") break;
    std::string_view body = std::string_view(arg).substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string value = has_value ? std::string(body.substr(eq + 1)) : "";
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : specs) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) {
      const auto& all = AllFlagNames();
      if (std::find(all.begin(), all.end(), name) != all.end()) {
        return InvalidArgumentError("flag --" + name + " is not valid for " + std::string(instr) +
                                    " (" + valid_list() + ")");
      }
      std::vector<std::string_view> cands;
      for (const FlagSpec& f : specs) cands.push_back(f.name);
      std::string hint = Suggest(name, cands);
      return InvalidArgumentError(
          "unknown flag --" + name + " for " + std::string(instr) +
          (hint.empty() ? " (" + valid_list() + ")" : " (did you mean --" + hint + "?)"));
    }
    if (out.Used(name) && spec->kind != FlagKind::kStrings) {
      return InvalidArgumentError("duplicate flag --" + name + " for " + std::string(instr));
    }
    switch (spec->kind) {
      case FlagKind::kBool: {
        if (has_value && value.empty()) {
          return InvalidArgumentError("missing a value on flag --" + name);
        }
        std::string lower = text::AsciiLower(value);
        if (lower.empty()) lower = "true";
        if (lower != "true" && lower != "false") {
          return InvalidArgumentError("expecting boolean value for flag --" + name +
                                      ", not: " + value);
        }
        out.values_[name] = {lower};
        break;
      }
      case FlagKind::kString:
      case FlagKind::kStrings:
        if (!has_value) return InvalidArgumentError("missing a value on flag --" + name);
        out.values_[name].push_back(value);
        break;
    }
  }
  return out;
}

// ---- helpers -----------------------------------------------------------------

Error AtLeastOne(std::string_view i) {
  return InvalidArgumentError(std::string(i) + " requires at least one argument");
}
Error ExactlyOne(std::string_view i) {
  return InvalidArgumentError(std::string(i) + " requires exactly one argument");
}

CommandLine MakeCommandLine(const Node& n) {
  CommandLine c;
  if (n.json) {
    c.args = n.args;
  } else {
    std::string joined;
    for (size_t i = 0; i < n.args.size(); ++i) joined += (i ? " " : "") + n.args[i];
    c.args = {joined};
    c.prepend_shell = true;
  }
  return c;
}

Result<std::vector<KeyValue>> ParseKvps(const Node& n, std::string_view instr) {
  if (n.args.empty()) return AtLeastOne(instr);
  if (n.args.size() % 3 != 0) {
    return InvalidArgumentError(std::string(instr) + ": malformed key/value arguments");
  }
  std::vector<KeyValue> out;
  for (size_t i = 0; i < n.args.size(); i += 3) {
    if (n.args[i].empty()) {
      return InvalidArgumentError(std::string(instr) + " names can not be blank");
    }
    out.push_back(KeyValue{n.args[i], n.args[i + 1]});
  }
  return out;
}

Result<bool> ParseGoBool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") {
    return false;
  }
  return InvalidArgumentError("invalid boolean");
}

Result<uint64_t> ParseUnsigned(std::string_view v, int base, uint64_t max) {
  if (v.empty()) return InvalidArgumentError("empty number");
  uint64_t n = 0;
  for (char c : v) {
    int d = (c >= '0' && c <= '9') ? c - '0' : 99;
    if (d >= base) return InvalidArgumentError("invalid number");
    n = n * base + d;
    if (n > max) return InvalidArgumentError("number out of range");
  }
  return n;
}

// docker/go-units RAMInBytes: "64m", "1.5g", "100" (bytes); binary multiples.
Result<uint64_t> ParseRamBytes(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) ++i;
  if (i == 0) return InvalidArgumentError("invalid size");
  double num = 0;
  try {
    num = std::stod(std::string(v.substr(0, i)));
  } catch (...) {
    return InvalidArgumentError("invalid size");
  }
  std::string unit = text::AsciiLower(v.substr(i));
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  double mult = 1;
  if (unit.empty())
    mult = 1;
  else if (unit == "k")
    mult = 1024.0;
  else if (unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "p")
    mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
  else if (unit != "b")
    return InvalidArgumentError("invalid size unit");
  double bytes = num * mult;
  if (!(bytes >= 0) || bytes > 1.8e19) return InvalidArgumentError("invalid size");
  return static_cast<uint64_t>(bytes);
}

// encoding/csv: one record, fields separated by ',', optionally "quoted".
Result<std::vector<std::string>> ParseCsvRecord(std::string_view s) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return InvalidArgumentError("extraneous or missing \" in quoted-field");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(s[i++]);
      }
      if (i < s.size() && s[i] != ',') {
        return InvalidArgumentError("extraneous or missing \" in quoted-field");
      }
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') return InvalidArgumentError("bare \" in non-quoted-field");
        field.push_back(s[i++]);
      }
    }
    fields.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // ','
  }
  return fields;
}

Result<Mount> ParseMountImpl(std::string_view spec, bool lenient) {
  auto fields_or = ParseCsvRecord(spec);
  if (!fields_or.ok()) {
    return InvalidArgumentError("failed to parse csv mounts: " + fields_or.error().message());
  }
  Mount m;
  bool ro_auto = true;
  bool sharing_set = false;
  for (const std::string& field : *fields_or) {
    size_t eq = field.find('=');
    std::string key = text::AsciiLower(std::string_view(field).substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.read_only = true;
        ro_auto = false;
        continue;
      }
      if (key == "readwrite" || key == "rw") {
        m.read_only = false;
        ro_auto = false;
        continue;
      }
      if (key == "required") {
        if (m.type == MountType::kSecret || m.type == MountType::kSsh) {
          m.required = true;
          continue;
        }
        return InvalidArgumentError("unexpected key 'required' for mount type '" +
                                    std::string(MountTypeName(m.type)) + "'");
      }
      return InvalidArgumentError("invalid field '" + field + "' must be a key=value pair");
    }
    std::string value = field.substr(eq + 1);
    if (lenient && value.find('$') != std::string::npos) {
      // Depends on build variables: kept for the builder to parse once expanded.
      if (key == "from")
        m.from = value;
      else if (key == "source" || key == "src")
        m.source = value;
      else if (key == "target" || key == "dst" || key == "destination")
        m.target = value;
      else if (key == "id")
        m.id = value;
      else if (key == "env")
        m.env = value;
      continue;
    }
    auto bad = [&](std::string_view what) {
      return InvalidArgumentError("invalid value " + value + " for " + std::string(what));
    };
    if (key == "type") {
      std::string t = text::AsciiLower(value);
      if (t == "bind")
        m.type = MountType::kBind;
      else if (t == "cache")
        m.type = MountType::kCache;
      else if (t == "tmpfs")
        m.type = MountType::kTmpfs;
      else if (t == "secret")
        m.type = MountType::kSecret;
      else if (t == "ssh")
        m.type = MountType::kSsh;
      else {
        std::string hint = Suggest(t, {"bind", "cache", "tmpfs", "secret", "ssh"});
        return InvalidArgumentError("unsupported mount type " + text::GoQuote(value) +
                                    (hint.empty() ? "" : " (did you mean " + hint + "?)"));
      }
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = ParseGoBool(value);
      if (!b.ok()) return InvalidArgumentError("invalid value for " + key + ": " + value);
      m.read_only = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != MountType::kSecret && m.type != MountType::kSsh) {
        return InvalidArgumentError("unexpected key 'required' for mount type '" +
                                    std::string(MountTypeName(m.type)) + "'");
      }
      auto b = ParseGoBool(value);
      if (!b.ok()) return InvalidArgumentError("invalid value for required: " + value);
      m.required = *b;
    } else if (key == "id") {
      m.id = value;
    } else if (key == "sharing") {
      std::string s = text::AsciiLower(value);
      if (s == "shared")
        m.sharing = CacheSharing::kShared;
      else if (s == "private")
        m.sharing = CacheSharing::kPrivate;
      else if (s == "locked")
        m.sharing = CacheSharing::kLocked;
      else
        return InvalidArgumentError("unsupported sharing value " + text::GoQuote(value));
      sharing_set = true;
    } else if (key == "mode") {
      auto v = ParseUnsigned(value, 8, 0xFFFFFFFFull);
      if (!v.ok()) return bad("mode");
      m.mode = static_cast<uint32_t>(*v);
    } else if (key == "uid" || key == "gid") {
      auto v = ParseUnsigned(value, 10, 0xFFFFFFFFull);
      if (!v.ok()) return bad(key);
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(*v);
    } else if (key == "size") {
      if (m.type != MountType::kTmpfs) {
        return InvalidArgumentError("size is only valid for tmpfs mounts");
      }
      auto v = ParseRamBytes(value);
      if (!v.ok()) return bad("size");
      m.size_bytes = *v;
    } else if (key == "env") {
      if (m.type != MountType::kSecret) {
        return InvalidArgumentError("env is only valid for secret mounts");
      }
      m.env = value;
    } else {
      std::string hint = Suggest(
          key, {"type", "from", "source", "target", "readonly", "id", "sharing", "required", "mode",
                "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "size", "env"});
      return InvalidArgumentError("unexpected key '" + key + "' in '" + field + "'" +
                                  (hint.empty() ? "" : " (did you mean " + hint + "?)"));
    }
  }
  bool file_info =
      m.type == MountType::kSecret || m.type == MountType::kSsh || m.type == MountType::kCache;
  std::string tname(MountTypeName(m.type));
  if (m.mode && !file_info)
    return InvalidArgumentError("mode not allowed for \"" + tname + "\" type mounts");
  if (m.uid && !file_info)
    return InvalidArgumentError("uid not allowed for \"" + tname + "\" type mounts");
  if (m.gid && !file_info)
    return InvalidArgumentError("gid not allowed for \"" + tname + "\" type mounts");
  if (ro_auto) m.read_only = !(m.type == MountType::kCache || m.type == MountType::kTmpfs);
  if (sharing_set && m.type != MountType::kCache) {
    return InvalidArgumentError("invalid cache sharing set for " + tname + " mount");
  }
  if (m.type == MountType::kSecret) {
    if (!m.from.empty()) return InvalidArgumentError("secret mount should not have a from");
    if (m.source.empty() && m.target.empty() && m.id.empty() && m.env.empty()) {
      return InvalidArgumentError(
          "invalid secret mount: one of id, source, target or env required");
    }
    if (!m.source.empty() && !m.id.empty()) {
      return InvalidArgumentError("both source and id can't be set");
    }
  }
  if ((m.type == MountType::kBind || m.type == MountType::kCache || m.type == MountType::kTmpfs) &&
      m.target.empty()) {
    return InvalidArgumentError("mount type " + tname + " requires a target");
  }
  return m;
}

// ---- per instruction -----------------------------------------------------------

Result<InstructionValue> ParseRun(const Node& n) {
  BLD_ASSIGN_OR_RETURN(Flags f, ParseFlags("RUN", n.flags,
                                           {{"mount", FlagKind::kStrings},
                                            {"network", FlagKind::kString},
                                            {"security", FlagKind::kString}}));
  if (n.args.empty() && !n.json) return AtLeastOne("RUN");
  RunInstruction r;
  r.command = MakeCommandLine(n);
  if (n.json && r.command.args.empty()) return AtLeastOne("RUN");
  for (const Heredoc& h : n.heredocs) {
    Heredoc c = h;
    if (c.chomp) c.content = ChompHeredoc(c.content);
    r.heredocs.push_back(std::move(c));
  }
  for (const std::string& spec : f.Strings("mount")) {
    auto m = ParseMountImpl(spec, /*lenient=*/true);
    if (!m.ok()) return InvalidArgumentError("--mount=" + spec + ": " + m.error().message());
    r.mount_specs.push_back(spec);
    r.mounts.push_back(std::move(*m));
  }
  if (f.Used("network")) {
    std::string v = f.String("network");
    if (v == "default")
      r.network = NetworkMode::kDefault;
    else if (v == "none")
      r.network = NetworkMode::kNone;
    else if (v == "host")
      r.network = NetworkMode::kHost;
    else {
      return InvalidArgumentError("unsupported network mode " + text::GoQuote(v) +
                                  " (valid: default, none, host)");
    }
  }
  if (f.Used("security")) {
    std::string v = f.String("security");
    if (v == "sandbox")
      r.security = SecurityMode::kSandbox;
    else if (v == "insecure")
      r.security = SecurityMode::kInsecure;
    else {
      return InvalidArgumentError("unsupported security mode " + text::GoQuote(v) +
                                  " (valid: sandbox, insecure)");
    }
  }
  return InstructionValue(std::move(r));
}

Result<InstructionValue> ParseCopyOrAdd(const Node& n, bool add) {
  std::string_view instr = add ? "ADD" : "COPY";
  Result<Flags> flags = add ? ParseFlags(instr, n.flags,
                                         {{"chown", FlagKind::kString},
                                          {"chmod", FlagKind::kString},
                                          {"link", FlagKind::kBool},
                                          {"exclude", FlagKind::kStrings},
                                          {"checksum", FlagKind::kString},
                                          {"keep-git-dir", FlagKind::kBool}})
                            : ParseFlags(instr, n.flags,
                                         {{"from", FlagKind::kString},
                                          {"chown", FlagKind::kString},
                                          {"chmod", FlagKind::kString},
                                          {"link", FlagKind::kBool},
                                          {"parents", FlagKind::kBool},
                                          {"exclude", FlagKind::kStrings}});
  if (!flags.ok()) return std::move(flags).error();
  const Flags& f = *flags;
  if (n.args.size() < 2) {
    return InvalidArgumentError(std::string(instr) + " requires at least two arguments, but only " +
                                (n.args.empty() ? "none was" : "one was") +
                                " provided. Destination could not be determined.");
  }
  CopyInstruction c;
  c.add = add;
  c.dest = n.args.back();
  Heredoc probe;
  if (ParseHeredocWord(c.dest, &probe)) {
    return InvalidArgumentError(std::string(instr) + " cannot accept a heredoc as a destination");
  }
  for (size_t i = 0; i + 1 < n.args.size(); ++i) {
    const std::string& src = n.args[i];
    Heredoc h;
    if (ParseHeredocWord(src, &h)) {
      InlineSource s;
      s.path = h.name;
      s.expand = h.expand;
      for (const Heredoc& body : n.heredocs) {
        if (body.name == h.name) s.data = body.content;
      }
      if (h.chomp) s.data = ChompHeredoc(s.data);
      c.inline_sources.push_back(std::move(s));
    } else {
      c.sources.push_back(src);
    }
  }
  c.from = f.String("from");
  c.chown = f.String("chown");
  c.chmod = f.String("chmod");
  c.link = f.Bool("link");
  c.parents = f.Bool("parents");
  c.exclude = f.Strings("exclude");
  c.checksum = f.String("checksum");
  c.keep_git_dir = f.Bool("keep-git-dir");
  if (f.Used("from") && c.from.empty()) {
    return InvalidArgumentError("COPY --from requires a stage name, index or image");
  }
  if (!c.checksum.empty() && c.sources.size() + c.inline_sources.size() != 1) {
    return InvalidArgumentError("ADD --checksum can't be specified for multiple sources");
  }
  for (const std::string& e : c.exclude) {
    if (e.empty()) return InvalidArgumentError(std::string(instr) + " --exclude pattern is empty");
  }
  return InstructionValue(std::move(c));
}

Result<InstructionValue> ParseHealthcheck(const Node& n) {
  if (n.args.empty()) return AtLeastOne("HEALTHCHECK");
  HealthcheckInstruction h;
  std::string type = text::AsciiUpper(n.args[0]);
  if (type == "NONE") {
    if (n.args.size() != 1) return InvalidArgumentError("HEALTHCHECK NONE takes no arguments");
    if (!n.flags.empty()) return InvalidArgumentError("HEALTHCHECK NONE takes no flags");
    h.test = {"NONE"};
    return InstructionValue(std::move(h));
  }
  BLD_ASSIGN_OR_RETURN(Flags f, ParseFlags("HEALTHCHECK", n.flags,
                                           {{"interval", FlagKind::kString},
                                            {"timeout", FlagKind::kString},
                                            {"start-period", FlagKind::kString},
                                            {"start-interval", FlagKind::kString},
                                            {"retries", FlagKind::kString}}));
  if (type != "CMD") {
    return InvalidArgumentError("unknown type " + text::GoQuote(n.args[0]) +
                                " in HEALTHCHECK (try CMD or NONE)");
  }
  std::vector<std::string> cmd(n.args.begin() + 1, n.args.end());
  if (!n.json) {
    std::string joined;
    for (size_t i = 0; i < cmd.size(); ++i) joined += (i ? " " : "") + cmd[i];
    cmd = {joined};
  }
  if (cmd.empty() || (cmd.size() == 1 && cmd[0].empty())) {
    return InvalidArgumentError("missing command after HEALTHCHECK CMD");
  }
  h.test = {n.json ? "CMD" : "CMD-SHELL"};
  h.test.insert(h.test.end(), cmd.begin(), cmd.end());
  struct {
    const char* flag;
    int64_t* out;
  } durations[] = {{"interval", &h.interval_ns},
                   {"timeout", &h.timeout_ns},
                   {"start-period", &h.start_period_ns},
                   {"start-interval", &h.start_interval_ns}};
  for (auto& d : durations) {
    std::string v = f.String(d.flag);
    if (v.empty()) continue;
    auto ns = ParseGoDuration(v);
    if (!ns.ok()) {
      return InvalidArgumentError("--" + std::string(d.flag) + ": " + ns.error().message());
    }
    if (*ns != 0 && *ns < 1000000) {
      return InvalidArgumentError("--" + std::string(d.flag) + "=" + v +
                                  ": cannot be less than 1ms");
    }
    *d.out = *ns;
  }
  if (f.Used("retries")) {
    std::string v = f.String("retries");
    auto r = ParseUnsigned(v, 10, 0x7FFFFFFF);
    if (!r.ok()) return InvalidArgumentError("--retries: invalid number " + text::GoQuote(v));
    if (*r < 1) return InvalidArgumentError("--retries must be at least 1 (not " + v + ")");
    h.retries = static_cast<int>(*r);
  }
  return InstructionValue(std::move(h));
}

Result<InstructionValue> ParseValue(const Node& n, const ParseOptions& o);

Result<InstructionValue> ParseOnbuild(const Node& n, const ParseOptions& o) {
  BLD_TRY(ParseFlags("ONBUILD", n.flags, {}));
  if (!n.nested) return AtLeastOne("ONBUILD");
  std::string trigger = text::AsciiUpper(n.nested->instruction);
  if (trigger == "ONBUILD") {
    return InvalidArgumentError("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  if (trigger == "FROM" || trigger == "MAINTAINER") {
    return InvalidArgumentError(trigger + " isn't allowed as an ONBUILD trigger");
  }
  auto inner = ParseValue(*n.nested, o);
  if (!inner.ok()) return InvalidArgumentError("ONBUILD " + inner.error().message());
  // original minus (?i)^\s*ONBUILD\s*
  std::string_view e = n.original;
  size_t i = 0;
  auto re_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
  };
  while (i < e.size() && re_space(e[i])) ++i;
  if (text::EqualFoldAscii(e.substr(i, 7), "ONBUILD")) {
    i += 7;
    while (i < e.size() && re_space(e[i])) ++i;
    e = e.substr(i);
  }
  std::string expression(e);
  // Heredoc bodies travel with the trigger text, as BuildKit stores them.
  for (const Heredoc& h : n.heredocs) expression += "\n" + h.content + h.name;
  return InstructionValue(OnbuildInstruction{std::move(expression)});
}

std::string UnknownInstructionMessage(const std::string& instr) {
  std::string upper = text::AsciiUpper(instr);
  std::vector<std::string_view> names(std::begin(kInstructionNames), std::end(kInstructionNames));
  std::string hint = Suggest(upper, names);
  return "unknown instruction: " + upper + (hint.empty() ? "" : " (did you mean " + hint + "?)");
}

Result<InstructionValue> ParseValue(const Node& n, const ParseOptions& o) {
  const std::string& c = n.instruction;
  auto no_flags = [&](std::string_view name) { return ParseFlags(name, n.flags, {}); };
  if (c == "run") return ParseRun(n);
  if (c == "copy") return ParseCopyOrAdd(n, false);
  if (c == "add") return ParseCopyOrAdd(n, true);
  if (c == "healthcheck") return ParseHealthcheck(n);
  if (c == "onbuild") return ParseOnbuild(n, o);
  if (c == "cmd" || c == "entrypoint") {
    std::string name = text::AsciiUpper(c);
    BLD_TRY(no_flags(name));
    if (!n.json && n.args.empty()) return AtLeastOne(name);
    CommandLine cl = MakeCommandLine(n);
    if (c == "cmd") return InstructionValue(CmdInstruction{std::move(cl)});
    return InstructionValue(EntrypointInstruction{std::move(cl)});
  }
  if (c == "shell") {
    BLD_TRY(no_flags("SHELL"));
    if (n.args.empty()) return AtLeastOne("SHELL");
    if (!n.json) {
      return InvalidArgumentError(
          "SHELL requires the arguments to be in JSON form, e.g. "
          "SHELL [\"/bin/bash\", \"-c\"]");
    }
    return InstructionValue(ShellInstruction{n.args});
  }
  if (c == "env" || c == "label") {
    std::string name = text::AsciiUpper(c);
    BLD_TRY(no_flags(name));
    BLD_ASSIGN_OR_RETURN(std::vector<KeyValue> kv, ParseKvps(n, name));
    if (c == "env") return InstructionValue(EnvInstruction{std::move(kv)});
    return InstructionValue(LabelInstruction{std::move(kv)});
  }
  if (c == "maintainer" || c == "user" || c == "workdir" || c == "stopsignal") {
    std::string name = text::AsciiUpper(c);
    BLD_TRY(no_flags(name));
    if (n.args.size() != 1) return ExactlyOne(name);
    const std::string& v = n.args[0];
    if (c == "maintainer") return InstructionValue(MaintainerInstruction{v});
    if (c == "user") return InstructionValue(UserInstruction{v});
    if (c == "workdir") return InstructionValue(WorkdirInstruction{v});
    return InstructionValue(StopSignalInstruction{v});
  }
  if (c == "expose") {
    BLD_TRY(no_flags("EXPOSE"));
    if (n.args.empty()) return AtLeastOne("EXPOSE");
    return InstructionValue(ExposeInstruction{n.args});
  }
  if (c == "volume") {
    BLD_TRY(no_flags("VOLUME"));
    if (n.args.empty()) return AtLeastOne("VOLUME");
    VolumeInstruction v;
    for (const std::string& a : n.args) {
      std::string t(text::TrimSpace(a));
      if (t.empty()) return InvalidArgumentError("VOLUME specified can not be an empty string");
      v.paths.push_back(std::move(t));
    }
    return InstructionValue(std::move(v));
  }
  if (c == "arg") {
    BLD_TRY(no_flags("ARG"));
    if (n.args.empty()) return AtLeastOne("ARG");
    ArgInstruction a;
    for (const std::string& w : n.args) {
      size_t eq = w.find('=');
      ArgDecl d;
      d.key = w.substr(0, eq);
      if (eq != std::string::npos) d.value = w.substr(eq + 1);
      if (d.key.empty()) return InvalidArgumentError("ARG names can not be blank");
      a.args.push_back(std::move(d));
    }
    return InstructionValue(std::move(a));
  }
  if (c == "from") return InvalidArgumentError("FROM is not allowed here");
  return InvalidArgumentError(UnknownInstructionMessage(c));
}

bool ValidStageName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<Stage> ParseFrom(const Node& n) {
  BLD_ASSIGN_OR_RETURN(Flags f, ParseFlags("FROM", n.flags, {{"platform", FlagKind::kString}}));
  Stage s;
  if (n.args.size() == 3 && text::EqualFoldAscii(n.args[1], "as")) {
    s.original_name = n.args[2];
    s.name = text::AsciiLower(n.args[2]);
    if (!ValidStageName(s.name)) {
      return InvalidArgumentError("invalid name for build stage: " + text::GoQuote(n.args[2]) +
                                  ", name can't start with a number or contain symbols");
    }
  } else if (n.args.size() != 1) {
    return InvalidArgumentError(
        "FROM requires either one or three arguments (FROM image [AS name])");
  }
  s.base_name = n.args[0];
  s.platform = f.String("platform");
  if (f.Used("platform") && s.platform.empty()) {
    return InvalidArgumentError("FROM --platform requires a value");
  }
  s.start_line = n.start_line;
  s.end_line = n.end_line;
  s.original = std::string(text::TrimSpace(n.original));
  return s;
}

}  // namespace

std::string_view MountTypeName(MountType t) {
  switch (t) {
    case MountType::kBind:
      return "bind";
    case MountType::kCache:
      return "cache";
    case MountType::kTmpfs:
      return "tmpfs";
    case MountType::kSecret:
      return "secret";
    case MountType::kSsh:
      return "ssh";
  }
  return "bind";
}
std::string_view CacheSharingName(CacheSharing s) {
  switch (s) {
    case CacheSharing::kShared:
      return "shared";
    case CacheSharing::kPrivate:
      return "private";
    case CacheSharing::kLocked:
      return "locked";
  }
  return "shared";
}
std::string_view NetworkModeName(NetworkMode m) {
  switch (m) {
    case NetworkMode::kDefault:
      return "default";
    case NetworkMode::kNone:
      return "none";
    case NetworkMode::kHost:
      return "host";
  }
  return "default";
}
std::string_view SecurityModeName(SecurityMode m) {
  return m == SecurityMode::kInsecure ? "insecure" : "sandbox";
}

Result<Mount> ParseMount(std::string_view spec) { return ParseMountImpl(spec, false); }

std::vector<std::string> MountFromValues(std::string_view spec) {
  std::vector<std::string> values;
  auto fields = ParseCsvRecord(spec);
  if (!fields.ok()) return values;
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) continue;
    std::string key = text::AsciiLower(std::string_view(field).substr(0, eq));
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    if (key == "from") values.push_back(field.substr(eq + 1));
  }
  return values;
}

Result<Instruction> ParseInstruction(const Node& node, const ParseOptions& options) {
  auto v = ParseValue(node, options);
  if (!v.ok()) return At(options, node.start_line, v.error().message());
  Instruction i{text::AsciiUpper(node.instruction), node.start_line, node.end_line, node.original,
                std::move(*v)};
  return i;
}

Result<Dockerfile> ParseInstructions(const AST& ast, const ParseOptions& options) {
  Dockerfile df;
  df.directives = ast.directives;
  df.escape_token = ast.escape_token;
  df.warnings = ast.warnings;
  std::map<std::string, int> stage_lines;
  for (const Node& n : ast.children) {
    if (n.instruction == "from") {
      auto s = ParseFrom(n);
      if (!s.ok()) return At(options, n.start_line, s.error().message());
      if (!s->name.empty()) {
        auto [it, fresh] = stage_lines.emplace(s->name, n.start_line);
        if (!fresh) {
          return At(options, n.start_line,
                    "duplicate stage name " + text::GoQuote(s->name) + " (first used on line " +
                        std::to_string(it->second) + ")");
        }
      }
      s->index = static_cast<int>(df.stages.size());
      df.stages.push_back(std::move(*s));
      continue;
    }
    BLD_ASSIGN_OR_RETURN(Instruction ins, ParseInstruction(n, options));
    if (df.stages.empty()) {
      if (std::holds_alternative<ArgInstruction>(ins.value)) {
        df.meta_args.push_back(std::move(ins));
        continue;
      }
      return At(options, n.start_line,
                "no build stage in current context: " + ins.name +
                    " must come after a FROM instruction (only ARG may precede the first FROM)");
    }
    Stage& st = df.stages.back();
    st.end_line = n.end_line;
    st.instructions.push_back(std::move(ins));
  }
  if (df.stages.empty()) {
    int last = ast.children.empty() ? 1 : ast.children.back().end_line;
    return At(options, last, "no FROM instruction: the Dockerfile has no build stage");
  }
  return df;
}

Result<Dockerfile> ParseDockerfile(std::string_view text, const ParseOptions& options) {
  BLD_ASSIGN_OR_RETURN(AST ast, Parse(text, options));
  return ParseInstructions(ast, options);
}

int FindStage(const Dockerfile& df, std::string_view name_or_index) {
  std::string lower = text::AsciiLower(name_or_index);
  for (const Stage& s : df.stages) {
    if (!s.name.empty() && s.name == lower) return s.index;
  }
  if (!name_or_index.empty() && name_or_index.size() < 9 &&
      std::all_of(name_or_index.begin(), name_or_index.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    int i = std::stoi(std::string(name_or_index));
    if (i < static_cast<int>(df.stages.size())) return i;
  }
  return -1;
}

Result<int64_t> ParseGoDuration(std::string_view orig) {
  auto invalid = [&] {
    return InvalidArgumentError("time: invalid duration " + text::GoQuote(orig));
  };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return invalid();
    size_t u = i;
    while (u < s.size() && !(s[u] == '.' || (s[u] >= '0' && s[u] <= '9'))) ++u;
    std::string_view unit = s.substr(i, u - i);
    if (unit.empty()) {
      return InvalidArgumentError("time: missing unit in duration " + text::GoQuote(orig));
    }
    long double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else {
      return InvalidArgumentError("time: unknown unit " + text::GoQuote(unit) + " in duration " +
                                  text::GoQuote(orig));
    }
    total += v * mult;
    if (total > 9.2233720368547758e18L) return invalid();
    s.remove_prefix(u);
  }
  auto ns = static_cast<int64_t>(std::llround(static_cast<double>(total)));
  return neg ? -ns : ns;
}

}  // namespace bld::parser
