// hostile-probe: what an attacker inside a container tries, one system call at a time.
// A static program (no libc of the image needed) that the hostile suite puts into
// containers, from `bld run` (a bind mount) and from RUN (COPY).
//
//   hostile-probe sys NAME   try the system call NAME with harmless arguments; prints
//                            "NAME: denied (errno)" and exits 0 if the kernel or seccomp
//                            refused it with EPERM/EACCES/ENOSYS, else prints
//                            "NAME: ALLOWED (...)" and exits 1.
//   hostile-probe euid       prints the effective uid (for setuid checks).
//   hostile-probe i386       an i386 getpid (int $0x80); exits 0 if it returned our pid.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long Try(const char* name) {
  if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(name, "umount")) return syscall(SYS_umount2, "/proc", MNT_DETACH);
  if (!strcmp(name, "pivot_root")) return syscall(SYS_pivot_root, "/tmp", "/tmp");
  if (!strcmp(name, "unshare")) return syscall(SYS_unshare, CLONE_NEWUSER);
  if (!strcmp(name, "unshare-mnt")) return syscall(SYS_unshare, CLONE_NEWNS);
  if (!strcmp(name, "setns")) {
    int fd = open("/proc/self/ns/mnt", O_RDONLY);
    if (fd < 0) return -1;
    return syscall(SYS_setns, fd, 0);
  }
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "x");
  if (!strcmp(name, "add_key")) {
    return syscall(SYS_add_key, "user", "bld", "x", 1, KEY_SPEC_SESSION_KEYRING);
  }
  if (!strcmp(name, "bpf")) {
    char attr[128] = {0};
    return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr));
  }
  if (!strcmp(name, "perf_event_open")) {
    char attr[128] = {0};
    return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
  }
  if (!strcmp(name, "open_by_handle_at")) {
    char handle[64] = {0};
    return syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_RDONLY);
  }
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, "", 0, "");
  if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, 0, "", 0);
  if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "bld_none", 0);
  if (!strcmp(name, "ptrace-pid1")) return ptrace(PTRACE_ATTACH, 1, NULL, NULL);
  if (!strcmp(name, "vsock")) return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (!strcmp(name, "reboot")) return syscall(SYS_reboot, 0, 0, 0, NULL);
  if (!strcmp(name, "swapon")) return syscall(SYS_swapon, "/nonexistent", 0);
  fprintf(stderr, "hostile-probe: unknown system call %s\n", name);
  exit(2);
}

int main(int argc, char** argv) {
  if (argc == 3 && !strcmp(argv[1], "sys")) {
    errno = 0;
    long r = Try(argv[2]);
    int err = errno;
    if (r < 0 && (err == EPERM || err == EACCES || err == ENOSYS)) {
      printf("%s: denied (%s)\n", argv[2], strerror(err));
      return 0;
    }
    printf("%s: ALLOWED (%s)\n", argv[2], r < 0 ? strerror(err) : "succeeded");
    return 1;
  }
  if (argc == 2 && !strcmp(argv[1], "euid")) {
    printf("%d\n", (int)geteuid());
    return 0;
  }
#if defined(__x86_64__)
  if (argc == 2 && !strcmp(argv[1], "i386")) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret == getpid() ? 0 : 1;
  }
#endif
  fprintf(stderr, "usage: hostile-probe sys NAME | euid | i386\n");
  return 2;
}
