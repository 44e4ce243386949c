// Host-path conveniences over base/in_root.h (the one resolver) for a container root
// filesystem mounted on the host: symlinks are interpreted relative to the root (an
// absolute link target or ".." never leaves it), as the container would see them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/error.h"

namespace bld::builder {

// The host path of `path` (absolute, inside the container) under `root`,
// following symlinks inside the root (the last component too when
// `follow_last`). Components that do not exist are appended as they are.
Result<std::string> ResolveInRoot(const std::string& root, const std::string& path,
                                  bool follow_last = true);

// mkdir -p of `path` inside `root` (bld::MkdirAllInRoot: dangling links on the way get
// their targets created); directories it creates get mode 0755 and the owner uid:gid.
// Returns the host path of the directory.
Result<std::string> MkdirAllInRoot(const std::string& root, const std::string& path, uid_t uid,
                                   gid_t gid);

// Cleans an absolute container path ("/a/./b/../c/" -> "/a/c").
std::string CleanAbs(const std::string& path);

// Reads a file of the container ("" when missing).
std::string ReadFileInRoot(const std::string& root, const std::string& path);

}  // namespace bld::builder
