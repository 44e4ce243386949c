// User namespace id maps: /etc/subuid-style ranges and installing maps for a child.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "runner/spec.h"

namespace bld::runner {

struct SubIdRange {
  uint32_t start = 0;
  uint32_t count = 0;
};

// Ranges for `user` (name) or `id` (numeric) in the contents of /etc/subuid or /etc/subgid
// ("name:start:count" lines). Pure.
std::vector<SubIdRange> ParseSubIds(std::string_view file, std::string_view user, uint32_t id);

// "C H S\n" lines for /proc/PID/uid_map.
std::string FormatIdMap(const std::vector<IdMapping>& maps);

// The maps to use for a rootless container of the caller (euid/egid): container 0 -> caller,
// then container 1.. -> the caller's subordinate ranges (if any).
struct IdMaps {
  std::vector<IdMapping> uid;
  std::vector<IdMapping> gid;
  // True when the maps need newuidmap/newgidmap (more than the caller's own id).
  bool needs_helpers = false;
  // Without helpers: why only the caller's own id is mapped ("no range for user bob in
  // /etc/subuid").
  std::string single_id_reason;
};
IdMaps DefaultIdMaps(uid_t euid, gid_t egid);

// Installs maps for process `pid` (in a fresh user namespace). Single-id maps of the caller
// are written directly (with setgroups "deny"); anything else goes through
// newuidmap/newgidmap. Errors name the file or helper.
Status WriteIdMaps(pid_t pid, const std::vector<IdMapping>& uid_maps,
                   const std::vector<IdMapping>& gid_maps);

}  // namespace bld::runner
