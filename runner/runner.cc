#include "runner/runner.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "base/file.h"
#include "base/in_root.h"
#include "base/random.h"
#include "base/temp_dir.h"
#include "base/userns.h"
#include "runner/capabilities.h"
#include "runner/cgroup.h"
#include "runner/idmap.h"
#include "runner/init_binary.h"
#include "runner/seccomp.h"
#include "runner/setup_plan.h"
#include "runner/user.h"

namespace bld::runner {

namespace {

// ---------------------------------------------------------------------------------------------
// The child side. Runs between clone() and execve(): only system calls and formatting into
// fixed buffers (no allocation: the parent may have other threads holding allocator locks).

struct ChildChannel {
  int sync_fd;  // socketpair end: 'G' from the parent; error reports to the parent
  int init_fd;  // the container init's sealed memfd (init_binary.h), -1 without init
};

const char* ErrnoText(int err) {
  const char* s = strerrordesc_np(err);
  return s != nullptr ? s : "Unknown error";
}

// Sends "<kind><code:int32><text>" and exits with `exit_code`.
[[noreturn]] __attribute__((format(printf, 5, 6))) void ChildFail(const ChildChannel& ch, char kind,
                                                                  int code, int exit_code,
                                                                  const char* fmt, ...) {
  char buf[4096];
  buf[0] = kind;
  std::memcpy(buf + 1, &code, sizeof(code));
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + 5, sizeof(buf) - 5, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  size_t len = 5 + std::min<size_t>(n, sizeof(buf) - 6);
  while (send(ch.sync_fd, buf, len, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
  _exit(exit_code);
}

#define CHILD_FAIL_ERRNO(ch, fmt, ...)                                                 \
  do {                                                                                 \
    int e_ = errno;                                                                    \
    ChildFail(ch, 'E', e_, 125, fmt ": %s" __VA_OPT__(, ) __VA_ARGS__, ErrnoText(e_)); \
  } while (0)

// Opens `path` (absolute, inside the container) under `root_fd` through the one resolver
// (base/in_root.h: symlinks resolved inside the root, magic links refused), with
// `extra_resolve` (RESOLVE_NO_SYMLINKS for bld's own trees). With `nofollow` a final symlink
// is opened as itself (the caller refuses it). Creates the target when missing: a directory,
// or for kFile an empty file (parents are directories). Returns an O_PATH fd or -1 with
// errno set.
int OpenTarget(int root_fd, const char* path, SetupOp::Create create, uint64_t extra_resolve,
               bool nofollow) {
  const int flags = O_PATH | (nofollow ? O_NOFOLLOW : 0);
  while (*path == '/') ++path;
  int fd = OpenInRootRaw(root_fd, path, flags, 0, extra_resolve);
  if (fd >= 0 || errno != ENOENT || create == SetupOp::Create::kNone) return fd;
  // Create component by component.
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, path, len + 1);
  size_t pos = 0;
  while (pos < len) {
    size_t end = pos;
    while (end < len && buf[end] != '/') ++end;
    bool last = end >= len;
    // buf[0:pos) is the parent (already exists), buf[pos:end) the component.
    int parent;
    if (pos == 0) {
      parent = static_cast<int>(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    } else {
      buf[pos - 1] = '\0';
      parent = OpenInRootRaw(root_fd, buf, O_PATH | O_DIRECTORY, 0, extra_resolve);
      buf[pos - 1] = '/';
    }
    if (parent < 0) return -1;
    char saved = buf[end];
    buf[end] = '\0';
    const char* name = buf + pos;
    int rc;
    if (last && create == SetupOp::Create::kFile) {
      // openat with O_CREAT|O_NOFOLLOW: a dangling symlink here is refused (ELOOP).
      rc = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (rc >= 0) close(rc);
    } else {
      rc = mkdirat(parent, name, 0755);
    }
    int err = errno;
    close(parent);
    buf[end] = saved;
    if (rc < 0 && err != EEXIST) {
      errno = err;
      return -1;
    }
    pos = end + 1;
  }
  return OpenInRootRaw(root_fd, path, flags, 0, extra_resolve);
}

void FdPath(char (&buf)[64], int fd) { snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd); }

// Flags that a remount of a mount must keep (locked in a user namespace).
unsigned long LockedFlags(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

void RemountReadOnly(const ChildChannel& ch, int root_fd, const char* target) {
  int fd = OpenTarget(root_fd, target, SetupOp::Create::kNone, 0, false);
  if (fd < 0) CHILD_FAIL_ERRNO(ch, "remount %s read-only: open", target);
  char p[64];
  FdPath(p, fd);
  if (mount(nullptr, p, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags(fd), nullptr) !=
      0) {
    CHILD_FAIL_ERRNO(ch, "remount %s read-only", target);
  }
  close(fd);
}

// Whether the first component of `path` ("/proc" of "/proc/kcore") is a mount of the file
// system `magic`: a masked path may be absent only from the real procfs or sysfs.
bool TopIsFileSystem(int root_fd, const char* path, unsigned long magic) {
  char top[64];
  const char* slash = std::strchr(path + 1, '/');
  size_t n = slash != nullptr ? static_cast<size_t>(slash - path) : std::strlen(path);
  if (n >= sizeof(top)) return false;
  std::memcpy(top, path, n);
  top[n] = '\0';
  int fd = OpenInRootRaw(root_fd, top, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
  if (fd < 0) return false;
  struct statfs sfs;
  bool ok = fstatfs(fd, &sfs) == 0 && static_cast<unsigned long>(sfs.f_type) == magic;
  close(fd);
  return ok;
}

// Read-only for the mount at `target` and every mount below it (a -v SRC:DST:ro whose SRC has
// mounts inside): mount_setattr(2) with AT_RECURSIVE, Linux 5.12 and later.
void RecursiveReadOnly(const ChildChannel& ch, int root_fd, const char* target) {
  int fd = OpenTarget(root_fd, target, SetupOp::Create::kNone, 0, false);
  if (fd < 0) CHILD_FAIL_ERRNO(ch, "make %s read-only: open", target);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    if (errno == ENOSYS) {
      ChildFail(ch, 'E', ENOSYS, 125,
                "make %s recursively read-only: this kernel has no mount_setattr (Linux 5.12 or "
                "later is needed for read-only binds)",
                target);
    }
    CHILD_FAIL_ERRNO(ch, "make %s recursively read-only", target);
  }
  close(fd);
}

void ExecuteOp(const ChildChannel& ch, int root_fd, const SetupOp& op) {
  const char* target = op.target.c_str();
  const bool refuse_all = op.links == SetupOp::Links::kRefuseAll;
  const bool nofollow = op.links != SetupOp::Links::kFollow;
  // "mount SRC on TARGET" / "mask TARGET" for messages.
  char what[PATH_MAX + 64];
  if (op.kind == SetupOp::Kind::kMount) {
    snprintf(what, sizeof(what), "mount %s on %s",
             op.source.empty() ? op.fstype.c_str() : op.source.c_str(), target);
  } else {
    snprintf(what, sizeof(what), "%s %s", op.Describe(), target);
  }
  int fd = OpenTarget(root_fd, target, op.create, refuse_all ? RESOLVE_NO_SYMLINKS : 0, nofollow);
  if (fd < 0) {
    if (errno == ENOENT && op.optional && TopIsFileSystem(root_fd, target, op.fs_magic)) return;
    if (errno == ELOOP && refuse_all) {
      ChildFail(ch, 'E', ELOOP, 125,
                "%s: the image has a symlink on the way to %s; refused (it must be a plain "
                "directory)",
                what, target);
    }
    CHILD_FAIL_ERRNO(ch, "%s: open mount point", what);
  }
  struct stat tst;
  if (fstat(fd, &tst) != 0) CHILD_FAIL_ERRNO(ch, "%s: stat mount point", what);
  if (S_ISLNK(tst.st_mode)) {
    ChildFail(ch, 'E', ELOOP, 125, "%s: %s is a symlink in the image; refused", what, target);
  }
  if (op.create == SetupOp::Create::kDir && !S_ISDIR(tst.st_mode)) {
    ChildFail(ch, 'E', ENOTDIR, 125, "%s: Not a directory in the image", what);
  }
  if (op.create == SetupOp::Create::kFile && !S_ISREG(tst.st_mode)) {
    ChildFail(ch, 'E', EINVAL, 125, "%s: not a regular file in the image", what);
  }
  char p[64];
  FdPath(p, fd);
  switch (op.kind) {
    case SetupOp::Kind::kMount: {
      const char* source = op.source.empty() ? nullptr : op.source.c_str();
      const char* data = op.data.empty() ? nullptr : op.data.c_str();
      if (mount(source, p, op.fstype.empty() ? nullptr : op.fstype.c_str(), op.flags, data) != 0) {
        CHILD_FAIL_ERRNO(ch, "mount %s on %s", op.source.empty() ? op.fstype.c_str() : source,
                         target);
      }
      break;
    }
    case SetupOp::Kind::kMask: {
      struct stat st;
      if (fstat(fd, &st) != 0) CHILD_FAIL_ERRNO(ch, "mask %s: stat", target);
      int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs",
                                           MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
                                   : mount("/dev/null", p, nullptr, MS_BIND, nullptr);
      if (rc != 0) CHILD_FAIL_ERRNO(ch, "mask %s", target);
      break;
    }
    case SetupOp::Kind::kReadOnly: {
      if (mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        CHILD_FAIL_ERRNO(ch, "bind %s read-only", target);
      }
      break;
    }
    case SetupOp::Kind::kSymlink: {
      // target is the link's directory, source the link text, data the link name.
      if (symlinkat(op.source.c_str(), fd, op.data.c_str()) != 0 && errno != EEXIST) {
        CHILD_FAIL_ERRNO(ch, "symlink %s/%s -> %s", target, op.data.c_str(), op.source.c_str());
      }
      break;
    }
    case SetupOp::Kind::kMkdir:
      break;  // OpenInRoot created it
  }
  close(fd);
  if (op.read_only) {
    if (op.kind == SetupOp::Kind::kMount && (op.flags & MS_REC) != 0) {
      RecursiveReadOnly(ch, root_fd, target);
    } else {
      RemountReadOnly(ch, root_fd, target);
    }
  }
}

void BringLoopbackUp(const ChildChannel& ch) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) CHILD_FAIL_ERRNO(ch, "bring up lo: socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) CHILD_FAIL_ERRNO(ch, "bring up lo: SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) CHILD_FAIL_ERRNO(ch, "bring up lo: SIOCSIFFLAGS");
  close(s);
}

void LoadSeccomp(const ChildChannel& ch, const SetupPlan& plan) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(plan.seccomp_filter.size());
  prog.filter = const_cast<sock_filter*>(plan.seccomp_filter.data());
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    CHILD_FAIL_ERRNO(ch, "load seccomp filter");
  }
}

void SetCapabilities(const ChildChannel& ch, const SetupPlan& plan) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    uint32_t bits = static_cast<uint32_t>(plan.capabilities >> (32 * i));
    data[i].effective = data[i].permitted = bits;  // inheritable stays empty (as Docker)
  }
  if (syscall(SYS_capset, &hdr, data) != 0) CHILD_FAIL_ERRNO(ch, "set capabilities");
}

// Looks `file` up in PATH (from the container's env) and execs it. Returns on failure with
// errno set to the most telling error; `tried` gets the path last tried.
void ExecCommand(const SetupPlan& plan) {
  const char* file = plan.argv[0];
  if (std::strchr(file, '/') != nullptr) {
    execve(file, plan.argv.data(), plan.envp.data());
    return;
  }
  const char* path = plan.search_path.c_str();
  int best_err = ENOENT;
  char buf[PATH_MAX];
  while (true) {
    const char* colon = std::strchr(path, ':');
    size_t dir_len = colon != nullptr ? static_cast<size_t>(colon - path) : std::strlen(path);
    size_t file_len = std::strlen(file);
    if (dir_len + 1 + file_len < sizeof(buf)) {
      if (dir_len == 0) {
        std::memcpy(buf, file, file_len + 1);
      } else {
        std::memcpy(buf, path, dir_len);
        buf[dir_len] = '/';
        std::memcpy(buf + dir_len + 1, file, file_len + 1);
      }
      execve(buf, plan.argv.data(), plan.envp.data());
      int err = errno;
      if (err != ENOENT && err != ENOTDIR) best_err = err;
      if (err != ENOENT && err != ENOTDIR && err != EACCES && err != ENOEXEC) break;
    }
    if (colon == nullptr) break;
    path = colon + 1;
  }
  errno = best_err;
}

[[noreturn]] void ExecOrFail(const ChildChannel& ch, const SetupPlan& plan) {
  ExecCommand(plan);
  int err = errno;
  bool not_found = err == ENOENT || err == ENOTDIR;
  int code = not_found ? 127 : 126;
  if (not_found && std::strchr(plan.argv[0], '/') == nullptr) {
    ChildFail(ch, 'X', code, code, "exec \"%s\": executable file not found in $PATH", plan.argv[0]);
  }
  ChildFail(ch, 'X', code, code, "exec \"%s\": %s", plan.argv[0], ErrnoText(err));
}

// tty mode: opens a pty in the container's own devpts (so ttyname() works inside), sends the
// master to the parent (SCM_RIGHTS) and makes the slave our controlling terminal and stdio.
void SetupTty(const ChildChannel& ch, const SetupPlan& plan) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) CHILD_FAIL_ERRNO(ch, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) CHILD_FAIL_ERRNO(ch, "unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) CHILD_FAIL_ERRNO(ch, "open pty slave");
  if (fchown(slave, plan.uid, static_cast<gid_t>(-1)) != 0 && errno != EINVAL) {
    CHILD_FAIL_ERRNO(ch, "chown pty slave");
  }
  char kind = 'T';
  iovec iov{&kind, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &master, sizeof(int));
  ssize_t n;
  while ((n = sendmsg(ch.sync_fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != 1) CHILD_FAIL_ERRNO(ch, "send pty master");
  close(master);
  if (setsid() < 0) CHILD_FAIL_ERRNO(ch, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) != 0) CHILD_FAIL_ERRNO(ch, "set controlling tty");
  for (int i = 0; i < 3; ++i) {
    if (dup2(slave, i) < 0) CHILD_FAIL_ERRNO(ch, "dup2 tty");
  }
  close(slave);
}

void SetupStdio(const ChildChannel& ch, const SetupPlan& plan) {
  int tmp[3];
  for (int i = 0; i < 3; ++i) {
    tmp[i] = plan.stdio[i] >= 0 ? static_cast<int>(fcntl(plan.stdio[i], F_DUPFD_CLOEXEC, 3)) : -1;
    if (plan.stdio[i] >= 0 && tmp[i] < 0) CHILD_FAIL_ERRNO(ch, "dup stdio");
  }
  for (int i = 0; i < 3; ++i) {
    if (tmp[i] >= 0 && dup2(tmp[i], i) < 0) CHILD_FAIL_ERRNO(ch, "dup2 stdio");
  }
}

// Execs the container init (init_binary.h) from its sealed memfd with the command as its
// argv and the container's environment; the setup channel goes to it as fd 3, for the
// command's exec error. Nothing else stays open.
[[noreturn]] void ExecInit(const ChildChannel& ch, const SetupPlan& plan) {
  // The memfd out of the way of fd 3 first, then the channel onto 3 (without close-on-exec).
  int init_fd = static_cast<int>(fcntl(ch.init_fd, F_DUPFD_CLOEXEC, 10));
  if (init_fd < 0) CHILD_FAIL_ERRNO(ch, "dup the container init");
  if (ch.sync_fd == 3) {
    if (fcntl(3, F_SETFD, 0) != 0) CHILD_FAIL_ERRNO(ch, "pass the setup channel to the init");
  } else if (dup2(ch.sync_fd, 3) != 3) {
    CHILD_FAIL_ERRNO(ch, "pass the setup channel to the init");
  }
  ChildChannel on3{3, -1};
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  syscall(SYS_execveat, init_fd, "", plan.init_argv.data(), plan.envp.data(), AT_EMPTY_PATH);
  CHILD_FAIL_ERRNO(on3, "exec the container init");
}

[[noreturn]] void ChildMain(const ChildChannel& ch, const SetupPlan& plan) {
  // Signal handlers of the parent make no sense here.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, nullptr);
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  ssize_t n;
  while ((n = recv(ch.sync_fd, &go, 1, 0)) < 0 && errno == EINTR) {
  }
  if (n != 1 || go != 'G') _exit(125);

  if (!plan.tty) {
    SetupStdio(ch, plan);
    // Out of the caller's session and process group: a ^C on the caller's terminal reaches
    // the container only as forwarded by the caller, not twice.
    if (setsid() < 0) CHILD_FAIL_ERRNO(ch, "setsid");
  }
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    CHILD_FAIL_ERRNO(ch, "sethostname %s", plan.hostname.c_str());
  }
  if (plan.new_network) BringLoopbackUp(ch);

  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    CHILD_FAIL_ERRNO(ch, "make / private");
  }
  const char* rootfs = plan.rootfs.c_str();
  if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    CHILD_FAIL_ERRNO(ch, "bind %s", rootfs);
  }
  int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) CHILD_FAIL_ERRNO(ch, "open %s", rootfs);
  for (const SetupOp& op : plan.ops) ExecuteOp(ch, root_fd, op);

  if (fchdir(root_fd) != 0) CHILD_FAIL_ERRNO(ch, "chdir %s", rootfs);
  if (syscall(SYS_pivot_root, ".", ".") != 0) CHILD_FAIL_ERRNO(ch, "pivot_root %s", rootfs);
  if (umount2(".", MNT_DETACH) != 0) CHILD_FAIL_ERRNO(ch, "detach old root");
  if (chdir("/") != 0) CHILD_FAIL_ERRNO(ch, "chdir /");
  close(root_fd);
  if (plan.read_only_rootfs) {
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | LockedFlags(fd),
                        nullptr) != 0) {
      CHILD_FAIL_ERRNO(ch, "remount / read-only");
    }
    close(fd);
  }

  if (plan.tty) SetupTty(ch, plan);

  for (const Rlimit& r : plan.rlimits) {
    rlimit cur;
    if (getrlimit(r.resource, &cur) != 0) CHILD_FAIL_ERRNO(ch, "getrlimit %d", r.resource);
    rlimit want;
    want.rlim_max = std::min<rlim_t>(r.hard, cur.rlim_max);  // never raised
    want.rlim_cur = std::min<rlim_t>(r.soft, want.rlim_max);
    if (setrlimit(r.resource, &want) != 0) CHILD_FAIL_ERRNO(ch, "setrlimit %d", r.resource);
  }

  {
    // Through the resolver: a working directory like /proc/self/fd/N (a magic link to
    // whatever fd is open here) is refused, not followed out of the root.
    int new_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int cwd = new_root < 0 ? -1
                           : OpenInRootRaw(new_root, plan.cwd.c_str(), O_PATH | O_DIRECTORY);
    if (cwd < 0 || fchdir(cwd) != 0) CHILD_FAIL_ERRNO(ch, "chdir %s", plan.cwd.c_str());
    close(cwd);
    close(new_root);
  }

  // Capabilities: bounding set first (needs CAP_SETPCAP), then ids keeping the permitted
  // set, then the final sets.
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (plan.capabilities & (CapabilitySet{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      CHILD_FAIL_ERRNO(ch, "drop %s from the bounding set", plan.cap_names[cap].c_str());
    }
  }
  if (plan.seccomp && !plan.no_new_privileges) LoadSeccomp(ch, plan);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) CHILD_FAIL_ERRNO(ch, "PR_SET_KEEPCAPS");
  // Raw system calls, not glibc's setgroups/setresgid/setresuid: those broadcast the change
  // to every thread glibc knows of (SIGSETXID), and after clone() in a multithreaded parent
  // the child waits forever for threads that do not exist in it.
  if (plan.set_groups) {
    if (syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) != 0) {
      CHILD_FAIL_ERRNO(ch, "setgroups for user %s", plan.user.c_str());
    }
  }
  if (syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) {
    CHILD_FAIL_ERRNO(ch, "setgid %u for user %s%s", plan.gid, plan.user.c_str(),
                     plan.user_namespace ? " (is the gid mapped in the user namespace?)" : "");
  }
  if (syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    CHILD_FAIL_ERRNO(ch, "setuid %u for user %s%s", plan.uid, plan.user.c_str(),
                     plan.user_namespace ? " (is the uid mapped in the user namespace?)" : "");
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) CHILD_FAIL_ERRNO(ch, "PR_SET_KEEPCAPS");
  SetCapabilities(ch, plan);
  if (plan.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    CHILD_FAIL_ERRNO(ch, "PR_SET_NO_NEW_PRIVS");
  }
  if (plan.seccomp && plan.no_new_privileges) LoadSeccomp(ch, plan);

  // Nothing of ours may leak into the command.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

  // PID 1 is the command itself, or the exec'd init: never this fork of bld.
  if (plan.init) ExecInit(ch, plan);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ExecOrFail(ch, plan);
}

// ---------------------------------------------------------------------------------------------
// Signal forwarding for Run().

constexpr int kMaxForwarded = 64;
std::atomic<pid_t> g_forward_pids[kMaxForwarded];
std::atomic<int> g_winch_fd{-1};
std::mutex g_forward_mu;
int g_forward_users = 0;
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
struct sigaction g_saved_actions[std::size(kForwardedSignals)];

void ForwardSignal(int sig) {
  int saved = errno;
  for (auto& p : g_forward_pids) {
    pid_t pid = p.load(std::memory_order_relaxed);
    if (pid > 0) kill(pid, sig);
  }
  errno = saved;
}

void OnWinch(int) {
  int saved = errno;
  int fd = g_winch_fd.load();
  if (fd >= 0) {
    char c = 'w';
    (void)!write(fd, &c, 1);
  }
  errno = saved;
}

// Forwards kForwardedSignals to a container while alive. The signals are blocked in the
// calling thread from construction until Attach(pid), so one that arrives while the container
// starts is delivered (forwarded) right after, not lost; without Attach, they get their
// original disposition back before being unblocked.
class ScopedForwarding final {
 public:
  ScopedForwarding() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kForwardedSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
    std::lock_guard<std::mutex> lock(g_forward_mu);
    if (g_forward_users++ == 0) {
      for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
        struct sigaction sa {};
        sa.sa_handler = ForwardSignal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(kForwardedSignals[i], &sa, &g_saved_actions[i]);
      }
    }
  }
  void Attach(pid_t pid) {
    for (auto& p : g_forward_pids) {
      pid_t expected = 0;
      if (p.compare_exchange_strong(expected, pid)) {
        slot_ = &p;
        break;
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    unblocked_ = true;
  }
  ~ScopedForwarding() {
    {
      std::lock_guard<std::mutex> lock(g_forward_mu);
      if (slot_ != nullptr) slot_->store(0);
      if (--g_forward_users == 0) {
        for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
          sigaction(kForwardedSignals[i], &g_saved_actions[i], nullptr);
        }
      }
    }
    if (!unblocked_) pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedForwarding(const ScopedForwarding&) = delete;
  ScopedForwarding& operator=(const ScopedForwarding&) = delete;

 private:
  sigset_t old_mask_;
  bool unblocked_ = false;
  std::atomic<pid_t>* slot_ = nullptr;
};

// Puts our stdin in raw mode while alive.
class ScopedRawMode final {
 public:
  ScopedRawMode() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) active_ = true;
  }
  ~ScopedRawMode() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  ScopedRawMode(const ScopedRawMode&) = delete;
  ScopedRawMode& operator=(const ScopedRawMode&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

void CopyWindowSize(int master) {
  winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

// Copies stdin -> master and master -> stdout until the container exits.
Result<ExitStatus> PumpPty(Container& c) {
  int master = c.pty_master();
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe");
  UniqueFd winch_r(pipefd[0]), winch_w(pipefd[1]);
  g_winch_fd.store(winch_w.get());
  struct sigaction sa {
  }, old_sa;
  sa.sa_handler = OnWinch;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &sa, &old_sa);
  ScopedRawMode raw;
  CopyWindowSize(master);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, c.pid(), 0));
  UniqueFd pidfd_owner(pidfd);
  bool stdin_open = true;
  char buf[16384];
  while (true) {
    pollfd fds[4] = {{master, POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {winch_r.get(), POLLIN, 0},
                     {pidfd, POLLIN, 0}};
    int n = poll(fds, 4, pidfd >= 0 ? -1 : 50);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(master, buf, sizeof(buf));
      if (r > 0) {
        (void)WriteAll(STDOUT_FILENO, std::string_view(buf, r));
      } else if (r < 0 && errno != EINTR && errno != EAGAIN) {
        break;  // EIO: every slave is closed, the container is gone
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
      if (r > 0) {
        (void)WriteAll(master, std::string_view(buf, r));
      } else if (r == 0) {
        stdin_open = false;
        char eof = 4;  // ^D: end of input for the canonical-mode reader inside
        (void)!write(master, &eof, 1);
      }
    }
    if (fds[2].revents & POLLIN) {
      while (read(winch_r.get(), buf, sizeof(buf)) > 0) {
      }
      CopyWindowSize(master);
    }
    if (pidfd >= 0 && (fds[3].revents & POLLIN)) {
      // Drain what is left.
      int fl = fcntl(master, F_GETFL);
      fcntl(master, F_SETFL, fl | O_NONBLOCK);
      ssize_t r;
      while ((r = read(master, buf, sizeof(buf))) > 0) {
        (void)WriteAll(STDOUT_FILENO, std::string_view(buf, r));
      }
      break;
    }
    if (pidfd < 0) {
      auto p = c.Poll();
      if (!p.ok() || p->has_value()) {
        sigaction(SIGWINCH, &old_sa, nullptr);
        g_winch_fd.store(-1);
        return p.ok() ? Result<ExitStatus>(**p) : Result<ExitStatus>(p.error());
      }
    }
  }
  sigaction(SIGWINCH, &old_sa, nullptr);
  g_winch_fd.store(-1);
  return c.Wait();
}

// Where the generated /etc files go: a tmpfs if there is one we can write (/dev/shm), since
// dropping the last reference to a deleted file on a disk file system at container exit can
// wait on its journal (several ms per `run`).
std::string EtcFilesParent() {
  static const std::string parent = [] {
    struct statfs sfs;
    if (access("/dev/shm", W_OK) == 0 && statfs("/dev/shm", &sfs) == 0 &&
        sfs.f_type == TMPFS_MAGIC) {
      return std::string("/dev/shm");
    }
    return std::string();  // $TMPDIR or /tmp
  }();
  return parent;
}

std::string RandomId() { return RandomHex(16); }

}  // namespace

int ExitCodeFromStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

// ---------------------------------------------------------------------------------------------
// Container.

Result<Container> Container::Start(const Spec& spec) {
  std::string id = spec.id.empty() ? RandomId() : spec.id;
  // Generated /etc files live in a temp dir until the child has bound them.
  std::optional<TempDir> etc_dir;
  if (spec.etc_files) {
    BLD_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(EtcFilesParent(), "bld-etc-"));
    etc_dir.emplace(std::move(dir));
  }
  BLD_ASSIGN_OR_RETURN(SetupPlan plan, BuildSetupPlan(spec, etc_dir ? etc_dir->path() : ""));

  std::unique_ptr<Cgroup> cgroup;
  // The device policy: where we are root on the host (a user namespace cannot open host
  // devices anyway) and the v1 devices controller is there.
  // (Not as root of a rootless bld's own user namespace, runner/userns.h.)
  const bool device_policy = !plan.user_namespace && geteuid() == 0 &&
                             InInitialUserNamespace() && IsDirectory("/sys/fs/cgroup/devices");
  if (!spec.limits.empty() || device_policy) {
    BLD_ASSIGN_OR_RETURN(Cgroup cg,
                         Cgroup::Create(spec.cgroup_parent, id, spec.limits, device_policy,
                                        plan.device_rules));
    cgroup = std::make_unique<Cgroup>(std::move(cg));
  }

  Container c;
  c.init_ = spec.init;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoError("socketpair");
  }
  UniqueFd sync_parent(sv[0]), sync_child(sv[1]);
  int init_fd = -1;
  if (plan.init) {
    BLD_ASSIGN_OR_RETURN(init_fd, InitBinaryFd());
  }

  plan.Finalize();
  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  if (plan.new_network) flags |= CLONE_NEWNET;
  if (plan.user_namespace) flags |= CLONE_NEWUSER;
  // fork-like clone (no CLONE_VM, no new stack): safe with sanitizers and threads, as long
  // as the child only makes system calls.
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0));
  if (pid < 0) {
    int err = errno;
    std::string hint;
    if (err == EPERM || err == ENOSPC || err == EINVAL) {
      hint = plan.user_namespace ? " (are unprivileged user namespaces allowed?)"
                                 : " (creating namespaces needs CAP_SYS_ADMIN)";
    }
    return PosixError("clone container namespaces" + hint, err);
  }
  if (pid == 0) {
    ChildChannel ch{sync_child.get(), init_fd};
    ChildMain(ch, plan);
  }
  c.pid_ = pid;
  sync_child.reset();

  auto abort_child = [&](Error e) -> Error {
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    c.pid_ = -1;
    return e;
  };
  if (plan.user_namespace) {
    Status st = WriteIdMaps(pid, plan.uid_maps, plan.gid_maps);
    if (!st.ok()) return abort_child(std::move(st).error());
  }
  if (cgroup) {
    Status st = cgroup->AddProcess(pid);
    if (!st.ok()) return abort_child(std::move(st).error());
  }
  char go = 'G';
  if (send(sync_parent.get(), &go, 1, MSG_NOSIGNAL) != 1) {
    return abort_child(ErrnoError("start container"));
  }
  // In tty mode first the pty master ('T' + fd); then one failure message, or EOF (exec
  // succeeded: the last copy of the child's end closed on exec).
  char buf[4096];
  ssize_t n;
  while (true) {
    iovec iov{buf, sizeof(buf)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    while ((n = recvmsg(sync_parent.get(), &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n < 0) return abort_child(ErrnoError("read container setup status"));
    if (n == 1 && buf[0] == 'T') {
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      if (cm == nullptr || cm->cmsg_type != SCM_RIGHTS) {
        return abort_child(InternalError("start container: pty master missing"));
      }
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm), sizeof(int));
      c.pty_master_.reset(fd);
      if (isatty(STDIN_FILENO)) CopyWindowSize(fd);
      continue;
    }
    break;
  }
  c.cgroup_ = std::move(cgroup);
  if (n >= 5) {
    int code;
    std::memcpy(&code, buf + 1, sizeof(code));
    std::string text(buf + 5, n - 5);
    if (buf[0] == 'X') {
      c.exec_error_ = std::move(text);
      c.exec_code_ = code;
    } else {
      return abort_child(Error(code != 0 ? PosixError("", code).code() : ErrorCode::kInternal,
                               "start container: " + text, code));
    }
  } else if (n != 0) {
    return abort_child(InternalError("start container: malformed setup status"));
  }
  return c;
}

Container::Container(Container&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      init_(other.init_),
      pty_master_(std::move(other.pty_master_)),
      exec_error_(std::move(other.exec_error_)),
      exec_code_(other.exec_code_),
      cgroup_(std::move(other.cgroup_)) {}

Container& Container::operator=(Container&& other) noexcept {
  if (this != &other) {
    this->~Container();
    new (this) Container(std::move(other));
  }
  return *this;
}

Container::~Container() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

Status Container::Signal(int sig) const {
  if (pid_ <= 0) return FailedPreconditionError("container is not running");
  if (kill(pid_, sig) != 0) return ErrnoError("signal container pid " + std::to_string(pid_));
  return Ok();
}

Result<ExitStatus> Container::Finish(int wait_status) {
  pid_ = -1;
  ExitStatus s;
  // Only from waitpid: nothing in the container can write what we report.
  s.code = ExitCodeFromStatus(wait_status);
  s.signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  // The init exits with 128+N when a signal N killed the command (it cannot die of the
  // signal itself: PID 1 of a namespace ignores it), as docker-init does.
  if (init_ && WIFEXITED(wait_status) && s.code > 128 && s.code - 128 < NSIG) {
    s.signal = s.code - 128;
  }
  if (!exec_error_.empty()) {
    s.exec_error = exec_error_;
    s.code = exec_code_;
    s.signal = 0;
  }
  if (cgroup_) {
    Cgroup::Stats st = cgroup_->ReadStats();
    s.oom_killed = st.oom_killed;
    s.cpu_usage_us = st.cpu_usage_us;
    s.cpu_nr_throttled = st.nr_throttled;
    s.cpu_throttled_us = st.throttled_us;
    cgroup_.reset();
  }
  return s;
}

Result<ExitStatus> Container::Wait() {
  if (pid_ <= 0) return FailedPreconditionError("container is not running");
  int st;
  while (waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) return ErrnoError("wait for container pid " + std::to_string(pid_));
  }
  return Finish(st);
}

Result<std::optional<ExitStatus>> Container::Poll() {
  if (pid_ <= 0) return FailedPreconditionError("container is not running");
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r < 0) return ErrnoError("wait for container pid " + std::to_string(pid_));
  if (r == 0) return std::optional<ExitStatus>();
  BLD_ASSIGN_OR_RETURN(ExitStatus s, Finish(st));
  return std::optional<ExitStatus>(s);
}

Result<ExitStatus> Run(const Spec& spec) {
  ScopedForwarding forwarding;
  BLD_ASSIGN_OR_RETURN(Container c, Container::Start(spec));
  forwarding.Attach(c.pid());
  if (spec.tty) return PumpPty(c);
  return c.Wait();
}

}  // namespace bld::runner
