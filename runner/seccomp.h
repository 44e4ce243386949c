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
// for seccomp(SECCOMP_SET_MODE_FILTER). On x86-64 it covers the i386 and x32 ABIs too (as
// Docker's profile does); socket(AF_VSOCK) fails with EPERM.
Result<std::vector<sock_filter>> BuildDefaultSeccompFilter(CapabilitySet caps);

// BuildDefaultSeccompFilter, cached: in memory for this process, and in `dir` (see
// SetSeccompCacheDir) across processes, since compiling the three ABIs costs milliseconds on
// every `bld run`. The cache file is named by a digest of the profile, the libseccomp
// version and `caps`; one that does not read back as a whole program is rebuilt.
Result<std::vector<sock_filter>> CachedDefaultSeccompFilter(CapabilitySet caps);
// Directory for compiled filters (created when first written); "" = memory only (default).
void SetSeccompCacheDir(std::string dir);

}  // namespace bld::runner
