#include "runner/idmap.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>

#include "base/child_process.h"
#include "base/file.h"

namespace bld::runner {

namespace {

bool ParseU32(std::string_view s, uint32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

Status WriteProcFile(pid_t pid, const char* name, std::string_view data) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY));
  // These files take the whole map in one write.
  ssize_t n = write(fd.get(), data.data(), data.size());
  if (n < 0) return ErrnoError("write " + path);
  if (static_cast<size_t>(n) != data.size()) return InternalError("short write to " + path);
  return Ok();
}

bool IsSingleSelfMap(const std::vector<IdMapping>& maps, uint32_t self) {
  return maps.size() == 1 && maps[0].size == 1 && maps[0].host_id == self;
}

Status RunHelper(const char* helper, pid_t pid, const std::vector<IdMapping>& maps) {
  std::vector<std::string> argv = {helper, std::to_string(pid)};
  for (const IdMapping& m : maps) {
    argv.push_back(std::to_string(m.container_id));
    argv.push_back(std::to_string(m.host_id));
    argv.push_back(std::to_string(m.size));
  }
  auto r = RunCommand(argv);
  if (!r.ok()) return r.error().Wrap("user namespace");
  if (r->exit_code != 0) {
    std::string err = r->err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return PermissionDeniedError(std::string(helper) + " " + std::to_string(pid) +
                                 " failed (exit " + std::to_string(r->exit_code) + "): " + err);
  }
  return Ok();
}

}  // namespace

std::vector<SubIdRange> ParseSubIds(std::string_view file, std::string_view user, uint32_t id) {
  std::vector<SubIdRange> out;
  std::string id_str = std::to_string(id);
  size_t pos = 0;
  while (pos < file.size()) {
    size_t end = file.find('\n', pos);
    if (end == std::string_view::npos) end = file.size();
    std::string_view line = file.substr(pos, end - pos);
    pos = end + 1;
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view name = line.substr(0, c1);
    if (name != user && name != id_str) continue;
    SubIdRange r;
    if (!ParseU32(line.substr(c1 + 1, c2 - c1 - 1), &r.start) ||
        !ParseU32(line.substr(c2 + 1), &r.count) || r.count == 0) {
      continue;
    }
    out.push_back(r);
  }
  return out;
}

std::string FormatIdMap(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

IdMaps DefaultIdMaps(uid_t euid, gid_t egid) {
  IdMaps maps;
  maps.uid.push_back({0, euid, 1});
  maps.gid.push_back({0, egid, 1});
  if (access("/usr/bin/newuidmap", X_OK) != 0 || access("/usr/bin/newgidmap", X_OK) != 0) {
    maps.single_id_reason = "/usr/bin/newuidmap or /usr/bin/newgidmap is missing (Debian package uidmap)";
    return maps;
  }
  std::string name;
  if (passwd* pw = getpwuid(euid); pw != nullptr) name = pw->pw_name;
  std::string who = name.empty() ? "uid " + std::to_string(euid) : "user " + name;
  auto subuid = ReadFile("/etc/subuid");
  auto subgid = ReadFile("/etc/subgid");
  std::vector<SubIdRange> uids, gids;
  if (subuid.ok()) uids = ParseSubIds(*subuid, name, euid);
  if (subgid.ok()) gids = ParseSubIds(*subgid, name, euid);
  if (uids.empty() || gids.empty()) {
    maps.single_id_reason = "no range for " + who + " in " +
                            (uids.empty() ? std::string("/etc/subuid") : std::string("/etc/subgid"));
    return maps;
  }
  uint32_t next = 1;
  for (const SubIdRange& r : uids) {
    maps.uid.push_back({next, r.start, r.count});
    next += r.count;
  }
  next = 1;
  for (const SubIdRange& r : gids) {
    maps.gid.push_back({next, r.start, r.count});
    next += r.count;
  }
  maps.needs_helpers = true;
  return maps;
}

Status WriteIdMaps(pid_t pid, const std::vector<IdMapping>& uid_maps,
                   const std::vector<IdMapping>& gid_maps) {
  bool root = geteuid() == 0;
  // Root may write any map; others only their own single id, after denying setgroups.
  if (root || IsSingleSelfMap(gid_maps, getegid())) {
    if (!root) BLD_TRY_WRAP(WriteProcFile(pid, "setgroups", "deny"), "user namespace");
    BLD_TRY_WRAP(WriteProcFile(pid, "gid_map", FormatIdMap(gid_maps)), "user namespace");
  } else {
    BLD_TRY(RunHelper("/usr/bin/newgidmap", pid, gid_maps));
  }
  if (root || IsSingleSelfMap(uid_maps, geteuid())) {
    BLD_TRY_WRAP(WriteProcFile(pid, "uid_map", FormatIdMap(uid_maps)), "user namespace");
  } else {
    BLD_TRY(RunHelper("/usr/bin/newuidmap", pid, uid_maps));
  }
  return Ok();
}

}  // namespace bld::runner
