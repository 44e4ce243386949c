#include "runner/seccomp.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include <gtest/gtest.h>

#include "runner/capabilities.h"

namespace bld::runner {
namespace {

// Loads `prog` in a forked child and returns what `probe` returned there (0..255).
int InChild(const std::vector<sock_filter>& prog, const std::function<int()>& probe) {
  pid_t pid = fork();
  if (pid == 0) {
    sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter*>(prog.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(201);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) _exit(202);
    _exit(probe());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

CapabilitySet Defaults() {
  auto caps = ComputeCapabilities({}, {}, CAP_LAST_CAP);
  return caps.ok() ? *caps : 0;
}

TEST(SeccompTest, VsockDeniedOtherFamiliesAllowed) {
  auto prog = BuildDefaultSeccompFilter(Defaults());
  ASSERT_TRUE(prog.ok()) << prog.error().message();
  // AF_VSOCK is 40: Docker's profile refuses it (EPERM), whatever the kernel supports.
  EXPECT_EQ(InChild(*prog, [] {
              int fd = socket(40, SOCK_STREAM, 0);
              return fd < 0 && errno == EPERM ? 0 : 1;
            }),
            0);
  EXPECT_EQ(InChild(*prog, [] { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 1; }), 0);
  EXPECT_EQ(InChild(*prog, [] { return socket(AF_INET, SOCK_DGRAM, 0) >= 0 ? 0 : 1; }), 0);
}

TEST(SeccompTest, NamespacesAndMountDeniedWithoutSysAdmin) {
  auto prog = BuildDefaultSeccompFilter(Defaults());
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(InChild(*prog, [] { return unshare(0) < 0 && errno == EPERM ? 0 : 1; }), 0);
  EXPECT_EQ(InChild(*prog,
                    [] {
                      return syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr) < 0 &&
                                     errno == EPERM
                                 ? 0
                                 : 1;
                    }),
            0);
}

#if defined(__x86_64__)
// An i386 system call (int $0x80) from a 64-bit process: getpid is 20 in the i386 table.
long I386Getpid() {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  return ret;
}

TEST(SeccompTest, I386SyscallsFollowTheProfileInsteadOfKilling) {
  auto prog = BuildDefaultSeccompFilter(Defaults());
  ASSERT_TRUE(prog.ok());
  // Without the x86 architecture in the filter, the bad-arch action kills with SIGSYS.
  pid_t expected = 0;
  int r = InChild(*prog, [&] { return I386Getpid() == getpid() ? 0 : 1; });
  (void)expected;
  EXPECT_EQ(r, 0) << "exit/signal " << r;
}
#endif

TEST(SeccompTest, CompileTime) {
  // Cached per process by the runner; here, how long one compile takes (for the log).
  auto start = std::chrono::steady_clock::now();
  auto prog = BuildDefaultSeccompFilter(Defaults());
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(prog.ok());
  RecordProperty("compile_ms", std::to_string(ms.count()));
  std::printf("seccomp compile: %.2f ms, %zu instructions\n", ms.count(), prog->size());
}

}  // namespace
}  // namespace bld::runner
