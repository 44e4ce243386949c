// The default seccomp profile: an allow-list in the spirit of Docker's default profile.
// Everything not listed fails with EPERM (mount, umount2, reboot, kexec_load, init_module,
// finit_module, delete_module, swapon, pivot_root, unshare/setns, bpf, ptrace-adjacent
// kernel interfaces...); clone may not create namespaces; clone3 fails with ENOSYS so libcs
// fall back to clone. Syscalls that a capability makes meaningful are allowed when the
// container has that capability (e.g. mount and unshare with CAP_SYS_ADMIN).
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/error.h"
#include "runner/capabilities.h"

namespace bld::runner {

// Compiles the default profile for a container with capabilities `caps` into a BPF program
// for seccomp(SECCOMP_SET_MODE_FILTER), for the native architecture only (other ABIs, e.g.
// 32-bit x86 syscalls, kill the process).
Result<std::vector<sock_filter>> BuildDefaultSeccompFilter(CapabilitySet caps);

}  // namespace bld::runner
