// The hostile-container suite (issue 10, acceptance 1): each test is one attack, made from
// inside a container the way an image or a Dockerfile we do not trust would make it, once
// through `bld run` and once through a RUN step of `bld build`. The attack script prints
// CONTAINED and exits 0 when the protection held; anything else fails the test. (Scripts
// test `X && exit 9`, never `! X` under set -e: the shell does not stop on a negated command.)
//
// Parameterised by who runs bld (Who: root, or an unprivileged user the suite creates with
// /etc/subuid and /etc/subgid ranges, so rootless bld in its own user namespace) and how the
// container comes to be (Via). Attacks that need a flag of `bld run` are in HostileRunTest,
// those of a build alone in HostileBuildTest; HostileRootRunTest holds the few that mean
// nothing rootless (each says why).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/rootless_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

enum class Who { kRoot, kUser };
enum class Via { kRun, kBuild };
struct Param {
  Who who;
  Via via;
};

std::string ParamName(const ::testing::TestParamInfo<Param>& p) {
  return std::string(p.param.who == Who::kRoot ? "Root" : "User") +
         (p.param.via == Via::kRun ? "Run" : "Build");
}

// Marks everything of the host that must stay invisible: bld's environment and argv (the
// store root's name) carry it.
constexpr const char kSecret[] = "bld-hostile-host-secret";

class HostileTest : public ::testing::TestWithParam<Param> {
 protected:
  static void SetUpTestSuite() {
    if (!IsRoot()) return;
    std::string why;
    auto u = EnsureRootlessUser("bldhostile", /*with_subids=*/true, &why);
    ASSERT_TRUE(u.has_value()) << why;
    user_ = *u;
    auto d = TempDir::Create("", "bld-hostile-");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(*d));
    // The user reaches the probe, the scripts and the host marker (to show they stay out of
    // the container's reach, not out of the user's).
    ASSERT_EQ(chmod(dir_->path().c_str(), 0755), 0);
    root_ = dir_->path() + "/store-" + kSecret;
    user_root_ = dir_->path() + "/user-store-" + kSecret;
    ASSERT_TRUE(ImportBusybox(root_, "busybox"));
    ASSERT_TRUE(MkdirAll(user_root_, 0700).ok());
    ASSERT_EQ(chown(user_root_.c_str(), user_.uid, user_.gid), 0);
    std::string tar = dir_->path() + "/busybox.tar";
    ASSERT_EQ(bld::testing::Run({"cp", BusyboxRootfsTar(), tar}).exit_code, 0);
    ASSERT_EQ(chmod(tar.c_str(), 0644), 0);
    auto user_imp = RunAsUser(
        user_, dir_->path(),
        {BldBinary(), "--root", user_root_, "import", tar, "busybox", "--change", "CMD [\"sh\"]"});
    ASSERT_EQ(user_imp.exit_code, 0) << user_imp.err;
    // An image whose /proc is a symlink (CVE-2019-19921 / CVE-2023-27561): procfs must not
    // land at the link's target, unmasked.
    std::string tree = dir_->path() + "/evil-tree";
    auto mk = bld::testing::Run({SourceDir() + "/testdata/busybox-rootfs.sh", tree});
    ASSERT_EQ(mk.exit_code, 0) << mk.err;
    auto ln = bld::testing::Run({"sh", "-c",
                   "cd '" + tree + "' && rm -rf proc && mkdir -p tmp/p && ln -s tmp/p proc && "
                   "tar -cf ../evil.tar ."});
    ASSERT_EQ(ln.exit_code, 0) << ln.err;
    auto imp = RunBld(root_, {"import", dir_->path() + "/evil.tar", "evilproc"});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    ASSERT_EQ(chmod((dir_->path() + "/evil.tar").c_str(), 0644), 0);
    imp = RunAsUser(
        user_, dir_->path(),
        {BldBinary(), "--root", user_root_, "import", dir_->path() + "/evil.tar", "evilproc"});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    // A host file that must stay out of reach (.., /proc/1/root, fds).
    marker_dir_ = dir_->path() + "/host-only";
    ASSERT_TRUE(MkdirAll(marker_dir_).ok());
    ASSERT_TRUE(WriteFileAtomic(marker_dir_ + "/host-marker", "host\n").ok());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!IsRoot()) GTEST_SKIP() << "creates a user with subuid ranges: run as root";
    ASSERT_NE(dir_, nullptr);
    auto d = TempDir::Create(dir_->path(), "case-");
    ASSERT_TRUE(d.ok());
    case_.emplace(std::move(*d));
    ASSERT_EQ(chmod(case_->path().c_str(), 0755), 0);
  }
  bool Rootless() const { return GetParam().who == Who::kUser; }

  // argv prefix that runs bld as GetParam().who, with the host secret in its environment and
  // an extra host fd (7, a directory) open, as a careless caller would have.
  std::vector<std::string> Bld(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env", std::string("BLD_HOSTILE_SECRET=") + kSecret};
    if (Rootless()) {
      argv.insert(argv.end(), {"setpriv", "--reuid=" + std::to_string(user_.uid),
                               "--regid=" + std::to_string(user_.gid), "--init-groups", "--"});
    }
    argv.insert(argv.end(), {"sh", "-c", "exec 7<\"$0\"; exec \"$@\"", marker_dir_, BldBinary(),
                             "--root", Rootless() ? user_root_ : root_});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs `script` (busybox sh) in a container of `image`, with the probe at /probe: as
  // `bld run --rm [run_flags] IMAGE sh /t.sh`, or as `RUN sh /t.sh` of a build FROM image.
  CommandResult Attack(const std::string& script, const std::vector<std::string>& run_flags = {},
                       const std::string& image = "busybox") {
    std::string ctx = case_->path() + "/ctx";
    EXPECT_TRUE(MkdirAll(ctx).ok());
    EXPECT_TRUE(WriteFileAtomic(ctx + "/t.sh", script + "\necho CONTAINED\n", 0755).ok());
    EXPECT_TRUE(CopyProbe(ctx + "/probe"));
    if (GetParam().via == Via::kRun) {
      std::vector<std::string> args = {"run", "--rm", "-v", ctx + "/probe:/probe:ro", "-v",
                                       ctx + "/t.sh:/t.sh:ro"};
      args.insert(args.end(), run_flags.begin(), run_flags.end());
      args.insert(args.end(), {image, "sh", "/t.sh"});
      return bld::testing::Run(Bld(args));
    }
    EXPECT_TRUE(WriteFileAtomic(ctx + "/Dockerfile",
                                "FROM " + image + "\nCOPY probe t.sh /\nRUN sh /t.sh\n")
                    .ok());
    auto r = bld::testing::Run(Bld({"build", "--no-cache", "--progress", "plain", "-t", "hostile-out", ctx}));
    r.out += r.err;  // RUN output is progress output
    return r;
  }
  static bool CopyProbe(const std::string& to) {
    auto data = ReadFile(BLD_HOSTILE_PROBE);
    return data.ok() && WriteFileAtomic(to, *data, 0755).ok();
  }
  void ExpectContained(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("CONTAINED"), std::string::npos) << r.out << r.err;
    EXPECT_EQ(r.out.find("ALLOWED"), std::string::npos) << r.out;
  }
  // The probe must report each of `calls` denied.
  void ExpectSyscallsDenied(const std::vector<std::string>& calls) {
    std::string script = "set -e\n";
    for (const auto& c : calls) script += "/probe sys " + c + "\n";
    ExpectContained(Attack(script));
  }

  // Made for each of the three suites below.
  static TempDir* dir_;
  static RootlessUser user_;
  static std::string root_, user_root_, marker_dir_;
  std::optional<TempDir> case_;
};

TempDir* HostileTest::dir_ = nullptr;
RootlessUser HostileTest::user_;
std::string HostileTest::root_;
std::string HostileTest::user_root_;
std::string HostileTest::marker_dir_;

// Attacks through flags of `bld run`; attacks through a build alone; attacks that mean
// nothing rootless.
class HostileRunTest : public HostileTest {};
class HostileBuildTest : public HostileTest {};
class HostileRootRunTest : public HostileTest {};

// Issue 10 #1: the host bld's environment and argv through /proc/1 (and any pid).
TEST_P(HostileTest, HostEnvironmentAndArgvInvisible) {
  // The pattern goes through a file: on a command line it would find itself.
  ExpectContained(Attack(
      "printf '%s-%s\\n' bld-hostile host-secret > /tmp/pat\n"
      "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | "
      "grep -q -f /tmp/pat && { echo ESCAPED; exit 9; }\ntrue"));
}

// Issue 10 #1: PID 1 is the command (bld run) or the exec'd bld-init (RUN, --init), never a
// fork of bld: its memory, fds and environment are out of reach, ptrace fails.
TEST_P(HostileTest, InitMemoryFdsAndPtraceUnreachable) {
  std::string script =
      "set -e\n"
      "if [ \"$$\" = 1 ]; then echo command-is-pid1; exit 0; fi\n"
      "[ \"$(cat /proc/1/comm)\" = memfd:bld-init ]\n"
      "cat /proc/1/environ >/dev/null 2>&1 && { echo ESCAPED environ; exit 9; }\n"
      "for f in /proc/1/fd/*; do readlink $f >/dev/null 2>&1 && { echo ESCAPED $f; exit 9; }; "
      "done\n"
      "ls /proc/1/root/ >/dev/null 2>&1 && { echo ESCAPED root; exit 9; }\n"
      "/probe sys ptrace-pid1\n";
  auto r = Attack(script, {"--init"});
  ExpectContained(r);
  EXPECT_EQ(r.out.find("command-is-pid1"), std::string::npos) << "expected an init as PID 1";
}

TEST_P(HostileRunTest, CommandIsPid1InBldRun) {
  ExpectContained(Attack("[ \"$$\" = 1 ] || { echo \"pid $$\"; exit 9; }"));
}

// Issue 10 #1: writing zeros to the init's fds used to forge the exit status.
TEST_P(HostileTest, ExitStatusCannotBeForged) {
  std::string script = "for f in /proc/1/fd/*; do printf '\\0\\0\\0\\0' > $f; done 2>/dev/null\nexit 3";
  auto r = Attack(script, {"--init"});
  if (GetParam().via == Via::kRun) {
    EXPECT_EQ(r.exit_code, 3) << r.err;
  } else {
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("exit code 3"), std::string::npos) << r.out;
  }
}

// Issue 10 #1: a later RUN step reading a secret granted only to an earlier one.
TEST_P(HostileBuildTest, SecretOfEarlierStepUnreachable) {
  std::string ctx = case_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx).ok());
  ASSERT_TRUE(WriteFileAtomic(case_->path() + "/secret", "bld-hostile-step-secret\n").ok());
  ASSERT_TRUE(WriteFileAtomic(
                  ctx + "/Dockerfile",
                  "FROM busybox\n"
                  "RUN --mount=type=secret,id=s cat /run/secrets/s >/dev/null\n"
                  "RUN printf '%s-%s\\n' bld-hostile step-secret > /tmp/pat; "
                  "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline /proc/1/fd/* 2>/dev/null | "
                  "grep -q -f /tmp/pat && exit 9; ! cat /proc/1/environ >/dev/null 2>&1\n")
                  .ok());
  auto r = bld::testing::Run(Bld({"build", "--no-cache", "--progress", "plain", "--secret",
                    "id=s,src=" + case_->path() + "/secret", ctx}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Issue 10 #2: device nodes made with mknod (or shipped in the image, same inode kind) cannot
// be opened: Docker's device policy (v1 devices cgroup here). The defaults still work.
// Rootless, the user namespace is the wall: mknod itself is refused (and an image cannot hold
// device nodes: unpacking cannot make them).
TEST_P(HostileTest, DeviceNodesOutsideThePolicyCannotBeOpened) {
  std::string make = Rootless()
                         ? "mknod /tmp/mem c 1 1 2>/dev/null && { echo ESCAPED mknod; exit 9; }\n"
                         : "mknod /tmp/mem c 1 1; mknod /tmp/blk b 7 0; mknod /tmp/kvm c 10 232\n";
  ExpectContained(
      Attack("set -e\n" + make +
             "for d in /tmp/mem /tmp/blk /tmp/kvm; do [ -e $d ] || continue; ! head -c 1 $d "
             ">/dev/null 2>&1 || "
             "{ echo \"ESCAPED $d\"; exit 9; }; done\n"
             "[ \"$(head -c 4 /dev/zero | wc -c)\" = 4 ]\necho x > /dev/null\n"
             "[ \"$(ls /dev | tr '\\n' ' ')\" = \"fd full mqueue null ptmx pts random shm stderr "
             "stdin stdout tty urandom zero \" ]"));
}

// --device adds one node to the policy, with its permissions; others stay closed. Rootless
// the node is there but the host's permissions on it decide (root:disk 0660 here): the
// container gets no more than the user has.
TEST_P(HostileRunTest, DeviceFlagAllowsOnlyThatDevice) {
  if (access("/dev/loop0", F_OK) != 0) GTEST_SKIP() << "no /dev/loop0 on this host";
  if (Rootless()) {
    ExpectContained(
        Attack("set -e\n[ -b /dev/xloop ]\nhead -c 1 /dev/xloop >/dev/null 2>&1 && { echo ESCAPED; "
               "exit 9; }\n"
               "mknod /tmp/l1 b 7 1 2>/dev/null && { echo ESCAPED mknod; exit 9; }\ntrue",
               {"--device", "/dev/loop0:/dev/xloop:rwm"}));
    return;
  }
  ExpectContained(Attack(
      "set -e\nhead -c 1 /dev/xloop >/dev/null\n"
      "mknod /tmp/l1 b 7 1\nhead -c 1 /tmp/l1 >/dev/null 2>&1 && { echo ESCAPED; exit 9; }",
      {"--device", "/dev/loop0:/dev/xloop:rwm"}));
  ExpectContained(Attack("head -c 1 /dev/xloop >/dev/null 2>&1 && { echo ESCAPED; exit 9; }",
                         {"--device", "/dev/loop0:/dev/xloop:w"}));
}

// Issue 10 #3: an image whose /proc is a symlink is refused, naming /proc.
TEST_P(HostileTest, ProcSymlinkImageRefused) {
  auto r = Attack("echo core_pattern: $(cat /proc/sys/kernel/core_pattern)\n"
                  "echo x > /proc/sys/kernel/core_pattern && echo ESCAPED",
                  {}, "evilproc");
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("CONTAINED"), std::string::npos) << r.out;
  EXPECT_NE((r.out + r.err).find("/proc"), std::string::npos) << r.err;
  EXPECT_NE((r.out + r.err).find("symlink"), std::string::npos) << r.err;
  if (GetParam().via == Via::kRun) EXPECT_EQ(r.exit_code, 125);
}

// Issue 10 #3 and #4: Docker's masked and read-only paths, /proc/interrupts among them.
TEST_P(HostileTest, ProcMaskedAndReadOnly) {
  ExpectContained(Attack(
      "set -e\n"
      "[ -z \"$(cat /proc/interrupts)\" ]\n"
      "[ -z \"$(cat /proc/kcore 2>/dev/null | head -c 1)\" ]\n"
      "sh -c 'echo x > /proc/sys/kernel/core_pattern' 2>/dev/null && exit 9\n"
      "sh -c 'echo b > /proc/sysrq-trigger' 2>/dev/null && exit 9\n"
      "[ -z \"$(ls /sys/firmware)\" ]\n"));
}

// Issue 10 #4: socket(AF_VSOCK), denied by Docker's profile.
TEST_P(HostileTest, VsockDenied) { ExpectSyscallsDenied({"vsock"}); }

// Issue 10 #4: -v SRC:DST:ro is read-only below SRC's own mounts too.
TEST_P(HostileRunTest, ReadOnlyBindIsRecursive) {
  std::string src = case_->path() + "/ro-src";
  ASSERT_TRUE(MkdirAll(src + "/sub").ok());
  ASSERT_EQ(mount("tmpfs", (src + "/sub").c_str(), "tmpfs", 0, "size=1m"), 0);
  auto r = Attack("touch /m/x 2>/dev/null && exit 9\ntouch /m/sub/x 2>/dev/null && exit 9",
                  {"-v", src + ":/m:ro"});
  umount2((src + "/sub").c_str(), MNT_DETACH);
  ExpectContained(r);
}

// Issue 10 #6: setuid works by default (no_new_privs off), i386 programs are not killed.
TEST_P(HostileTest, SetuidWorksAndI386Allowed) {
  auto r = Attack(
      "set -e\ncp /probe /tmp/p && chmod 4755 /tmp/p\n"
      "[ \"$(su -s /bin/sh nobody -c '/tmp/p euid')\" = 0 ]\n/probe i386");
  ExpectContained(r);
}

TEST_P(HostileRunTest, NoNewPrivilegesStopsSetuid) {
  ExpectContained(Attack(
      "set -e\ncp /probe /tmp/p && chmod 4755 /tmp/p\n"
      "[ \"$(su -s /bin/sh nobody -c '/tmp/p euid')\" = 65534 ]",
      {"--security-opt", "no-new-privileges"}));
}

// --security-opt seccomp=PROFILE.json: Docker's profile format, in place of the default. This
// one allows everything but mkdir/mkdirat (EXDEV); a bad profile is refused naming the file.
TEST_P(HostileRunTest, SeccompProfileFromFile) {
  std::string profile = case_->path() + "/profile.json";
  ASSERT_TRUE(WriteFileAtomic(profile,
                              R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                                 {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                  "errnoRet": 18}]})")
                  .ok());
  ExpectContained(Attack("set -e\ngrep -q '^Seccomp:[[:space:]]*2' /proc/self/status\n"
                         "mkdir /tmp/x 2>/tmp/err && exit 9\ngrep -q 'cross-device' /tmp/err\n"
                         "touch /tmp/y\n",
                         {"--security-opt", "seccomp=" + profile}));
  ASSERT_TRUE(WriteFileAtomic(profile, R"({"defaultAction": "SCMP_ACT_NOTIFY"})").ok());
  auto r = bld::testing::Run(
      Bld({"run", "--rm", "--security-opt", "seccomp=" + profile, "busybox", "true"}));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find(profile), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SCMP_ACT_NOTIFY is not supported"), std::string::npos) << r.err;
}

// Classic: fds of the caller leak into the container (bld runs with fd 7 on a host dir).
TEST_P(HostileTest, CallerFdsDoNotLeak) {
  ExpectContained(Attack(
      "for f in /proc/$$/fd/* /proc/1/fd/*; do [ -d \"$f\" ] && { echo \"ESCAPED $f\"; exit 9; }; "
      "done\nls /proc/$$/fd/7/host-marker 2>/dev/null && exit 9\ntrue"));
}

// Classic (CVE-2024-21626): a working directory through /proc/self/fd/N.
TEST_P(HostileTest, ProcSelfFdWorkdirRefused) {
  std::string ctx = case_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx).ok());
  CommandResult r;
  if (GetParam().via == Via::kRun) {
    r = bld::testing::Run(Bld({"run", "--rm", "-w", "/proc/self/fd/7", "busybox", "sh", "-c",
                 "ls; ls ../../../; echo CONTAINED"}));
  } else {
    ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile",
                                "FROM busybox\nWORKDIR /proc/self/fd/7\nRUN ls; ls ../../../\n")
                    .ok());
    r = bld::testing::Run(Bld({"build", "--no-cache", "--progress", "plain", ctx}));
  }
  EXPECT_EQ((r.out + r.err).find("host-marker"), std::string::npos) << r.out << r.err;
}

// Classic: `..` and /proc/1/root, /proc/self/root, /proc/1/cwd lead to the host.
TEST_P(HostileTest, DotDotAndProcRootStayInside) {
  std::string m = marker_dir_ + "/host-marker";
  ExpectContained(Attack("for p in /../../..'" + m + "' /proc/1/root/../../..'" + m +
                         "' /proc/self/root/..'" + m + "' /proc/1/cwd/../../..'" + m +
                         "'; do [ -e \"$p\" ] && { echo \"ESCAPED $p\"; exit 9; }; done\ntrue"));
}

TEST_P(HostileTest, MountUmountPivotRootDenied) {
  ExpectSyscallsDenied({"mount", "umount", "pivot_root"});
}
TEST_P(HostileTest, UnshareSetnsDenied) {
  ExpectSyscallsDenied({"unshare", "unshare-mnt", "setns"});
}
TEST_P(HostileTest, KeyctlDenied) { ExpectSyscallsDenied({"keyctl", "add_key"}); }
TEST_P(HostileTest, BpfDenied) { ExpectSyscallsDenied({"bpf"}); }
TEST_P(HostileTest, PerfEventOpenDenied) { ExpectSyscallsDenied({"perf_event_open"}); }
TEST_P(HostileTest, OpenByHandleAtDenied) { ExpectSyscallsDenied({"open_by_handle_at"}); }
TEST_P(HostileTest, KexecAndRebootDenied) { ExpectSyscallsDenied({"kexec_load", "reboot"}); }
TEST_P(HostileTest, ModuleLoadingDenied) {
  ExpectSyscallsDenied({"init_module", "finit_module", "delete_module"});
}

// Classic: cgroup v1 release_agent (CVE-2022-0492): mount a hierarchy or write the agent.
TEST_P(HostileTest, ReleaseAgentUnreachable) {
  ExpectContained(Attack(
      "mkdir -p /tmp/cg\n"
      "for c in rdma memory pids; do mount -t cgroup -o $c cgroup /tmp/cg 2>/dev/null && "
      "{ echo \"ESCAPED mount $c\"; exit 9; }; done\n"
      "for f in /sys/fs/cgroup/release_agent /sys/fs/cgroup/*/release_agent; do "
      "[ -e \"$f\" ] && sh -c \"echo /x > $f\" 2>/dev/null && { echo \"ESCAPED $f\"; exit 9; }; "
      "done\ntrue"));
}

// Classic: host processes visible.
TEST_P(HostileTest, HostPidsInvisible) {
  ExpectContained(Attack("n=$(ls -d /proc/[0-9]* | wc -l)\n[ $n -le 8 ] || "
                         "{ echo \"ESCAPED $n pids\"; ls /proc; exit 9; }"));
}

// Classic: a fork bomb under --pids-limit stays below the limit. Rootless, without a
// delegated cgroup the limit cannot be enforced: bld refuses to run rather than run unbounded.
TEST_P(HostileRunTest, ForkBombBoundedByPidsLimit) {
  if (Rootless()) {
    auto r = Attack("echo RAN", {"--pids-limit", "32"});
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("cannot enforce pids limit"), std::string::npos) << r.err;
    return;
  }
  ExpectContained(Attack(
      // The bomb's shell dies when fork fails; counting after it uses only builtins.
      "( i=0; while [ $i -lt 200 ]; do sleep 5 & echo $! >> /tmp/pids; i=$((i+1)); done ) "
      "2>/dev/null\n"
      "n=0; while read p; do n=$((n+1)); done < /tmp/pids; echo \"forked $n\"\n"
      "[ $n -gt 5 ] && [ $n -le 32 ]",
      {"--pids-limit", "32"}));
}

// The default is not privileged: a bounded capability set, seccomp in filter mode, /sys and
// /proc/sys read-only, /proc/kcore masked, none of the host's other devices.
TEST_P(HostileTest, DefaultIsNotPrivileged) {
  ExpectContained(Attack(
      "set -e\n"
      "grep -q '^Seccomp:[[:space:]]*2' /proc/self/status\n"
      "grep -q '^CapEff:[[:space:]]*00000000a80425fb' /proc/self/status\n"
      "grep -E ' /sys (ro|rw),' /proc/self/mountinfo | grep -q ' /sys ro,'\n"
      "grep -q ' /proc/sys ro,' /proc/self/mountinfo\n"
      "[ -z \"$(head -c 1 /proc/kcore 2>/dev/null)\" ]\n"
      "[ ! -e /dev/loop-control ] && [ ! -e /dev/kmsg ]\n"));
}

// --privileged grants what it says in --help: every capability, no seccomp, /sys and /proc
// writable, nothing masked, the host's device nodes, openable.
TEST_P(HostileRunTest, PrivilegedGrantsEverything) {
  if (access("/dev/loop-control", F_OK) != 0) GTEST_SKIP() << "no /dev/loop-control here";
  std::string caps = "0";
  if (Rootless()) {
    // Every capability there is, of the user namespace (a new one holds them all).
    auto last = ReadFile("/proc/sys/kernel/cap_last_cap");
    ASSERT_TRUE(last.ok());
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", (1ULL << (std::stoi(*last) + 1)) - 1);
    caps = hex;
  } else {
    // Every capability of the bounding set bld has (the test's own).
    auto status = ReadFile("/proc/self/status");
    ASSERT_TRUE(status.ok());
    size_t at = status->find("CapBnd:");
    ASSERT_NE(at, std::string::npos);
    caps = status->substr(at + 7, status->find('\n', at) - at - 7);
    caps.erase(0, caps.find_first_not_of(" \t"));
  }
  auto r = Attack(
      "set -e\n"
      "grep -q '^Seccomp:[[:space:]]*0' /proc/self/status\n"
      "grep -q '^CapEff:[[:space:]]*" +
          caps +
          "' /proc/self/status\n"
          "grep -q ' /sys rw,' /proc/self/mountinfo\n"
          "grep ' /proc/sys ' /proc/self/mountinfo && exit 9\n"
          "[ -n \"$(cat /proc/interrupts)\" ]\n"
          "[ -c /dev/loop-control ] && [ -c /dev/kmsg ]\n" +
          // Rootless, every capability is the user namespace's: what needs the host's
          // (reading the kernel log, writing host sysctls: the current value, harmless if it
          // escaped) stays denied.
          (Rootless() ? "head -c 0 /dev/kmsg 2>/dev/null && { echo ESCAPED kmsg; exit 9; }\n"
                        "cat /proc/sys/kernel/core_pattern > /tmp/cp\n"
                        "sh -c 'cat /tmp/cp > /proc/sys/kernel/core_pattern' 2>/dev/null && "
                        "{ echo ESCAPED core_pattern; exit 9; }\n"
                      : "head -c 0 /dev/kmsg\n") +
          "/probe sys unshare-mnt && exit 9 || true\n",
      {"--privileged"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("CONTAINED"), std::string::npos) << r.out << r.err;
}

// --cgroup-parent puts the container's cgroup under the named one (v1 here: every hierarchy
// with a limit); a parent that climbs out of the hierarchy root is refused. Root only: an
// unprivileged user may create no cgroup in the host's hierarchies (it gets the error of
// ForkBombBoundedByPidsLimit/UserRun).
TEST_P(HostileRootRunTest, CgroupParentPlacesTheContainer) {
  if (!IsDirectory("/sys/fs/cgroup/pids")) GTEST_SKIP() << "no v1 pids hierarchy here";
  auto r = bld::testing::Run(Bld({"run", "--rm", "--cgroup-parent", "/bld-hostile-parent",
                                  "--pids-limit", "16", "busybox", "sh", "-c",
                                  "grep pids /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max "
                                  "2>/dev/null; true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(":pids:/bld-hostile-parent/bld-"), std::string::npos) << r.out;
  rmdir("/sys/fs/cgroup/pids/bld-hostile-parent");
  auto bad = bld::testing::Run(
      Bld({"run", "--rm", "--cgroup-parent", "/x/../..", "--pids-limit", "16", "busybox", "true"}));
  EXPECT_EQ(bad.exit_code, 125) << bad.err;
  EXPECT_NE(bad.err.find("cgroup parent \"/x/../..\""), std::string::npos) << bad.err;
}

// --cgroupns private (the default on v2 hosts): the container's cgroup is its /, and
// /sys/fs/cgroup is a read-only cgroup2 mount it cannot create cgroups or agents in.
TEST_P(HostileRunTest, PrivateCgroupNamespaceReadOnly) {
  ExpectContained(
      Attack("set -e\n"
             "grep -q '^0::/$' /proc/self/cgroup\n"
             "grep -v '^0::/$' /proc/self/cgroup | grep -v ':/$' && exit 9\n"
             "grep -q ' /sys/fs/cgroup ro,.* - cgroup2 ' /proc/self/mountinfo\n"
             "mkdir /sys/fs/cgroup/escape 2>/dev/null && exit 9\n"
             "[ -e /sys/fs/cgroup/cgroup.procs ]\n",
             // Rootless: no cgroup of its own (no limit), the namespace's root is the user's.
             Rootless() ? std::vector<std::string>{"--cgroupns", "private"}
                        : std::vector<std::string>{"--cgroupns", "private", "--pids-limit", "20"}));
}

// Acceptance 2: exit codes come through, with and without an init.
TEST_P(HostileRunTest, ExitCodesComeThrough) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, std::vector<std::string>{"--init"}}) {
    for (auto [script, code] : std::vector<std::pair<std::string, int>>{
             {"exit 0", 0}, {"exit 1", 1}, {"exit 42", 42}, {"/etc/passwd", 126},
             {"no-such-cmd", 127}, {"sh -c 'kill -9 $$'; exit $?", 137},
             {"sh -c 'kill -15 $$'; exit $?", 143}}) {
      std::vector<std::string> args = {"run", "--rm"};
      args.insert(args.end(), flags.begin(), flags.end());
      args.insert(args.end(), {"busybox", "sh", "-c", script});
      auto r = bld::testing::Run(Bld(args));
      EXPECT_EQ(r.exit_code, code) << script << (flags.empty() ? "" : " --init") << ": " << r.err;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, HostileTest,
                         ::testing::Values(Param{Who::kRoot, Via::kRun},
                                           Param{Who::kRoot, Via::kBuild},
                                           Param{Who::kUser, Via::kRun},
                                           Param{Who::kUser, Via::kBuild}),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(All, HostileRunTest,
                         ::testing::Values(Param{Who::kRoot, Via::kRun},
                                           Param{Who::kUser, Via::kRun}),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(All, HostileBuildTest,
                         ::testing::Values(Param{Who::kRoot, Via::kBuild},
                                           Param{Who::kUser, Via::kBuild}),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(All, HostileRootRunTest, ::testing::Values(Param{Who::kRoot, Via::kRun}),
                         ParamName);

}  // namespace
}  // namespace bld::testing
