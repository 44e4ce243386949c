// The device policy for cgroup v2: a BPF_CGROUP_DEVICE program built from device rules in the
// v1 devices.allow syntax ("c 1:3 rwm", "b *:* m", "a"), as runc's devicefilter does. The
// program allows an access iff one rule matches (type, major, minor, and every requested
// access bit is in the rule's); everything else is denied.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace bld::runner {

// Docker's default allow list (mknod of any node; null, zero, full, random, urandom, tty,
// console, ptmx and the pts open), in devices.allow syntax; the v1 policy writes the same.
const std::vector<std::string>& DefaultDeviceRules();

// Compiles `rules` (devices.allow lines) into the program. Errors name the bad rule.
Result<std::vector<bpf_insn>> BuildDeviceFilter(const std::vector<std::string>& rules);

// Loads a program from BuildDeviceFilter (BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, GPL);
// returns its fd. The verifier's log is in the error.
Result<int> LoadDeviceFilter(const std::vector<bpf_insn>& prog);

}  // namespace bld::runner
