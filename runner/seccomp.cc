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
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

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

Result<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx c);

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

  return ExportBpf(c);
}

Result<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx c) {
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


// ---------------------------------------------------------------------------------------------
// Docker's profile JSON.

namespace {

using nlohmann::json;

// "SCMP_ARCH_X86_64" -> libseccomp's token.
Result<uint32_t> ArchFromName(const std::string& name, const std::string& where) {
  std::string n = name;
  if (n.starts_with("SCMP_ARCH_")) n = n.substr(10);
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  uint32_t arch = seccomp_arch_resolve_name(n.c_str());
  if (arch == 0) return InvalidArgumentError(where + ": unknown architecture \"" + name + "\"");
  return arch;
}

// The Go name of the native architecture, as includes/excludes "arches" spell it.
std::string NativeGoArch() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64: return "amd64";
    case SCMP_ARCH_X86: return "386";
    case SCMP_ARCH_AARCH64: return "arm64";
    case SCMP_ARCH_ARM: return "arm";
    case SCMP_ARCH_PPC64LE: return "ppc64le";
    case SCMP_ARCH_S390X: return "s390x";
    case SCMP_ARCH_RISCV64: return "riscv64";
    default: return "";
  }
}

Result<uint32_t> ParseAction(const json& j, const json* errno_ret, uint32_t default_errno,
                             const std::string& where) {
  if (!j.is_string()) return InvalidArgumentError(where + ": action is not a string");
  std::string a = j.get<std::string>();
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_ERRNO") {
    uint32_t e = default_errno;
    if (errno_ret != nullptr) {
      if (!errno_ret->is_number_unsigned()) {
        return InvalidArgumentError(where + ": errnoRet is not a non-negative number");
      }
      e = errno_ret->get<uint32_t>();
    }
    return SCMP_ACT_ERRNO(e);
  }
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return InvalidArgumentError(where + ": action " + a +
                              " is not supported (ALLOW, ERRNO, KILL, KILL_THREAD, "
                              "KILL_PROCESS, TRAP, LOG)");
}

Result<scmp_compare> ParseOp(const json& j, const std::string& where) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  if (j.is_string()) {
    auto it = kOps.find(j.get<std::string>());
    if (it != kOps.end()) return it->second;
  }
  return InvalidArgumentError(where + ": unknown op " + j.dump());
}

// "5.8" <= this kernel's release.
bool KernelAtLeast(const std::string& want) {
  utsname u{};
  if (uname(&u) != 0) return false;
  unsigned have_major = 0, have_minor = 0, want_major = 0, want_minor = 0;
  std::sscanf(u.release, "%u.%u", &have_major, &have_minor);
  if (std::sscanf(want.c_str(), "%u.%u", &want_major, &want_minor) < 1) return false;
  return have_major != want_major ? have_major > want_major : have_minor >= want_minor;
}

// Whether a syscalls[] entry's includes/excludes select it for this container.
Result<bool> Selected(const json& entry, CapabilitySet caps, const std::string& where) {
  const std::string arch = NativeGoArch();
  auto check = [&](const char* key, bool include) -> Result<bool> {
    if (!entry.contains(key)) return true;
    const json& f = entry[key];
    if (!f.is_object()) return InvalidArgumentError(where + ": " + key + " is not an object");
    for (const auto& [k, v] : f.items()) {
      if (k == "caps" || k == "arches") {
        if (!v.is_array()) return InvalidArgumentError(where + ": " + key + "." + k + " is not a list");
        if (v.empty()) continue;
        bool any = false;
        for (const json& x : v) {
          if (!x.is_string()) return InvalidArgumentError(where + ": " + key + "." + k + ": not a string");
          if (k == "arches") {
            any |= x.get<std::string>() == arch;
          } else {
            auto cap = CapabilityFromName(x.get<std::string>());
            if (!cap.ok()) return cap.error().Wrap(where + ": " + key + ".caps");
            any |= (caps & (CapabilitySet{1} << *cap)) != 0;
          }
        }
        // includes: one of them must hold; excludes: none may.
        if (include ? !any : any) return false;
      } else if (k == "minKernel") {
        if (!v.is_string()) return InvalidArgumentError(where + ": " + key + ".minKernel is not a string");
        bool at_least = KernelAtLeast(v.get<std::string>());
        if (include ? !at_least : at_least) return false;
      } else {
        return InvalidArgumentError(where + ": " + key + "." + k + " is not supported");
      }
    }
    return true;
  };
  BLD_ASSIGN_OR_RETURN(bool inc, check("includes", true));
  BLD_ASSIGN_OR_RETURN(bool exc, check("excludes", false));
  return inc && exc;
}

Status AddProfileRule(scmp_filter_ctx c, uint32_t default_action, uint32_t action, int nr,
                      const std::vector<scmp_arg_cmp>& args, const std::string& where) {
  if (action == default_action) return Ok();  // libseccomp refuses those; they change nothing
  int rc = seccomp_rule_add_array(c, action, nr, static_cast<unsigned>(args.size()),
                                  args.empty() ? nullptr : args.data());
  if (rc < 0 && rc != -EEXIST && rc != -EDOM) return PosixError(where + ": add rule", -rc);
  return Ok();
}

}  // namespace

Result<std::vector<sock_filter>> CompileSeccompProfile(std::string_view text,
                                                       const std::string& what,
                                                       CapabilitySet caps) {
  const json p = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (p.is_discarded() || !p.is_object()) {
    return InvalidArgumentError("seccomp profile " + what + ": not a JSON object");
  }
  const std::string w = "seccomp profile " + what;
  for (const auto& [k, v] : p.items()) {
    if (k != "defaultAction" && k != "defaultErrnoRet" && k != "architectures" && k != "archMap" &&
        k != "syscalls" && k != "flags" && k != "listenerPath" && k != "listenerMetadata") {
      return InvalidArgumentError(w + ": field \"" + k + "\" is not supported");
    }
  }
  if (p.contains("listenerPath") && !p["listenerPath"].is_null() && p["listenerPath"] != "") {
    return InvalidArgumentError(w + ": listenerPath (seccomp notify) is not supported");
  }
  if (p.contains("flags") && !(p["flags"].is_null() || (p["flags"].is_array() && p["flags"].empty()))) {
    return InvalidArgumentError(w + ": flags are not supported");
  }
  if (!p.contains("defaultAction")) return InvalidArgumentError(w + ": no defaultAction");
  uint32_t default_errno = EPERM;
  if (p.contains("defaultErrnoRet")) {
    if (!p["defaultErrnoRet"].is_number_unsigned()) {
      return InvalidArgumentError(w + ": defaultErrnoRet is not a non-negative number");
    }
    default_errno = p["defaultErrnoRet"].get<uint32_t>();
  }
  BLD_ASSIGN_OR_RETURN(uint32_t default_action,
                       ParseAction(p["defaultAction"], nullptr, default_errno, w + ": defaultAction"));
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(default_action));
  if (!ctx) return InternalError(w + ": seccomp_init failed");
  scmp_filter_ctx c = ctx.get();

  std::vector<std::string> arches;
  if (p.contains("architectures") && !p["architectures"].is_null()) {
    if (!p["architectures"].is_array()) return InvalidArgumentError(w + ": architectures is not a list");
    for (const json& a : p["architectures"]) {
      if (!a.is_string()) return InvalidArgumentError(w + ": architectures: not a string");
      arches.push_back(a.get<std::string>());
    }
  } else if (p.contains("archMap") && p["archMap"].is_array()) {
    // Docker's own profile: the native architecture's entry and its sub-architectures.
    for (const json& m : p["archMap"]) {
      if (!m.is_object() || !m.contains("architecture") || !m["architecture"].is_string()) {
        return InvalidArgumentError(w + ": archMap entry without architecture");
      }
      BLD_ASSIGN_OR_RETURN(uint32_t a, ArchFromName(m["architecture"], w + ": archMap"));
      if (a != seccomp_arch_native()) continue;
      arches.push_back(m["architecture"]);
      if (m.contains("subArchitectures") && m["subArchitectures"].is_array()) {
        for (const json& s : m["subArchitectures"]) {
          if (s.is_string()) arches.push_back(s.get<std::string>());
        }
      }
    }
  }
  for (const std::string& a : arches) {
    BLD_ASSIGN_OR_RETURN(uint32_t arch, ArchFromName(a, w + ": architectures"));
    int rc = seccomp_arch_add(c, arch);
    if (rc < 0 && rc != -EEXIST) return PosixError(w + ": add architecture " + a, -rc);
  }

  if (p.contains("syscalls") && !p["syscalls"].is_null()) {
    if (!p["syscalls"].is_array()) return InvalidArgumentError(w + ": syscalls is not a list");
    size_t i = 0;
    for (const json& e : p["syscalls"]) {
      std::string where = w + ": syscalls[" + std::to_string(i++) + "]";
      if (!e.is_object()) return InvalidArgumentError(where + ": not an object");
      for (const auto& [k, v] : e.items()) {
        if (k != "names" && k != "name" && k != "action" && k != "errnoRet" && k != "args" &&
            k != "includes" && k != "excludes" && k != "comment") {
          return InvalidArgumentError(where + ": field \"" + k + "\" is not supported");
        }
      }
      if (!e.contains("action")) return InvalidArgumentError(where + ": no action");
      BLD_ASSIGN_OR_RETURN(bool selected, Selected(e, caps, where));
      if (!selected) continue;
      BLD_ASSIGN_OR_RETURN(uint32_t action,
                           ParseAction(e["action"], e.contains("errnoRet") ? &e["errnoRet"] : nullptr,
                                       EPERM, where));
      std::vector<std::string> names;
      if (e.contains("name")) {
        if (!e["name"].is_string()) return InvalidArgumentError(where + ": name is not a string");
        names.push_back(e["name"]);
      }
      if (e.contains("names")) {
        if (!e["names"].is_array()) return InvalidArgumentError(where + ": names is not a list");
        for (const json& n : e["names"]) {
          if (!n.is_string()) return InvalidArgumentError(where + ": names: not a string");
          names.push_back(n.get<std::string>());
        }
      }
      std::vector<scmp_arg_cmp> args;
      if (e.contains("args") && !e["args"].is_null()) {
        if (!e["args"].is_array()) return InvalidArgumentError(where + ": args is not a list");
        for (const json& a : e["args"]) {
          if (!a.is_object() || !a.contains("index") || !a["index"].is_number_unsigned() ||
              a["index"].get<uint64_t>() > 5 || !a.contains("value") ||
              !a["value"].is_number_unsigned() || !a.contains("op")) {
            return InvalidArgumentError(where + ": args: want {index 0-5, value, valueTwo, op}");
          }
          uint64_t two = 0;
          if (a.contains("valueTwo")) {
            if (!a["valueTwo"].is_number_unsigned()) {
              return InvalidArgumentError(where + ": args: valueTwo is not a non-negative number");
            }
            two = a["valueTwo"].get<uint64_t>();
          }
          BLD_ASSIGN_OR_RETURN(scmp_compare op, ParseOp(a["op"], where + ": args"));
          args.push_back(scmp_arg_cmp{a["index"].get<unsigned>(), op, a["value"].get<uint64_t>(), two});
        }
      }
      // Distinct indices: one rule, ANDed; repeated ones: one rule per argument, ORed (runc).
      bool distinct = true;
      for (size_t x = 0; x < args.size(); ++x) {
        for (size_t y = x + 1; y < args.size(); ++y) distinct &= args[x].arg != args[y].arg;
      }
      for (const std::string& name : names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown here (newer than libseccomp)
        if (distinct) {
          BLD_TRY(AddProfileRule(c, default_action, action, nr, args, where + " " + name));
        } else {
          for (const scmp_arg_cmp& a : args) {
            BLD_TRY(AddProfileRule(c, default_action, action, nr, {a}, where + " " + name));
          }
        }
      }
    }
  }
  return ExportBpf(c);
}

}  // namespace bld::runner
