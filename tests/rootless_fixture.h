// Unprivileged users for rootless tests (created by a root test process) and running
// commands as them. Other suites (the hostile-container suite) can run bld as such a user
// with RunAsUser, or re-run a whole test binary as one.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/child_process.h"

namespace bld::testing {

struct RootlessUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  uint32_t subid_start = 0;  // 0 without ranges
};

// Creates `name` (useradd, no home) when missing. with_subids: makes sure it has 65536
// ids in /etc/subuid and /etc/subgid (the ones useradd gave it, or a new range); without:
// removes its lines. Needs root. nullopt with `why` on failure.
std::optional<RootlessUser> EnsureRootlessUser(const std::string& name, bool with_subids,
                                               std::string* why);

// Runs argv as `user` (setpriv --reuid --regid --init-groups) with HOME=home, cwd home, and
// a minimal environment. Aborts the test (ADD_FAILURE) on spawn failure.
CommandResult RunAsUser(const RootlessUser& user, const std::string& home,
                        const std::vector<std::string>& argv, const std::string& input = "");

}  // namespace bld::testing
