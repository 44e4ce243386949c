#include "cli/template.h"

#include <algorithm>
#include <cctype>

namespace bld::cli {

namespace {

using Json = nlohmann::ordered_json;
using Node = Template::Node;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

Result<std::vector<std::string>> ParsePath(const std::string& s, const std::string& action) {
  if (s == ".") return std::vector<std::string>{};
  if (s.empty() || s[0] != '.') {
    return InvalidArgumentError("--format: \"{{" + action +
                                "}}\": expected a field like .ID (functions other than json "
                                "are not supported)");
  }
  std::vector<std::string> path;
  size_t i = 1;
  while (i <= s.size()) {
    size_t dot = s.find('.', i);
    if (dot == std::string::npos) dot = s.size();
    std::string part = s.substr(i, dot - i);
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '_';
        })) {
      return InvalidArgumentError("--format: \"{{" + action + "}}\": bad field name");
    }
    path.push_back(part);
    i = dot + 1;
  }
  return path;
}

// Parses nodes until {{end}} (when `in_range`) or the end of the input.
Result<std::vector<Node>> ParseNodes(const std::string& f, size_t* pos, bool in_range) {
  std::vector<Node> out;
  while (*pos < f.size()) {
    size_t open = f.find("{{", *pos);
    if (open != *pos) {
      Node t;
      t.text = f.substr(*pos, open == std::string::npos ? std::string::npos : open - *pos);
      out.push_back(std::move(t));
      if (open == std::string::npos) {
        *pos = f.size();
        break;
      }
    }
    size_t close = f.find("}}", open);
    if (close == std::string::npos) {
      return InvalidArgumentError("--format: unclosed \"{{\" at offset " + std::to_string(open));
    }
    std::string action = Trim(f.substr(open + 2, close - open - 2));
    *pos = close + 2;
    if (action == "end") {
      if (!in_range) return InvalidArgumentError("--format: {{end}} without {{range}}");
      return out;
    }
    Node n;
    if (action.starts_with("range ")) {
      n.kind = Node::Kind::kRange;
      BLD_ASSIGN_OR_RETURN(n.path, ParsePath(Trim(action.substr(6)), action));
      BLD_ASSIGN_OR_RETURN(n.body, ParseNodes(f, pos, true));
    } else if (action == "json" || action.starts_with("json ")) {
      n.kind = Node::Kind::kJson;
      BLD_ASSIGN_OR_RETURN(n.path, ParsePath(Trim(action.substr(4)), action));
    } else {
      n.kind = Node::Kind::kValue;
      BLD_ASSIGN_OR_RETURN(n.path, ParsePath(action, action));
    }
    out.push_back(std::move(n));
  }
  if (in_range) return InvalidArgumentError("--format: {{range}} without {{end}}");
  return out;
}

Result<const Json*> Lookup(const Json& v, const std::vector<std::string>& path) {
  const Json* cur = &v;
  for (const auto& p : path) {
    if (!cur->is_object() || !cur->contains(p)) {
      return InvalidArgumentError("--format: can't evaluate field " + p);
    }
    cur = &(*cur)[p];
  }
  return cur;
}

// Go's %v of a value: strings bare, lists as [a b], maps as map[k:v].
std::string Plain(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<no value>";
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + Plain(v[i]);
    return s + "]";
  }
  if (v.is_object()) {
    std::string s = "map[";
    bool first = true;
    for (const auto& [k, x] : v.items()) {
      s += (first ? "" : " ") + k + ":" + Plain(x);
      first = false;
    }
    return s + "]";
  }
  return v.dump();
}

Status Exec(const std::vector<Node>& nodes, const Json& dot, std::string* out) {
  for (const auto& n : nodes) {
    switch (n.kind) {
      case Node::Kind::kText:
        *out += n.text;
        break;
      case Node::Kind::kValue: {
        BLD_ASSIGN_OR_RETURN(const Json* v, Lookup(dot, n.path));
        *out += Plain(*v);
        break;
      }
      case Node::Kind::kJson: {
        BLD_ASSIGN_OR_RETURN(const Json* v, Lookup(dot, n.path));
        *out += v->dump();
        break;
      }
      case Node::Kind::kRange: {
        BLD_ASSIGN_OR_RETURN(const Json* v, Lookup(dot, n.path));
        if (v->is_null()) break;
        if (!v->is_array() && !v->is_object()) {
          return InvalidArgumentError("--format: range over a value that is not a list");
        }
        for (const auto& item : *v) BLD_TRY(Exec(n.body, item, out));
        break;
      }
    }
  }
  return Ok();
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Aligns tab-separated cells as Go's tabwriter does for docker (padding 3).
std::string Align(const std::vector<std::string>& lines) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const auto& l : lines) {
    std::vector<std::string> row;
    size_t i = 0;
    while (true) {
      size_t tab = l.find('\t', i);
      row.push_back(l.substr(i, tab == std::string::npos ? std::string::npos : tab - i));
      if (tab == std::string::npos) break;
      i = tab + 1;
    }
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (width.size() <= c) width.resize(c + 1, 0);
      width[c] = std::max(width[c], row[c].size());
    }
    cells.push_back(std::move(row));
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out += std::string(width[c] - row[c].size() + 3, ' ');
    }
    out += '\n';
  }
  return out;
}

void Headers(const std::vector<Node>& nodes, const std::map<std::string, std::string>& names,
             std::string* out) {
  for (const auto& n : nodes) {
    if (n.kind == Node::Kind::kText) {
      *out += n.text;
    } else if (!n.path.empty()) {
      auto it = names.find(n.path.back());
      std::string h = n.path.back();
      if (it != names.end()) {
        h = it->second;
      } else {
        for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      *out += h;
    }
  }
}

}  // namespace

Result<Template> Template::Parse(const std::string& format,
                                 std::map<std::string, std::string> headers) {
  Template t;
  t.headers_ = std::move(headers);
  std::string f = Trim(format);
  if (f == "json") {
    t.json_lines_ = true;
    return t;
  }
  if (f == "table" || f.starts_with("table ")) {
    t.table_ = true;
    f = f.substr(5);
    if (!f.empty() && f[0] == ' ') f = f.substr(1);
  } else {
    f = format;
  }
  f = Unescape(f);
  size_t pos = 0;
  BLD_ASSIGN_OR_RETURN(t.nodes_, ParseNodes(f, &pos, false));
  return t;
}

Result<std::string> Template::Render(const std::vector<nlohmann::ordered_json>& rows) const {
  std::string out;
  if (json_lines_) {
    for (const auto& r : rows) out += r.dump() + "\n";
    return out;
  }
  std::vector<std::string> lines;
  if (table_) {
    std::string h;
    Headers(nodes_, headers_, &h);
    lines.push_back(h);
  }
  for (const auto& r : rows) {
    std::string line;
    BLD_TRY(Exec(nodes_, r, &line));
    lines.push_back(std::move(line));
  }
  if (table_) return Align(lines);
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace bld::cli
