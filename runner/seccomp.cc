#include "runner/seccomp.h"

#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "base/fd.h"
#include "base/file.h"

namespace bld::runner {

namespace {

// Docker's unconditional allow-list (moby/profiles/seccomp/default.json), minus the
// entries handled below with argument filters or capabilities.
constexpr const char* kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "arch_prctl",
    "modify_ldt",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "uretprobe",
};

// Allowed only with the capability (Docker's "includes: caps" rules).
struct CapRule {
  int cap;
  std::initializer_list<const char*> syscalls;
};
const CapRule kCapRules[] = {
    {CAP_SYS_ADMIN, {"bpf",           "fanotify_init", "fsconfig",         "fsmount",
                     "fsopen",        "fspick",        "lookup_dcookie",   "mount",
                     "mount_setattr", "move_mount",    "open_tree",        "perf_event_open",
                     "quotactl",      "quotactl_fd",   "setdomainname",    "sethostname",
                     "setns",         "syslog",        "umount",           "umount2",
                     "unshare",       "pivot_root",    "open_by_handle_at"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd"}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
    {CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

Status AddRule(scmp_filter_ctx ctx, const char* name, unsigned int count = 0,
               const scmp_arg_cmp* args = nullptr) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return Ok();  // not a syscall on these architectures
  int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, count, args);
  // -EEXIST: already allowed by another rule; -EACCES/-EDOM: pseudo syscall on some arch.
  if (rc < 0 && rc != -EEXIST && rc != -EACCES && rc != -EDOM) {
    return PosixError(std::string("seccomp: allow ") + name, -rc);
  }
  return Ok();
}

}  // namespace

Result<std::vector<sock_filter>> BuildDefaultSeccompFilter(CapabilitySet caps) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!ctx) return InternalError("seccomp_init failed");
  scmp_filter_ctx c = ctx.get();
  // Docker's architectures for amd64: x86-64, and the i386 and x32 ABIs.
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
      int rc = seccomp_arch_add(c, arch);
      if (rc < 0 && rc != -EEXIST) return PosixError("seccomp: add architecture", -rc);
    }
  }
  auto has = [&](int cap) { return (caps & (CapabilitySet{1} << cap)) != 0; };
  for (const char* name : kAllowed) BLD_TRY(AddRule(c, name));
  for (const CapRule& rule : kCapRules) {
    if (!has(rule.cap)) continue;
    for (const char* name : rule.syscalls) BLD_TRY(AddRule(c, name));
  }
  // socket: every family but AF_VSOCK (40), as Docker's profile (host<->VM channels).
  {
    scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_NE, 40);
    BLD_TRY(AddRule(c, "socket", 1, &arg));
  }
  // personality: only the harmless domains Docker allows.
  for (uint64_t persona : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
    scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_EQ, persona);
    BLD_TRY(AddRule(c, "personality", 1, &arg));
  }
  // clone: no new namespaces without CAP_SYS_ADMIN. (On x86-64 flags are the first arg.)
  if (has(CAP_SYS_ADMIN)) {
    BLD_TRY(AddRule(c, "clone"));
  } else {
    constexpr uint64_t kNsFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
    scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, kNsFlags, 0);
    BLD_TRY(AddRule(c, "clone", 1, &arg));
  }
  // clone3's flags live in memory seccomp cannot inspect: ENOSYS makes libcs use clone.
  if (int nr = seccomp_syscall_resolve_name("clone3"); nr != __NR_SCMP_ERROR) {
    int rc =
        seccomp_rule_add(c, has(CAP_SYS_ADMIN) ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (rc < 0 && rc != -EEXIST) return PosixError("seccomp: clone3 rule", -rc);
  }

  UniqueFd mem(memfd_create("bld-seccomp", MFD_CLOEXEC));
  if (!mem) return ErrnoError("seccomp: memfd_create");
  if (int rc = seccomp_export_bpf(c, mem.get()); rc < 0) {
    return PosixError("seccomp: export BPF", -rc);
  }
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0) {
    return InternalError("seccomp: exported BPF has a bad size");
  }
  std::vector<sock_filter> prog(size / sizeof(sock_filter));
  if (pread(mem.get(), prog.data(), size, 0) != size) return ErrnoError("seccomp: read BPF");
  return prog;
}

namespace {

std::mutex g_cache_mu;
std::string g_cache_dir;

// FNV-1a over everything that decides the program.
std::string ProfileKey(CapabilitySet caps) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&](std::string_view s) {
    for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const char* n : kAllowed) add(n);
  for (const CapRule& r : kCapRules) {
    add(std::to_string(r.cap));
    for (const char* n : r.syscalls) add(n);
  }
  // The argument rules coded in BuildDefaultSeccompFilter (socket, personality, clone,
  // clone3, architectures): bump when they change.
  add("rules-rev-2");
  const scmp_version* v = seccomp_version();
  char buf[160];
  snprintf(buf, sizeof(buf), "default-%016" PRIx64 "-%u.%u.%u-%016" PRIx64 ".bpf", h, v->major,
           v->minor, v->micro, static_cast<uint64_t>(caps));
  return buf;
}

}  // namespace

void SetSeccompCacheDir(std::string dir) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  g_cache_dir = std::move(dir);
}

Result<std::vector<sock_filter>> CachedDefaultSeccompFilter(CapabilitySet caps) {
  static std::map<CapabilitySet, std::vector<sock_filter>> memory;
  std::lock_guard<std::mutex> lock(g_cache_mu);
  if (auto it = memory.find(caps); it != memory.end()) return it->second;
  std::string file = g_cache_dir.empty() ? "" : g_cache_dir + "/" + ProfileKey(caps);
  if (!file.empty()) {
    auto data = ReadFile(file);
    if (data.ok() && !data->empty() && data->size() % sizeof(sock_filter) == 0 &&
        data->size() / sizeof(sock_filter) <= BPF_MAXINSNS) {
      std::vector<sock_filter> prog(data->size() / sizeof(sock_filter));
      std::memcpy(prog.data(), data->data(), data->size());
      memory.emplace(caps, prog);
      return prog;
    }
  }
  BLD_ASSIGN_OR_RETURN(auto prog, BuildDefaultSeccompFilter(caps));
  if (!file.empty() && MkdirAll(g_cache_dir, 0700).ok()) {
    // Best effort: a cache that cannot be written only costs the compile next time.
    (void)WriteFileAtomic(file,
                          std::string_view(reinterpret_cast<const char*>(prog.data()),
                                           prog.size() * sizeof(sock_filter)),
                          0600);
  }
  memory.emplace(caps, prog);
  return prog;
}

}  // namespace bld::runner
