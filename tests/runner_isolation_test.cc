// Isolation of runner containers (issue 5, acceptance 1 and 4): the same tests run as root and
// rootless (an unprivileged user, through a user namespace).
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/file.h"
#include "tests/runner_test_util.h"

namespace bld::runner_testing {
namespace {

class RunnerIsolationTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (GetParam() == Mode::kRoot && geteuid() != 0) GTEST_SKIP() << "needs root";
    std::string why;
    if (GetParam() == Mode::kRootless && !EnsureTestUser(&why)) GTEST_SKIP() << why;
    auto r = Rootfs::Make(GetParam());
    ASSERT_TRUE(r.has_value());
    rootfs_.emplace(std::move(*r));
  }
  CommandResult Run(const std::string& script, const std::vector<std::string>& flags = {}) {
    return RunDriver(GetParam(), Sh(*rootfs_, script, flags));
  }
  std::optional<Rootfs> rootfs_;
};

TEST_P(RunnerIsolationTest, CommandIsPid1WithoutInit) {
  auto r = Run("echo $$", {"--no-init"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

TEST_P(RunnerIsolationTest, InitIsPid1AndCommandPid2) {
  auto r = Run("echo $$ $PPID");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2 1\n");
}

TEST_P(RunnerIsolationTest, HostProcessesInvisible) {
  auto r = Run("ls /proc | grep -c '^[0-9]'", {"--no-init"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // sh, ls and grep at most.
  EXPECT_LE(std::stoi(r.out), 3) << r.out;
  auto host = Run("kill -0 " + std::to_string(getpid()) + " && echo visible || echo hidden");
  EXPECT_EQ(host.out, "hidden\n");
}

TEST_P(RunnerIsolationTest, Hostname) {
  auto r = Run("hostname; cat /etc/hostname; grep -c box1 /etc/hosts; echo $HOSTNAME",
               {"--hostname", "box1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "box1\nbox1\n1\nbox1\n");
}

TEST_P(RunnerIsolationTest, HostFilesInvisible) {
  std::string marker = rootfs_->dir() + "/host-marker";
  ASSERT_TRUE(WriteFileAtomic(marker, "secret").ok());
  auto r = Run("test -e " + marker +
               " && echo visible; test -e /work && echo work; "
               "test -e " +
               rootfs_->path() + " && echo rootfs; echo done");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n");
}

TEST_P(RunnerIsolationTest, HostMountsInvisible) {
  auto r = Run("cat /proc/mounts");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (GetParam() == Mode::kRoot) {
    EXPECT_EQ(r.out.find("cgroup"), std::string::npos) << r.out;
  } else {
    // Rootless with the host's network: sysfs cannot be mounted, so the host's /sys is bound
    // recursively (its submounts are locked to it) and /sys/fs/cgroup covered by an empty
    // read-only tmpfs: listed, but nothing of it reachable.
    auto ls = Run("ls -A /sys/fs/cgroup | wc -l");
    EXPECT_EQ(ls.out, "0\n") << ls.err;
  }
  EXPECT_EQ(r.out.find(rootfs_->path()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" / "), std::string::npos);
  EXPECT_NE(r.out.find("proc /proc proc"), std::string::npos);
  EXPECT_NE(r.out.find("/dev/pts devpts"), std::string::npos);
  EXPECT_NE(r.out.find("/sys "), std::string::npos);
}

TEST_P(RunnerIsolationTest, WritesGoOnlyToRootfs) {
  std::string name = "bld-runner-write-" + std::to_string(getpid());
  auto r = Run("echo data > /" + name + " && mkdir -p /tmp/x && echo y > /tmp/x/f");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto in_rootfs = ReadFile(rootfs_->path() + "/" + name);
  ASSERT_TRUE(in_rootfs.ok());
  EXPECT_EQ(*in_rootfs, "data\n");
  EXPECT_TRUE(PathExists(rootfs_->path() + "/tmp/x/f"));
  EXPECT_FALSE(PathExists("/" + name));
}

TEST_P(RunnerIsolationTest, MountDenied) {
  auto r = Run("mkdir -p /mnt; mount -t tmpfs none /mnt");
  EXPECT_NE(r.exit_code, 0);
  auto m = Run("grep -c ' /mnt ' /proc/mounts");
  EXPECT_EQ(m.out, "0\n");
}

TEST_P(RunnerIsolationTest, RebootDenied) {
  auto r = Run("reboot -f");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

TEST_P(RunnerIsolationTest, ModuleLoadingDenied) {
  auto r = Run("echo notamodule > /tmp/m.ko; insmod /tmp/m.ko");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  auto rm = Run("rmmod loop");
  EXPECT_NE(rm.exit_code, 0);
}

TEST_P(RunnerIsolationTest, KcoreAndFriendsDenied) {
  // Masked by /dev/null (or absent on kernels without them): nothing can be read.
  auto r =
      Run("for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do "
          "cat $f 2>/dev/null | wc -c; done; ls /sys/firmware | wc -l");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n0\n0\n0\n0\n");
  auto w = Run("echo 1 > /proc/sys/kernel/panic");
  EXPECT_NE(w.exit_code, 0);
}

TEST_P(RunnerIsolationTest, DefaultCapabilities) {
  auto r = Run("grep -E 'Cap(Eff|Bnd|Inh)' /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "CapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n"
            "CapBnd:\t00000000a80425fb\n");
}

TEST_P(RunnerIsolationTest, CapabilityAddDrop) {
  auto r = Run("grep CapEff /proc/self/status", {"--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "CapEff:\t00000000a80435fa\n");
  auto none = Run("grep CapEff /proc/self/status; chown 1 /tmp", {"--cap-drop", "ALL"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_EQ(none.out, "CapEff:\t0000000000000000\n");
  auto bad = Run("true", {"--cap-add", "CAP_FLY"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("CAP_FLY"), std::string::npos);
}

TEST_P(RunnerIsolationTest, NonRootUserHasNoCapabilities) {
  auto r = Run("id; grep CapEff /proc/self/status", {"-u", "nobody"});
  if (GetParam() == Mode::kRootless && r.exit_code == 125) {
    GTEST_SKIP() << "no subordinate ids for the test user: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // As with Docker, the primary group is also a supplementary group.
  EXPECT_EQ(r.out,
            "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\nCapEff:\t0000000000000000\n");
}

TEST_P(RunnerIsolationTest, UserAndGroups) {
  auto root = Run("id -u; id -g; id -G");
  ASSERT_EQ(root.exit_code, 0) << root.err;
  EXPECT_EQ(root.out, "0\n0\n0 10\n");  // root is in wheel (10)
  auto numeric = Run("id -u; id -g", {"-u", "1:2"});
  if (GetParam() == Mode::kRoot) {
    ASSERT_EQ(numeric.exit_code, 0) << numeric.err;
    EXPECT_EQ(numeric.out, "1\n2\n");
  }
  auto missing = Run("true", {"-u", "ghost"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("ghost"), std::string::npos) << missing.err;
}

TEST_P(RunnerIsolationTest, NetworkNoneHasOnlyLoopbackUp) {
  auto r = Run("ls /sys/class/net; cat /sys/class/net/lo/flags; grep -c : /proc/net/dev",
               {"--network", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // flags 0x9 = IFF_UP | IFF_LOOPBACK; /proc/net/dev: one interface line (the header has
  // a "|" but no ':').
  EXPECT_EQ(r.out, "lo\n0x9\n1\n");
  auto ping = Run("ping -c 1 -W 1 127.0.0.1 >/dev/null && echo ok", {"--network", "none"});
  EXPECT_EQ(ping.out, "ok\n") << ping.err;
}

TEST_P(RunnerIsolationTest, NetworkHostSeesHostInterfaces) {
  auto r = Run("ls /sys/class/net | wc -l");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto host = ListDir("/sys/class/net");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(r.out, std::to_string(host->size()) + "\n");
}

TEST_P(RunnerIsolationTest, ReadOnlyRootfs) {
  auto r = Run("touch /x", {"--read-only"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_FALSE(PathExists(rootfs_->path() + "/x"));
  auto tmp = Run("touch /tmp/x && echo ok; echo z > /dev/null && echo dev",
                 {"--read-only", "--tmpfs", "/tmp"});
  EXPECT_EQ(tmp.out, "ok\ndev\n") << tmp.err;
}

TEST_P(RunnerIsolationTest, BindMounts) {
  std::string data = rootfs_->dir() + "/data";
  ASSERT_TRUE(MkdirAll(data).ok());
  ASSERT_TRUE(WriteFileAtomic(data + "/in", "from host\n").ok());
  chmod(data.c_str(), 0777);
  auto ro = Run("cat /data/in; echo x > /data/out", {"-v", data + ":/data:ro"});
  EXPECT_NE(ro.exit_code, 0);
  EXPECT_EQ(ro.out, "from host\n");
  EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << ro.err;
  auto rw = Run("echo x > /mnt/deep/out", {"-v", data + ":/mnt/deep"});
  EXPECT_EQ(rw.exit_code, 0) << rw.err;
  EXPECT_TRUE(PathExists(data + "/out"));
}

TEST_P(RunnerIsolationTest, FailingMountReportsPathAndErrno) {
  std::string dir = rootfs_->dir() + "/srcdir";
  ASSERT_TRUE(MkdirAll(dir).ok());
  // A directory cannot be bound onto a file.
  auto r = Run("true", {"-v", dir + ":/bin/busybox"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("mount " + dir + " on /bin/busybox: Not a directory"), std::string::npos)
      << r.err;
}

TEST_P(RunnerIsolationTest, TtyMode) {
  auto r = RunDriver(GetParam(), {"--rootfs", rootfs_->path(), "-t", "--", "tty"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/dev/pts/0\r\n");
}

TEST_P(RunnerIsolationTest, TtyWindowSizeAndRawModeRestored) {
  // script(1) gives the driver a terminal of 40x100; the container sees that size, and the
  // terminal is back in canonical mode afterwards.
  std::string cmd = "stty cols 100 rows 40;";
  for (const std::string& a :
       DriverArgv(GetParam(), {"--rootfs", rootfs_->path(), "-t", "--", "stty", "size"})) {
    cmd += " " + a;
  }
  cmd += "; stty -a | grep -o -- '-*icanon'";
  auto r = RunCommand({"script", "-qec", cmd, "/dev/null"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_NE(r->out.find("40 100\r\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("icanon"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("-icanon"), std::string::npos) << r->out;
}

TEST_P(RunnerIsolationTest, Environment) {
  auto r = Run("echo $FOO $HOME $PATH; pwd", {"-e", "FOO=bar", "-w", "/var/work"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "bar /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/var/work\n");
}

TEST_P(RunnerIsolationTest, SingleIdMapOnlyMapsRoot) {
  // The fallback without /etc/subuid ranges: only the caller's id, as root in the container.
  auto r = Run("id -u; cat /proc/self/uid_map | wc -l", {"--single-id-map"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\n");
  auto nobody = Run("true", {"--single-id-map", "-u", "nobody"});
  EXPECT_EQ(nobody.exit_code, 125);
  EXPECT_NE(nobody.err.find("is the gid mapped in the user namespace?"), std::string::npos)
      << nobody.err;
}

INSTANTIATE_TEST_SUITE_P(Modes, RunnerIsolationTest,
                         ::testing::Values(Mode::kRoot, Mode::kRootless),
                         [](const auto& info) { return ModeName(info.param); });

}  // namespace
}  // namespace bld::runner_testing
