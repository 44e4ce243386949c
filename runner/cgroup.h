// Cgroup limits for a container on cgroup v2 (unified) and v1/hybrid hosts.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "runner/spec.h"

namespace bld::runner {

// The container's cgroup: one directory on v2, one per controller on v1. Removed (rmdir)
// by the destructor; processes must have exited by then.
class Cgroup final {
 public:
  // Creates "<parent>/bld-<id>" and writes `limits`. `parent` is relative to the hierarchy
  // root; empty = the calling process's cgroup. Fails with a message naming the controller
  // and file when a limit cannot be enforced (controller missing, no permission...).
  // With `device_policy` on a v1/hybrid host, also a devices cgroup with Docker's default
  // policy (devices.deny "a", then its allow list: mknod of any node, but only null, zero,
  // full, random, urandom, tty, ptmx and the pts can be opened). On v2 that policy needs a
  // BPF_CGROUP_DEVICE program, which bld does not load yet: there /dev is bld's own tmpfs
  // and image nodes are on nodev mounts only where the kernel puts them.
  static Result<Cgroup> Create(const std::string& parent, const std::string& id,
                               const CgroupLimits& limits, bool device_policy = false,
                               const std::vector<std::string>& extra_device_rules = {});
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&& other) noexcept;
  ~Cgroup();

  // Moves process `pid` into the cgroup (all controllers).
  Status AddProcess(pid_t pid) const;

  struct Stats {
    bool oom_killed = false;
    uint64_t cpu_usage_us = 0;
    uint64_t nr_throttled = 0;
    uint64_t throttled_us = 0;
  };
  // Best effort: fields that cannot be read stay 0.
  Stats ReadStats() const;

  // Directories of the cgroup (one on v2).
  const std::vector<std::string>& dirs() const { return dirs_; }
  bool v2() const { return v2_; }

 private:
  Cgroup() = default;
  void Remove();

  bool v2_ = false;
  std::vector<std::string> dirs_;
  std::string memory_dir_, cpu_dir_, cpuacct_dir_;
};

}  // namespace bld::runner
