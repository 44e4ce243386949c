#include "runner/setup_plan.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>

#include "base/file.h"
#include "base/log.h"
#include "base/userns.h"
#include "runner/idmap.h"
#include "runner/seccomp.h"
#include "runner/user.h"

namespace bld::runner {

namespace {

constexpr const char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's lists.
constexpr const char* kMaskedPaths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
constexpr const char* kReadOnlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Reads a file of the rootfs with symlinks resolved inside it; "" if missing.
Result<std::string> ReadRootfsFile(int root_fd, const char* rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel, &how, sizeof(how)));
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::string();
    return ErrnoError(std::string("open /") + rel + " in the container");
  }
  UniqueFd owner(fd);
  return ReadFd(fd);
}

int LastCap() {
  static int last = [] {
    auto s = ReadFile("/proc/sys/kernel/cap_last_cap");
    int v = s.ok() ? std::atoi(s->c_str()) : CAP_LAST_CAP;
    return v > 0 && v < 64 ? v : CAP_LAST_CAP;
  }();
  return last;
}

bool HasEnv(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return true;
    }
  }
  return false;
}

std::string GetEnv(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
  }
  return "";
}

size_t Depth(const std::string& path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

bool IsMapped(const std::vector<IdMapping>& maps, uint32_t id) {
  for (const IdMapping& m : maps) {
    if (id >= m.container_id && id - m.container_id < m.size) return true;
  }
  return false;
}

SetupOp MountOp(std::string source, std::string target, std::string fstype, unsigned long flags,
                std::string data, SetupOp::Create create) {
  SetupOp op;
  op.kind = SetupOp::Kind::kMount;
  op.source = std::move(source);
  op.target = std::move(target);
  op.fstype = std::move(fstype);
  op.flags = flags;
  op.data = std::move(data);
  op.create = create;
  return op;
}

SetupOp SymlinkOp(std::string dir, std::string name, std::string link) {
  SetupOp op;
  op.kind = SetupOp::Kind::kSymlink;
  op.target = std::move(dir);
  op.data = std::move(name);
  op.source = std::move(link);
  return op;
}

// The host's device nodes under /dev, as runc's HostDevices: pts, ptmx, shm, mqueue, fd are
// bld's own; the default nodes are bound already.
std::vector<std::string> HostDeviceNodes() {
  std::vector<std::string> out;
  std::vector<std::string> dirs = {"/dev"};
  while (!dirs.empty() && out.size() < 4096) {
    std::string dir = std::move(dirs.back());
    dirs.pop_back();
    auto entries = ListDir(dir);
    if (!entries.ok()) continue;
    for (const std::string& name : *entries) {
      std::string path = dir + "/" + name;
      if (dir == "/dev" && (name == "pts" || name == "ptmx" || name == "shm" ||
                            name == "mqueue" || name == "fd" ||
                            std::find(std::begin(kDevices), std::end(kDevices), name) !=
                                std::end(kDevices))) {
        continue;
      }
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) dirs.push_back(path);
      else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) out.push_back(path);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Whether a fresh procfs can be mounted in a new pid namespace of ours. Not when bld runs in
// an unprivileged container (BuildKit rootless in a Kubernetes pod): its /proc has masked
// paths, so the kernel refuses a new one that would reveal them (mnt_too_revealing). Tried
// once per process, in a throwaway child (mount and pid namespace of its own); only called
// in a user namespace other than the initial one (rootless), where that can happen.
bool CanMountFreshProc() {
  static bool can = [] {
    pid_t pid = fork();
    if (pid < 0) return true;  // let the real mount report it
    if (pid == 0) {
      if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) _exit(2);
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(2);
      pid_t init = fork();
      if (init < 0) _exit(2);
      if (init == 0) {
        _exit(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 ? 0
                                                                                             : 1);
      }
      int st;
      while (waitpid(init, &st, 0) < 0 && errno == EINTR) {
      }
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    // 2: the namespaces themselves failed; the container start reports that.
    bool ok = !WIFEXITED(st) || WEXITSTATUS(st) != 1;
    if (!ok) {
      BLD_LOG(kWarn) << "a fresh /proc cannot be mounted here (bld runs in a container whose "
                        "/proc is masked): containers bind this /proc and /sys instead, without "
                        "a process sandbox (as BuildKit's --oci-worker-no-process-sandbox)";
    }
    return ok;
  }();
  return can;
}

std::string HostResolvConf() {
  auto r = ReadFile("/etc/resolv.conf");
  return r.ok() ? *r : "";
}

std::string HostHosts() {
  auto r = ReadFile("/etc/hosts");
  return r.ok() ? *r : "";
}

}  // namespace

const char* SetupOp::Describe() const {
  switch (kind) {
    case Kind::kMount:
      return "mount";
    case Kind::kMask:
      return "mask";
    case Kind::kReadOnly:
      return "make read-only";
    case Kind::kSymlink:
      return "symlink in";
    case Kind::kMkdir:
      return "create";
  }
  return "setup";
}

void SetupPlan::Finalize() {
  argv.clear();
  envp.clear();
  init_argv.clear();
  static char kInitName[] = "bld-init", kDashes[] = "--";
  init_argv.push_back(kInitName);
  init_argv.push_back(kDashes);
  for (std::string& a : args) {
    argv.push_back(a.data());
    init_argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  init_argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
}

Result<SetupPlan> BuildSetupPlan(const Spec& spec, const std::string& etc_dir) {
  SetupPlan plan;
  if (spec.args.empty() || spec.args[0].empty()) {
    return InvalidArgumentError("no command given to run");
  }
  if (spec.rootfs.empty()) return InvalidArgumentError("no root filesystem given");
  char real[PATH_MAX];
  if (realpath(spec.rootfs.c_str(), real) == nullptr) {
    return ErrnoError("root filesystem " + spec.rootfs);
  }
  plan.rootfs = real;
  if (!IsDirectory(plan.rootfs)) {
    return InvalidArgumentError("root filesystem " + spec.rootfs + " is not a directory");
  }
  if (spec.cwd.empty() || spec.cwd[0] != '/') {
    return InvalidArgumentError("working directory \"" + spec.cwd + "\" is not absolute");
  }
  plan.cwd = spec.cwd;
  if (spec.limits.memory_bytes && *spec.limits.memory_bytes < (6 << 20)) {
    return InvalidArgumentError("memory limit " + std::to_string(*spec.limits.memory_bytes) +
                                " is below the minimum of 6 MiB");
  }
  if (spec.limits.cpus && !(*spec.limits.cpus >= 0.01)) {
    return InvalidArgumentError("cpu limit must be at least 0.01 CPUs");
  }
  if (spec.limits.pids && *spec.limits.pids < 1) {
    return InvalidArgumentError("pids limit must be at least 1");
  }
  plan.hostname = spec.hostname.empty() ? "bld" : spec.hostname;
  if (plan.hostname.size() > 64) {
    return InvalidArgumentError("hostname \"" + plan.hostname + "\" is longer than 64 bytes");
  }
  plan.new_network = spec.network == NetworkMode::kNone;
  plan.read_only_rootfs = spec.read_only_rootfs;
  plan.rlimits = spec.rlimits;
  plan.init = spec.init;
  plan.tty = spec.tty;
  plan.stdio[0] = spec.stdin_fd;
  plan.stdio[1] = spec.stdout_fd;
  plan.stdio[2] = spec.stderr_fd;

  // User namespace and id maps.
  bool root = geteuid() == 0;
  switch (spec.user_namespace) {
    case UserNamespaceMode::kAuto:
      plan.user_namespace = !root;
      break;
    case UserNamespaceMode::kNever:
      plan.user_namespace = false;
      break;
    case UserNamespaceMode::kAlways:
      plan.user_namespace = true;
      break;
  }
  bool helpers = false;
  if (plan.user_namespace) {
    if (!spec.uid_mappings.empty() || !spec.gid_mappings.empty()) {
      if (spec.uid_mappings.empty() || spec.gid_mappings.empty()) {
        return InvalidArgumentError("user namespace: give both uid and gid mappings");
      }
      plan.uid_maps = spec.uid_mappings;
      plan.gid_maps = spec.gid_mappings;
      // WriteIdMaps writes a map of just the caller's own gid itself, denying setgroups.
      helpers = !root && !(plan.gid_maps.size() == 1 && plan.gid_maps[0].size == 1 &&
                           plan.gid_maps[0].host_id == getegid());
    } else {
      IdMaps maps = DefaultIdMaps(geteuid(), getegid());
      plan.uid_maps = std::move(maps.uid);
      plan.gid_maps = std::move(maps.gid);
      helpers = maps.needs_helpers;
    }
    // Without newgidmap an unprivileged caller must deny setgroups to write gid_map.
    plan.set_groups = root || helpers;
  } else if (SetgroupsDenied()) {
    plan.set_groups = false;  // root of a rootless single-id namespace (runner/userns.h)
  }

  // User.
  int root_fd = open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ErrnoError("open root filesystem " + plan.rootfs);
  UniqueFd root_owner(root_fd);
  BLD_ASSIGN_OR_RETURN(std::string passwd, ReadRootfsFile(root_fd, "etc/passwd"));
  BLD_ASSIGN_OR_RETURN(std::string group, ReadRootfsFile(root_fd, "etc/group"));
  auto user = ResolveUser(spec.user, passwd, group);
  if (!user.ok()) return user.error().Wrap("user \"" + spec.user + "\"");
  plan.user = spec.user.empty() ? "root" : spec.user;
  plan.uid = user->uid;
  plan.gid = user->gid;
  for (gid_t g : user->groups) {
    // Groups outside the user namespace's map cannot be set; the kernel would refuse them all.
    if (!plan.user_namespace || IsMapped(plan.gid_maps, g)) plan.groups.push_back(g);
  }

  // Capabilities, limited to our bounding set (capset cannot grant more).
  plan.last_cap = LastCap();
  std::vector<std::string> cap_add = spec.cap_add;
  if (spec.privileged) cap_add.insert(cap_add.begin(), "ALL");
  BLD_ASSIGN_OR_RETURN(plan.capabilities,
                       ComputeCapabilities(cap_add, spec.cap_drop, plan.last_cap));
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0) {
      CapabilitySet bit = CapabilitySet{1} << cap;
      bool asked = std::any_of(spec.cap_add.begin(), spec.cap_add.end(), [&](const auto& n) {
        auto c = CapabilityFromName(n);
        return c.ok() && *c == cap;
      });
      if (asked) {
        return PermissionDeniedError("capability " + CapabilityName(cap) +
                                     " cannot be granted: it is not in bld's bounding set");
      }
      plan.capabilities &= ~bit;
    }
  }
  for (int cap = 0; cap <= plan.last_cap; ++cap) plan.cap_names.push_back(CapabilityName(cap));
  plan.no_new_privileges = spec.no_new_privileges;
  plan.seccomp = spec.seccomp && !spec.privileged;
  plan.privileged = spec.privileged;
  if (plan.seccomp && !spec.seccomp_profile.empty()) {
    auto text = ReadFile(spec.seccomp_profile);
    if (!text.ok()) return text.error().Wrap("seccomp profile");
    BLD_ASSIGN_OR_RETURN(plan.seccomp_filter,
                         CompileSeccompProfile(*text, spec.seccomp_profile, plan.capabilities));
  } else if (plan.seccomp) {
    BLD_ASSIGN_OR_RETURN(plan.seccomp_filter, CachedDefaultSeccompFilter(plan.capabilities));
  }

  // Environment.
  plan.args = spec.args;
  plan.env = spec.env;
  for (const std::string& e : plan.env) {
    if (e.find('=') == std::string::npos) {
      return InvalidArgumentError("environment entry \"" + e + "\" is not KEY=VALUE");
    }
  }
  if (!HasEnv(plan.env, "PATH")) plan.env.push_back(std::string("PATH=") + kDefaultPath);
  if (!HasEnv(plan.env, "HOSTNAME")) plan.env.push_back("HOSTNAME=" + plan.hostname);
  if (!HasEnv(plan.env, "HOME")) plan.env.push_back("HOME=" + user->home);
  if (spec.tty && !HasEnv(plan.env, "TERM")) plan.env.push_back("TERM=xterm");
  plan.search_path = GetEnv(plan.env, "PATH");

  // Mounts. bld's own (/proc, /dev, /sys and below) refuse any symlink on the way.
  using C = SetupOp::Create;
  using L = SetupOp::Links;
  const size_t own_begin = plan.ops.size();
  constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (!InInitialUserNamespace() && !CanMountFreshProc()) {
    // The existing /proc, with the masks of the container bld runs in; ours go on top.
    plan.ops.push_back(MountOp("/proc", "/proc", "", MS_BIND | MS_REC, "", C::kDir));
  } else {
    plan.ops.push_back(MountOp("proc", "/proc", "proc", kNoSuidDevExec, "", C::kDir));
  }
  plan.ops.push_back(MountOp("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
                             "mode=755,size=65536k", C::kDir));
  for (const char* dev : kDevices) {
    plan.ops.push_back(
        MountOp(std::string("/dev/") + dev, std::string("/dev/") + dev, "", MS_BIND, "", C::kFile));
  }
  std::string devpts = "newinstance,ptmxmode=0666,mode=0620";
  if (plan.user_namespace ? IsMapped(plan.gid_maps, 5) : GidMapped(5)) devpts += ",gid=5";
  plan.ops.push_back(
      MountOp("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, devpts, C::kDir));
  plan.ops.push_back(SymlinkOp("/dev", "ptmx", "pts/ptmx"));
  plan.ops.push_back(SymlinkOp("/dev", "fd", "/proc/self/fd"));
  plan.ops.push_back(SymlinkOp("/dev", "stdin", "/proc/self/fd/0"));
  plan.ops.push_back(SymlinkOp("/dev", "stdout", "/proc/self/fd/1"));
  plan.ops.push_back(SymlinkOp("/dev", "stderr", "/proc/self/fd/2"));
  plan.ops.push_back(
      MountOp("shm", "/dev/shm", "tmpfs", kNoSuidDevExec, "mode=1777,size=65536k", C::kDir));
  plan.ops.push_back(MountOp("mqueue", "/dev/mqueue", "mqueue", kNoSuidDevExec, "", C::kDir));
  // Also as root of a rootless bld's own user namespace (runner/userns.h).
  if ((plan.user_namespace || !InInitialUserNamespace()) && !plan.new_network) {
    // sysfs can only be mounted by the owner of the network namespace: bind the host's.
    SetupOp sys = MountOp("/sys", "/sys", "", MS_BIND | MS_REC, "", C::kDir);
    sys.read_only = !spec.privileged;
    plan.ops.push_back(sys);
    // The recursive bind brings the host's cgroup mounts along: hide them.
    SetupOp cgroup;
    cgroup.kind = SetupOp::Kind::kMask;
    cgroup.target = "/sys/fs/cgroup";
    cgroup.optional = true;
    cgroup.fs_magic = SYSFS_MAGIC;
    plan.ops.push_back(cgroup);
  } else {
    plan.ops.push_back(MountOp("sysfs", "/sys", "sysfs",
                               kNoSuidDevExec | (spec.privileged ? 0 : MS_RDONLY), "", C::kDir));
  }
  switch (spec.cgroup_namespace) {
    case CgroupNamespaceMode::kAuto: {
      struct statfs sfs;
      plan.cgroup_namespace =
          statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
      break;
    }
    case CgroupNamespaceMode::kPrivate: plan.cgroup_namespace = true; break;
    case CgroupNamespaceMode::kHost: plan.cgroup_namespace = false; break;
  }
  if (plan.cgroup_namespace) {
    // The container's own cgroup as /, read-only (writable with --privileged), as Docker on v2.
    SetupOp cg = MountOp("cgroup2", "/sys/fs/cgroup", "cgroup2",
                         kNoSuidDevExec | (spec.privileged ? 0 : MS_RDONLY), "", C::kNone);
    cg.links = L::kRefuseAll;
    plan.ops.push_back(cg);
  }
  if (spec.privileged) {
    // Every device node of the host's /dev (as Docker's --privileged), bound in; the device
    // policy is off (Container::Start).
    for (const std::string& dev : HostDeviceNodes()) {
      plan.ops.push_back(MountOp(dev, dev, "", MS_BIND, "", C::kFile));
    }
  }

  for (size_t i = own_begin; i < plan.ops.size(); ++i) plan.ops[i].links = L::kRefuseAll;

  if (spec.etc_files) {
    if (etc_dir.empty()) return InternalError("BuildSetupPlan: no directory for /etc files");
    std::string hosts;
    if (spec.etc_hosts) {
      hosts = *spec.etc_hosts;
    } else {
      hosts = spec.network == NetworkMode::kHost ? HostHosts()
                                                 : "127.0.0.1\tlocalhost\n"
                                                   "::1\tlocalhost ip6-localhost ip6-loopback\n";
      if (!hosts.empty() && hosts.back() != '\n') hosts += '\n';
      hosts += "127.0.0.1\t" + plan.hostname + "\n";
      for (const auto& [host, ip] : spec.extra_hosts) hosts += ip + "\t" + host + "\n";
    }
    std::string resolv = spec.etc_resolv_conf                 ? *spec.etc_resolv_conf
                         : spec.network == NetworkMode::kHost ? HostResolvConf()
                                                              : "";
    struct {
      const char* name;
      std::string data;
    } files[] = {{"hosts", hosts}, {"hostname", plan.hostname + "\n"}, {"resolv.conf", resolv}};
    for (const auto& f : files) {
      std::string path = etc_dir + "/" + f.name;
      BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
      BLD_TRY(WriteAll(fd.get(), f.data, path));
      SetupOp op = MountOp(path, std::string("/etc/") + f.name, "", MS_BIND, "", C::kFile);
      // Images link /etc/resolv.conf elsewhere; inside the root that is harmless.
      op.links = L::kFollow;
      plan.ops.push_back(op);
    }
  }

  for (const Device& d : spec.devices) {
    struct stat st;
    if (stat(d.host_path.c_str(), &st) != 0) return ErrnoError("--device " + d.host_path);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
      return InvalidArgumentError("--device " + d.host_path + ": not a device node");
    }
    if (d.permissions.empty() ||
        d.permissions.find_first_not_of("rwm") != std::string::npos) {
      return InvalidArgumentError("--device " + d.host_path + ": permissions \"" +
                                  d.permissions + "\" are not a subset of rwm");
    }
    std::string to = d.container_path.empty() ? d.host_path : d.container_path;
    if (to.empty() || to[0] != '/') {
      return InvalidArgumentError("--device " + d.host_path + ": the container path \"" + to +
                                  "\" is not absolute");
    }
    plan.ops.push_back(MountOp(d.host_path, to, "", MS_BIND, "", C::kFile));
    plan.device_rules.push_back(std::string(S_ISCHR(st.st_mode) ? "c " : "b ") +
                                std::to_string(major(st.st_rdev)) + ":" +
                                std::to_string(minor(st.st_rdev)) + " " + d.permissions);
  }

  std::vector<Mount> mounts = spec.mounts;
  std::stable_sort(mounts.begin(), mounts.end(), [](const Mount& a, const Mount& b) {
    return Depth(a.destination) < Depth(b.destination);
  });
  for (const Mount& m : mounts) {
    if (m.destination.empty() || m.destination[0] != '/') {
      return InvalidArgumentError("mount destination \"" + m.destination +
                                  "\" is not an absolute path");
    }
    if (m.type == Mount::Type::kBind) {
      struct stat st;
      if (stat(m.source.c_str(), &st) != 0) return ErrnoError("bind mount source " + m.source);
      SetupOp op = MountOp(m.source, m.destination, "", MS_BIND | MS_REC, "",
                           S_ISDIR(st.st_mode) ? C::kDir : C::kFile);
      op.read_only = m.read_only;
      plan.ops.push_back(op);
    } else {
      unsigned long flags = MS_NOSUID | MS_NODEV | (m.read_only ? MS_RDONLY : 0);
      plan.ops.push_back(MountOp("tmpfs", m.destination, "tmpfs", flags,
                                 m.options.empty() ? "mode=1777" : m.options, C::kDir));
    }
  }

  if (spec.mask_paths && !spec.privileged) {
    auto magic = [](const char* p) {
      return std::string_view(p).starts_with("/proc/") ? PROC_SUPER_MAGIC : SYSFS_MAGIC;
    };
    for (const char* p : kMaskedPaths) {
      SetupOp op;
      op.kind = SetupOp::Kind::kMask;
      op.target = p;
      op.links = L::kRefuseAll;
      op.optional = true;
      op.fs_magic = magic(p);
      plan.ops.push_back(op);
    }
    for (const char* p : kReadOnlyPaths) {
      SetupOp op;
      op.kind = SetupOp::Kind::kReadOnly;
      op.target = p;
      op.links = L::kRefuseAll;
      op.optional = true;
      op.fs_magic = magic(p);
      op.read_only = true;
      plan.ops.push_back(op);
    }
  }
  SetupOp cwd;
  cwd.kind = SetupOp::Kind::kMkdir;
  cwd.target = plan.cwd;
  cwd.create = C::kDir;
  cwd.links = L::kFollow;  // WORKDIR through a link inside the image is fine
  plan.ops.push_back(cwd);
  return plan;
}

}  // namespace bld::runner
