// runner::Spec: everything the runner needs to start a container from a root
// filesystem. The runner knows nothing of images: callers (bld run, RUN steps)
// fill a Spec from an image config and a snapshot's mount point.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bld::runner {

// A mount the caller asks for, on top of the runner's own (/proc, /dev, /sys, /etc files).
struct Mount {
  enum class Type {
    kBind,   // recursive bind of `source` (a host path) onto `destination`
    kTmpfs,  // a fresh tmpfs on `destination`; `options` is tmpfs data ("size=64m,mode=1777")
  };
  Type type = Type::kBind;
  std::string source;
  // Absolute path inside the container; symlinks in it resolve inside the rootfs.
  // Missing directories (or, for a bind of a file, the file) are created.
  std::string destination;
  bool read_only = false;
  std::string options;
};

enum class NetworkMode {
  kHost,  // share the host's network namespace
  kNone,  // a new network namespace with only `lo`, up
};

enum class UserNamespaceMode {
  kAuto,    // a new user namespace iff the caller is not root (euid != 0)
  kNever,   // never (fails later if the caller lacks the privileges to set up the container)
  kAlways,  // always
};

// One line of /proc/PID/uid_map or gid_map.
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// Cgroup limits. Anything set is enforced (cgroup v2, or v1/hybrid) or Start fails with an
// error saying why; nothing set means no cgroup is created.
struct CgroupLimits {
  std::optional<int64_t> memory_bytes;  // memory.max / memory.limit_in_bytes (no extra swap)
  std::optional<double> cpus;           // CPU quota in CPUs, e.g. 0.5 (period 100ms)
  std::optional<int64_t> pids;          // pids.max
  bool empty() const { return !memory_bytes && !cpus && !pids; }
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;  // clamped to the caller's hard limit: never raised
};

// A host device made available in the container (--device HOST[:CONTAINER][:rwm]): the host
// node is bound at `container_path` and the device policy allows it with `permissions`.
struct Device {
  std::string host_path;
  std::string container_path;     // empty = host_path
  std::string permissions = "rwm";  // a subset of r, w, m
};

struct Spec {
  // The container's root directory on the host. Required.
  std::string rootfs;
  // argv; args[0] is looked up in the container's PATH when it has no '/'. Required.
  std::vector<std::string> args;
  // "K=V" entries. PATH, HOME and HOSTNAME are added when missing (and TERM in tty mode).
  std::vector<std::string> env;
  // Working directory inside the container; created if missing (as Docker does).
  std::string cwd = "/";
  // "name|uid[:group|gid]", resolved in the container's /etc/passwd and /etc/group;
  // supplementary groups come from /etc/group. Empty = root.
  std::string user;
  // UTS hostname; empty = "bld".
  std::string hostname;
  std::vector<Mount> mounts;
  std::vector<Device> devices;
  bool read_only_rootfs = false;
  NetworkMode network = NetworkMode::kHost;

  UserNamespaceMode user_namespace = UserNamespaceMode::kAuto;
  // With a user namespace: the maps to install. Empty = automatic: the caller's ranges in
  // /etc/subuid and /etc/subgid through newuidmap/newgidmap when present (container 0 ->
  // caller, 1.. -> the range), else a single-id map (container 0 -> caller).
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;

  // Capabilities on top of Docker's default set; names with or without "CAP_", any case,
  // or "ALL".
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  // PR_SET_NO_NEW_PRIVS for the command. Off by default, as Docker and BuildKit: setuid
  // programs (su, sudo, ping) work; --security-opt no-new-privileges turns it on.
  bool no_new_privileges = false;
  // The default seccomp allow-list (see seccomp.h); false = unconfined.
  bool seccomp = true;
  // Masked and read-only /proc and /sys paths (Docker's lists); false = none.
  bool mask_paths = true;
  // Bind generated /etc/hosts, /etc/hostname and /etc/resolv.conf (written to a temp dir on
  // /dev/shm; the container may modify its copies). Missing files are created in the rootfs.
  bool etc_files = true;
  // Contents for those files; nullopt = generated from the hostname / copied from the host.
  std::optional<std::string> etc_hosts;
  std::optional<std::string> etc_resolv_conf;

  std::vector<Rlimit> rlimits;  // others are inherited
  CgroupLimits limits;
  // Parent of the container's cgroup, relative to each hierarchy's root ("/bld").
  // Empty = the calling process's own cgroup.
  std::string cgroup_parent;

  // false (as Docker): the command itself is PID 1. true: PID 1 is bld-init, a separate
  // static program exec'd from a sealed memfd (init_binary.h), that forks the command,
  // forwards signals to it, reaps zombies and exits with the command's code (128+N for
  // signal N).
  bool init = false;

  // Stdio of the container; -1 = inherit ours. Ignored in tty mode.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Allocate a pty for the container (our stdin/stdout are connected to it by Run()).
  bool tty = false;

  // Names the container's cgroup ("bld-<id>"); empty = a random id.
  std::string id;
};

// How the container ended.
struct ExitStatus {
  // The command's exit code, 128+N if it was killed by signal N, 126/127 if it could not be
  // executed / was not found.
  int code = 0;
  // The signal that killed the command, 0 if it exited. With an init, an exit code above 128
  // is taken as 128+signal (the init cannot tell the parent otherwise).
  int signal = 0;
  // Set when the command could not be executed: `exec "foo": not found in PATH ...`.
  std::string exec_error;
  // Cgroup accounting read just before the cgroup was removed (only when limits were set).
  bool oom_killed = false;
  uint64_t cpu_usage_us = 0;
  uint64_t cpu_nr_throttled = 0;
  uint64_t cpu_throttled_us = 0;
};

}  // namespace bld::runner
