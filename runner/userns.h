// Rootless bld: the store-side commands (pull, import, build, run, ...) of an unprivileged
// user run as root of that user's own user namespace, as podman and buildah do. There bld
// may chown to every mapped id (files on disk owned by the user's subordinate ids), mount
// overlay with "userxattr", bind mount and create the containers' namespaces; the host sees
// only the user and their /etc/subuid and /etc/subgid ranges.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"

namespace bld::runner {

struct UserNamespaceEntry {
  // Set in the process that continues inside the namespace; unset in the caller, which
  // must exit with `exit_code` (the inside's status: its code, or 128+signal).
  bool inside = false;
  int exit_code = 0;
  // With subordinate ranges: container 0 -> the user, 1.. -> the ranges (newuidmap,
  // newgidmap). Without: only the user's own id (0 -> user), and `warning` says so.
  bool single_id = false;
  std::string warning;
};

// Does nothing when the caller is already root (euid 0, in whatever user namespace):
// returns inside=true. Otherwise forks; the child unshares a user and a mount namespace, the
// parent writes its id maps (DefaultIdMaps: newuidmap/newgidmap, or a single-id map written
// directly with setgroups denied), the child becomes uid/gid 0 and returns inside=true; the
// parent forwards SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGINT sent to it (not
// those the terminal sends the whole process group), waits, and returns inside=false with
// the child's exit code. The child is killed if the parent dies.
// Must be called while the process has one thread. Errors name the step and the helper.
Result<UserNamespaceEntry> EnterUserNamespace();

}  // namespace bld::runner
