// Linux capability names and the container's capability set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::runner {

// Bit mask of capabilities (bit N = capability N).
using CapabilitySet = uint64_t;

// Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
// SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
CapabilitySet DefaultCapabilities();

// "CAP_SYS_ADMIN", "sys_admin", "SYS_ADMIN" -> 21. kInvalidArgument for unknown names.
Result<int> CapabilityFromName(std::string_view name);
// 21 -> "CAP_SYS_ADMIN"; "CAP_<n>" for numbers without a name.
std::string CapabilityName(int cap);

// DefaultCapabilities() + add - drop; "ALL" in either list means every capability up to
// `last_cap`. Drops apply after adds, except that with `drop ALL` the explicitly added
// capabilities are kept (as Docker does). kInvalidArgument for unknown names.
Result<CapabilitySet> ComputeCapabilities(const std::vector<std::string>& add,
                                          const std::vector<std::string>& drop, int last_cap);

}  // namespace bld::runner
