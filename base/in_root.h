// Paths inside a root directory: the one resolver of bld.
//
// A container's root filesystem, a build context and a stage's root filesystem are
// directories on the host whose symlinks mean what they mean inside them: an absolute link
// target or ".." never leaves the root, as if the root were "/". Every path that a
// Dockerfile, an image or a container names inside such a root is opened through here —
// COPY/ADD sources and destinations, RUN --mount sources, mount targets, WORKDIR, `bld cp`.
//
// Built on openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: the kernel resolves the
// whole path against the root atomically, so a symlink swapped in concurrently cannot
// redirect it outside. The functions that walk component by component (ResolveInRoot,
// MkdirAllInRoot) open each step relative to the previous directory with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS and interpret symlinks themselves, so they never
// follow a link the kernel has not shown them as a link.
//
// Paths may be absolute or relative; both are taken relative to the root. "." and ""
// name the root itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace bld {

// The allocation-free core, for code running between clone() and execve() (the runner's
// child): openat2(root_fd, path, flags | O_CLOEXEC, mode) with RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS | `extra_resolve` (e.g. RESOLVE_NO_SYMLINKS to refuse any symlink on
// the way, RESOLVE_NO_XDEV). Leading slashes are skipped; an empty path opens the root
// itself (as "."). Returns the fd, or -1 with errno set. Retries EINTR/EAGAIN.
int OpenInRootRaw(int root_fd, const char* path, int flags, mode_t mode = 0,
                  uint64_t extra_resolve = 0);

// Opens the directory `dir` as a root (O_PATH | O_DIRECTORY). Errors name `dir`.
Result<UniqueFd> OpenRoot(const std::string& dir);

// Opens `path` inside the root with `flags` (O_CLOEXEC added; O_CREAT creates the last
// component in its resolved parent). Symlinks are followed inside the root, the last one
// too unless `flags` has O_NOFOLLOW (then, with O_PATH, the link itself is opened; without
// O_PATH a final symlink fails with ELOOP). Errors name `path` as the container sees it.
Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// The path that `path` resolves to inside the root: absolute, cleaned, free of symlinks
// ("/usr/lib/x" for "/lib/x" when /lib -> usr/lib). Symlinks are followed inside the root,
// the last component too when `follow_last`. Once a component does not exist, it and the
// rest are appended as written (".." removing the component before it). A path through a
// non-directory resolves the same way (the caller's open then fails with ENOTDIR).
// InvalidArgument for more than 40 symlinks (a loop); other errors name the path.
Result<std::string> ResolveInRoot(int root_fd, std::string_view path, bool follow_last = true);

// mkdir -p of `path` inside the root. Symlinks on the way are followed inside the root —
// dangling ones too: their targets are created, as BuildKit does for WORKDIR and COPY
// destinations. Created directories get exactly `mode` (no umask) and the owner uid:gid;
// existing ones are left as they are. Returns an O_PATH | O_DIRECTORY fd of the directory.
// FailedPrecondition naming the component when something on the way is not a directory.
Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode = 0755,
                                uid_t uid = 0, gid_t gid = 0);

// "/proc/self/fd/N": a path that names the open fd `fd`, for system calls that take only
// paths (mount, chmod of an O_PATH fd, ...).
std::string FdPath(int fd);

}  // namespace bld
