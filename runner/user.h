// Resolving "name|uid[:group|gid]" in a container's /etc/passwd and /etc/group.
// Pure: takes the files' contents, no I/O.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::runner {

struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  // Supplementary groups, as Docker sets them: `gid` first, then — only when no group was
  // given ("name", "uid"; runc: "supplementary group ids only make sense in the implicit
  // form") — every group in /etc/group listing the user's name.
  std::vector<gid_t> groups;
  std::string home = "/";
};

// Resolves `user` ("", "name", "uid", "name:group", "uid:gid", "name:gid", ...) against the
// contents of /etc/passwd and /etc/group (either may be empty when the file is missing).
// A numeric uid need not exist in passwd (gid then defaults to 0, home to "/"); a name must.
// Fails with kNotFound naming the user or group, kInvalidArgument for a malformed spec.
Result<ExecUser> ResolveUser(std::string_view user, std::string_view passwd,
                             std::string_view group);

}  // namespace bld::runner
