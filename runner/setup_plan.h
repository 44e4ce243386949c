// The setup plan: everything the container's child does between clone() and execve(),
// computed in the parent before clone() (bubblewrap style). The child only walks the plan and
// makes system calls; it never allocates.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "runner/capabilities.h"
#include "runner/spec.h"

namespace bld::runner {

// One mount-namespace setup step. Paths (`target`) are absolute inside the container and are
// resolved under the rootfs with symlinks confined to it (openat2 RESOLVE_IN_ROOT).
struct SetupOp {
  enum class Kind {
    kMount,     // mount(source, target, fstype, flags, data)
    kMask,      // hide target: /dev/null over a file, an empty read-only tmpfs over a directory
    kReadOnly,  // bind target onto itself (then read_only remounts it)
    kSymlink,   // in directory `target`, create link `data` -> `source`
    kMkdir,     // just create target (a directory)
  };
  enum class Create { kNone, kDir, kFile };

  // How symlinks on the way to `target` are treated (CVE-2019-19921, CVE-2023-27561: an image
  // whose /proc is a symlink must not get procfs mounted elsewhere, unmasked).
  enum class Links {
    kRefuseAll,   // none anywhere: bld's own /proc, /sys, /dev trees and their masks
    kRefuseLast,  // followed inside the root on the way, but the target itself must not be one
    kFollow,      // followed inside the root (the generated /etc files)
  };

  Kind kind = Kind::kMount;
  std::string source;
  std::string target;
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  Create create = Create::kNone;
  Links links = Links::kRefuseLast;
  // A missing target is skipped: only for masks and read-only paths that a kernel may not
  // have, and only once the top directory (/proc, /sys) is checked to be that file system.
  bool optional = false;
  unsigned long fs_magic = 0;  // with optional: PROC_SUPER_MAGIC or SYSFS_MAGIC
  bool read_only = false;  // remount read-only afterwards (bind mounts)

  // "mount", "mask", ... for error messages.
  const char* Describe() const;
};

struct SetupPlan {
  std::string rootfs;  // absolute, no symlinks
  std::string hostname;
  bool new_network = false;
  bool user_namespace = false;
  std::vector<IdMapping> uid_maps, gid_maps;
  std::vector<SetupOp> ops;
  // Device policy rules for Spec::devices ("c 10:200 rwm").
  std::vector<std::string> device_rules;
  bool read_only_rootfs = false;
  std::vector<Rlimit> rlimits;
  std::string cwd;

  // Identity.
  std::string user;  // as given, for messages
  uid_t uid = 0;
  gid_t gid = 0;
  bool set_groups = true;  // false when setgroups is denied (rootless single-id map)
  std::vector<gid_t> groups;

  // Privileges.
  int last_cap = 40;
  CapabilitySet capabilities = 0;
  std::vector<std::string> cap_names;  // index = capability, for messages
  bool no_new_privileges = true;
  bool seccomp = true;
  std::vector<sock_filter> seccomp_filter;

  // Process.
  bool init = true;
  std::vector<std::string> args, env;
  std::string search_path;  // PATH for looking up args[0]
  int stdio[3] = {-1, -1, -1};
  bool tty = false;  // allocate a pty inside the container

  // Null-terminated pointer arrays into args/env; set by Finalize() once the plan is in its
  // final place (moving a plan invalidates them).
  // init_argv: "bld-init", "--", args... (the init's command line, see init_binary.h).
  std::vector<char*> argv, envp, init_argv;
  void Finalize();
};

// Validates `spec` and computes the plan: resolves the user in the rootfs's /etc/passwd and
// /etc/group, the capability set and seccomp program, the id maps, the mount list (/proc,
// /dev, /sys, /etc files, the spec's mounts, masked and read-only paths, the working
// directory) and the environment. With spec.etc_files, writes the generated /etc/hosts,
// /etc/hostname and /etc/resolv.conf into `etc_dir` (which must outlive the child's setup).
// Errors name the offending field or file.
Result<SetupPlan> BuildSetupPlan(const Spec& spec, const std::string& etc_dir);

}  // namespace bld::runner
