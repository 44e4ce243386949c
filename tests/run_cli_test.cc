// End-to-end tests of bld run / ps / logs / stop / rm on the busybox image.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <signal.h>

#include "base/child_process.h"

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class RunCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("", "bld-run-cli-");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(*d));
    root_ = dir_->path() + "/root";
    ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  }
  static void TearDownTestSuite() {
    // Containers left by a failed test must not keep mounts under the temp dir.
    RunBld(root_, {"ps", "-a"});
    bld::testing::Run({"sh", "-c", "for d in '" + root_ + "'/containers/*/rootfs; do umount -l \"$d\" 2>/dev/null; done; true"});
    delete dir_;
  }
  void SetUp() override {
    // BLD_TEST_ROOTLESS: run as an unprivileged user by tests/rootless_e2e_test.cc.
    if (!IsRoot() && !std::getenv("BLD_TEST_ROOTLESS")) GTEST_SKIP() << "bld run tests need root";
  }
  CommandResult Bld(const std::vector<std::string>& args, const std::string& input = "") {
    return RunBld(root_, args, input);
  }
  static TempDir* dir_;
  static std::string root_;
};

TempDir* RunCliTest::dir_ = nullptr;
std::string RunCliTest::root_;

TEST_F(RunCliTest, RunsImageCmdAndArgs) {
  auto r = Bld({"run", "--rm", "busybox", "echo", "hello", "--rm"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello --rm\n");
  auto sh = Bld({"run", "--rm", "-i", "busybox"}, "echo from-stdin\n");
  EXPECT_EQ(sh.exit_code, 0) << sh.err;
  EXPECT_EQ(sh.out, "from-stdin\n");
}

TEST_F(RunCliTest, ExitCodesComeThrough) {
  for (int code : {0, 1, 42}) {
    auto r = Bld({"run", "--rm", "busybox", "sh", "-c", "exit " + std::to_string(code)});
    EXPECT_EQ(r.exit_code, code) << r.err;
  }
  // The command is PID 1 (as Docker): a signal it sends itself is ignored, so the kill
  // comes from a child shell, or the command runs under --init.
  auto killed = Bld({"run", "--rm", "busybox", "sh", "-c", "sh -c 'kill -9 $$'; exit $?"});
  EXPECT_EQ(killed.exit_code, 137);
  killed = Bld({"run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"});
  EXPECT_EQ(killed.exit_code, 137);
  auto notfound = Bld({"run", "--rm", "busybox", "no-such-command"});
  EXPECT_EQ(notfound.exit_code, 127);
  EXPECT_NE(notfound.err.find("no-such-command"), std::string::npos) << notfound.err;
  auto notexec = Bld({"run", "--rm", "busybox", "/etc/passwd"});
  EXPECT_EQ(notexec.exit_code, 126);
  // --pull never: a missing image would otherwise be pulled from docker.io (tests contact only
  // loopback).
  auto noimage = Bld({"run", "--rm", "--pull", "never", "no-such-image"});
  EXPECT_EQ(noimage.exit_code, 125);
  EXPECT_NE(noimage.err.find("no-such-image"), std::string::npos);
}

TEST_F(RunCliTest, ConfigFlags) {
  auto r = Bld({"run", "--rm", "-e", "A=1", "-w", "/tmp/work", "-u", "nobody", "--hostname",
                "box", "busybox", "sh", "-c", "echo $A $(pwd) $(id -u) $(hostname)"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 /tmp/work 65534 box\n");
  auto ep = Bld({"run", "--rm", "--entrypoint", "/bin/echo", "busybox", "x"});
  EXPECT_EQ(ep.out, "x\n");
  std::string env_file = dir_->path() + "/env";
  ASSERT_TRUE(WriteFileAtomic(env_file, "# comment\nB=two\n").ok());
  auto ef = Bld({"run", "--rm", "--env-file", env_file, "busybox", "sh", "-c", "echo $B"});
  EXPECT_EQ(ef.out, "two\n");
}

TEST_F(RunCliTest, VolumesTmpfsReadOnly) {
  std::string host = dir_->path() + "/vol";
  ASSERT_TRUE(MkdirAll(host).ok());
  ASSERT_TRUE(WriteFileAtomic(host + "/in", "data").ok());
  auto r = Bld({"run", "--rm", "-v", host + ":/mnt", "busybox", "sh", "-c",
                "cat /mnt/in; echo out > /mnt/out"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "data");
  auto out = ReadFile(host + "/out");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "out\n");
  auto ro = Bld({"run", "--rm", "-v", host + ":/mnt:ro", "busybox", "sh", "-c", "echo x > /mnt/y"});
  EXPECT_NE(ro.exit_code, 0);
  auto rootro = Bld({"run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                     "echo ok > /scratch/f && cat /scratch/f && echo no > /etc/x"});
  EXPECT_NE(rootro.exit_code, 0);
  EXPECT_EQ(rootro.out, "ok\n");
  auto bad = Bld({"run", "--rm", "-v", "relative:/mnt", "busybox", "true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("relative:/mnt"), std::string::npos);
}

TEST_F(RunCliTest, NetworkNoneHasOnlyLoopback) {
  auto r = Bld({"run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
}

TEST_F(RunCliTest, WritesStayInTheContainer) {
  auto r = Bld({"run", "--name", "writer", "busybox", "sh", "-c", "echo x > /bin/newfile"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto again = Bld({"run", "--rm", "busybox", "ls", "/bin/newfile"});
  EXPECT_NE(again.exit_code, 0);
  auto ps = Bld({"ps", "-a"});
  EXPECT_NE(ps.out.find("writer"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("Exited (0)"), std::string::npos) << ps.out;
  EXPECT_EQ(Bld({"rm", "writer"}).exit_code, 0);
  EXPECT_EQ(Bld({"ps", "-a"}).out.find("writer"), std::string::npos);
  EXPECT_NE(Bld({"rm", "writer"}).exit_code, 0);
}

TEST_F(RunCliTest, DetachedPsLogsStopRm) {
  auto r = Bld({"run", "-d", "--name", "bg", "busybox", "sh", "-c",
                "echo started; trap 'echo got-term; exit 3' TERM; while true; do sleep 0.1; done"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 65u);  // the ID and a newline
  auto ps = Bld({"ps"});
  EXPECT_NE(ps.out.find("bg"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("Up"), std::string::npos) << ps.out;
  bool started = false;
  for (int i = 0; i < 100 && !started; ++i) {
    started = Bld({"logs", "bg"}).out.find("started") != std::string::npos;
    if (!started) usleep(50000);
  }
  EXPECT_TRUE(started);
  EXPECT_NE(Bld({"rm", "bg"}).exit_code, 0);  // running
  auto stop = Bld({"stop", "bg"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(Bld({"logs", "bg"}).out.find("got-term"), std::string::npos);
  EXPECT_NE(Bld({"ps", "-a"}).out.find("Exited (3)"), std::string::npos);
  EXPECT_EQ(Bld({"ps"}).out.find("bg"), std::string::npos);
  EXPECT_EQ(Bld({"rm", "bg"}).exit_code, 0);
}

// A detached container's root filesystem is mounted in its monitor's own mount namespace:
// never on the host's table, and gone with the monitor even when that is SIGKILLed; bld rm
// still collects the directory.
TEST_F(RunCliTest, DetachedRootfsIsNotMountedOnTheHost) {
  auto r = Bld({"run", "-d", "--name", "dmnt", "busybox", "sh", "-c", "echo started; sleep 30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string dir = root_ + "/containers/" + r.out.substr(0, 64);
  bool started = false;
  for (int i = 0; i < 100 && !started; ++i) {
    started = Bld({"logs", "dmnt"}).out.find("started") != std::string::npos;
    if (!started) usleep(50000);
  }
  ASSERT_TRUE(started);
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mountinfo.ok());
  EXPECT_EQ(mountinfo->find(dir), std::string::npos) << "the rootfs is on the host's mount table";
  auto state = ReadFile(dir + "/state");
  ASSERT_TRUE(state.ok());
  size_t at = state->find("monitor_pid=");
  ASSERT_NE(at, std::string::npos) << *state;
  pid_t monitor = std::atoi(state->c_str() + at + 12);
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(kill(monitor, SIGKILL), 0);
  bool lost = false;
  for (int i = 0; i < 100 && !lost; ++i) {
    lost = Bld({"ps", "-a"}).out.find("dmnt") != std::string::npos &&
           Bld({"ps"}).out.find("dmnt") == std::string::npos;
    if (!lost) usleep(50000);
  }
  EXPECT_TRUE(lost) << Bld({"ps", "-a"}).out;
  mountinfo = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mountinfo.ok());
  EXPECT_EQ(mountinfo->find(dir), std::string::npos);
  auto rm = Bld({"rm", "-f", "dmnt"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(PathExists(dir));
}

// bld stop sends the image's STOPSIGNAL, and SIGKILL after -t: detached and foreground.
TEST_F(RunCliTest, StopSendsTheImagesStopSignalThenKills) {
  ASSERT_EQ(Bld({"import", BusyboxRootfsTar(), "bb-usr1", "--change", "STOPSIGNAL SIGUSR1",
                 "--change", "CMD sh"})
                .exit_code,
            0);
  const std::string handles =
      "trap 'echo got-usr1; exit 5' USR1; trap 'echo got-term; exit 3' TERM; echo started; "
      "while true; do sleep 0.1; done";
  const std::string ignores = "trap '' USR1; echo started; while true; do sleep 0.1; done";
  auto wait_started = [&](const std::string& name) {
    for (int i = 0; i < 200; ++i) {
      if (Bld({"logs", name}).out.find("started") != std::string::npos) return true;
      usleep(50000);
    }
    return false;
  };
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto seconds = [&](auto t0) { return std::chrono::duration<double>(now() - t0).count(); };

  // Detached, the signal handled.
  ASSERT_EQ(Bld({"run", "-d", "--name", "d1", "bb-usr1", "sh", "-c", handles}).exit_code, 0);
  ASSERT_TRUE(wait_started("d1"));
  auto stop = Bld({"stop", "d1"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(Bld({"logs", "d1"}).out.find("got-usr1"), std::string::npos);
  EXPECT_NE(Bld({"ps", "-a"}).out.find("Exited (5)"), std::string::npos) << Bld({"ps", "-a"}).out;
  EXPECT_EQ(Bld({"rm", "d1"}).exit_code, 0);

  // Detached, the signal ignored: SIGKILL after -t 1.
  ASSERT_EQ(Bld({"run", "-d", "--name", "d2", "bb-usr1", "sh", "-c", ignores}).exit_code, 0);
  ASSERT_TRUE(wait_started("d2"));
  auto t0 = now();
  stop = Bld({"stop", "-t", "1", "d2"});
  double took = seconds(t0);
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_GE(took, 1.0);
  EXPECT_LT(took, 15.0);
  EXPECT_EQ(Bld({"ps"}).out.find("d2"), std::string::npos);
  EXPECT_EQ(Bld({"rm", "d2"}).exit_code, 0);

  // Foreground: a bld run in the background of this test, its output in a file.
  auto foreground = [&](const std::string& name, const std::string& script) {
    std::string out = dir_->path() + "/" + name + ".out";
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(BldBinary().c_str(), "bld", "--root", root_.c_str(), "run", "--name", name.c_str(),
            "bb-usr1", "sh", "-c", script.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      auto data = ReadFile(out);
      if (data.ok() && data->find("started") != std::string::npos) break;
      usleep(50000);
    }
    return std::make_pair(pid, out);
  };
  auto [pid1, out1] = foreground("f1", handles);
  stop = Bld({"stop", "f1"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  int status = 0;
  ASSERT_EQ(waitpid(pid1, &status, 0), pid1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 5) << status;
  auto out1_text = ReadFile(out1);
  EXPECT_TRUE(out1_text.ok() && out1_text->find("got-usr1") != std::string::npos);
  EXPECT_EQ(Bld({"rm", "f1"}).exit_code, 0);

  auto [pid2, out2] = foreground("f2", ignores);
  t0 = now();
  stop = Bld({"stop", "-t", "1", "f2"});
  took = seconds(t0);
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_GE(took, 1.0);
  EXPECT_LT(took, 15.0);
  ASSERT_EQ(waitpid(pid2, &status, 0), pid2);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(Bld({"ps"}).out.find("f2"), std::string::npos);
  // The container died with its bld run: no process of it is left.
  auto left = bld::testing::Run({"sh", "-c", "ps -eo args | grep -c \"^sh -c trap '' USR1\""});
  EXPECT_EQ(left.out, "0\n");
  (void)Bld({"rm", "f2"});
}

TEST_F(RunCliTest, LimitsAreEnforced) {
  auto oom = Bld({"run", "--rm", "--memory", "32m", "busybox", "sh", "-c",
                  "head -c 100000000 /dev/zero | tail > /dev/null"});
  EXPECT_NE(oom.exit_code, 0);
  EXPECT_NE(oom.err.find("out of memory"), std::string::npos) << oom.err;
  auto pids = Bld({"run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
                   "for i in $(seq 50); do sleep 2 & done; wait"});
  EXPECT_NE(pids.err.find("can't fork"), std::string::npos) << pids.err;
}

// Snapshot directories (not the snapshotter's own dot files).
size_t CountSnapshots(const std::string& root) {
  auto names = ListDir(root + "/snapshots");
  if (!names.ok()) return 0;
  return std::count_if(names->begin(), names->end(),
                       [](const std::string& n) { return !n.starts_with("."); });
}

TEST_F(RunCliTest, RmRemovesSnapshot) {
  ASSERT_EQ(Bld({"run", "--rm", "busybox", "true"}).exit_code, 0);  // the image's layers
  size_t before = CountSnapshots(root_);
  ASSERT_EQ(Bld({"run", "--rm", "busybox", "true"}).exit_code, 0);
  EXPECT_EQ(CountSnapshots(root_), before);
  auto containers = ListDir(root_ + "/containers");
  if (containers.ok()) EXPECT_TRUE(containers->empty());
}

// Issue 10 #4/#6: a SIGKILLed `bld run --rm` leaves no mount on the host (the rootfs lives in
// the run's own mount namespace) and its directory is swept by the next command.
TEST_F(RunCliTest, SigkilledRunRmLeavesNoMountAndNoDirectory) {
  auto before = ListDir(root_ + "/containers");
  size_t n_before = before.ok() ? before->size() : 0;
  auto child = ChildProcess::Spawn({BldBinary(), "--root", root_, "run", "--rm", "busybox",
                                    "sh", "-c", "echo started; sleep 30"});
  ASSERT_TRUE(child.ok());
  // Until the container runs (its directory exists and the command started), bounded.
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    usleep(50 * 1000);
    auto now = ListDir(root_ + "/containers");
    running = now.ok() && now->size() > n_before;
  }
  ASSERT_TRUE(running);
  usleep(300 * 1000);
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mountinfo.ok());
  EXPECT_EQ(mountinfo->find(root_ + "/containers"), std::string::npos)
      << "the container's rootfs is on the host's mount table";
  ASSERT_TRUE(child->Kill(SIGKILL).ok());
  (void)child->Wait();
  usleep(200 * 1000);
  mountinfo = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mountinfo.ok());
  EXPECT_EQ(mountinfo->find(root_ + "/containers"), std::string::npos);
  auto r = Bld({"run", "--rm", "busybox", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto after = ListDir(root_ + "/containers");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), n_before);
}

}  // namespace
}  // namespace bld::testing
