#include "runner/user.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace bld::runner {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls fn(fields) for each well-formed line with at least `min_fields` fields.
template <typename Fn>
void ForEachEntry(std::string_view file, size_t min_fields, Fn fn) {
  for (std::string_view line : Split(file, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto fields = Split(line, ':');
    if (fields.size() < min_fields) continue;
    if (fn(fields)) return;
  }
}

}  // namespace

Result<ExecUser> ResolveUser(std::string_view user, std::string_view passwd,
                             std::string_view group) {
  ExecUser out;
  if (user.empty()) user = "0";
  std::string_view user_part = user;
  std::string_view group_part;
  bool has_group = false;
  if (size_t colon = user.find(':'); colon != std::string_view::npos) {
    user_part = user.substr(0, colon);
    group_part = user.substr(colon + 1);
    has_group = true;
    if (group_part.empty() || group_part.find(':') != std::string_view::npos) {
      return InvalidArgumentError("invalid user \"" + std::string(user) +
                                  "\": want name|uid[:group|gid]");
    }
  }
  if (user_part.empty()) {
    return InvalidArgumentError("invalid user \"" + std::string(user) +
                                "\": want name|uid[:group|gid]");
  }

  std::optional<uint32_t> numeric_uid = ParseId(user_part);
  bool found = false;
  std::string name;
  // passwd: name:x:uid:gid:gecos:home:shell
  ForEachEntry(passwd, 4, [&](const std::vector<std::string_view>& f) {
    std::optional<uint32_t> uid = ParseId(f[2]);
    std::optional<uint32_t> gid = ParseId(f[3]);
    if (!uid || !gid) return false;
    bool match = numeric_uid ? *uid == *numeric_uid : f[0] == user_part;
    if (!match) return false;
    found = true;
    name = std::string(f[0]);
    out.uid = *uid;
    out.gid = *gid;
    if (f.size() >= 6 && !f[5].empty()) out.home = std::string(f[5]);
    return true;
  });
  if (!found) {
    if (!numeric_uid) {
      return NotFoundError("unable to find user " + std::string(user_part) +
                           ": no matching entries in passwd file");
    }
    out.uid = *numeric_uid;
    out.gid = 0;
  }

  if (has_group) {
    std::optional<uint32_t> numeric_gid = ParseId(group_part);
    bool group_found = false;
    ForEachEntry(group, 3, [&](const std::vector<std::string_view>& f) {
      std::optional<uint32_t> gid = ParseId(f[2]);
      if (!gid) return false;
      bool match = numeric_gid ? *gid == *numeric_gid : f[0] == group_part;
      if (!match) return false;
      group_found = true;
      out.gid = *gid;
      return true;
    });
    if (!group_found) {
      if (!numeric_gid) {
        return NotFoundError("unable to find group " + std::string(group_part) +
                             ": no matching entries in group file");
      }
      out.gid = *numeric_gid;
    }
  }

  // Docker puts the primary group first among the supplementary groups.
  out.groups.push_back(out.gid);
  // group: name:x:gid:member,member. Only in the implicit form ("name", "uid"): with an
  // explicit group the process gets just that group, as runc's GetExecUser decides.
  if (!name.empty() && !has_group) {
    ForEachEntry(group, 3, [&](const std::vector<std::string_view>& f) {
      std::optional<uint32_t> gid = ParseId(f[2]);
      if (!gid || *gid == out.gid || f.size() < 4) return false;
      for (std::string_view member : Split(f[3], ',')) {
        if (member == name) {
          if (std::find(out.groups.begin(), out.groups.end(), *gid) == out.groups.end()) {
            out.groups.push_back(*gid);
          }
          break;
        }
      }
      return false;
    });
  }
  return out;
}

}  // namespace bld::runner
