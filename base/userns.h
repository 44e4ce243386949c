// The calling process's user namespace, as /proc/self/{uid_map,gid_map,setgroups} show it.
// One place for the questions every module asks when bld runs rootless (inside a user
// namespace): are we in the initial namespace, which ids can we chown to, may we setgroups.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace bld {

// One line of an id map: ids [inside, inside+count) are [outside, outside+count) outside.
struct IdMapLine {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
};

// Parses /proc/PID/uid_map text. Malformed lines are skipped. Pure.
std::vector<IdMapLine> ParseIdMap(std::string_view text);
// True if `id` is inside one of the lines. Pure.
bool IdMapContains(const std::vector<IdMapLine>& map, uint32_t id);

// True in the initial user namespace (uid_map "0 0 4294967295"). Read once per process.
bool InInitialUserNamespace();
// True if the calling process may chown files to `uid` / `gid` as far as the id maps go
// (always true in the initial namespace).
bool UidMapped(uid_t uid);
bool GidMapped(gid_t gid);
// How many uids the namespace maps (1 for a single-id rootless namespace).
uint64_t MappedUidCount();
// True if setgroups(2) is denied in this user namespace (/proc/self/setgroups "deny", as
// after a single-id map written without newgidmap).
bool SetgroupsDenied();

}  // namespace bld
