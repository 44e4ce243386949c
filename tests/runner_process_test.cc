// Process handling of runner containers (issue 5, acceptance 3 and 4): exit codes, signal
// forwarding, zombie reaping, detached containers. Run as root and rootless.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/file.h"
#include "tests/runner_test_util.h"

namespace bld::runner_testing {
namespace {

class RunnerProcessTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (GetParam() == Mode::kRoot && geteuid() != 0) GTEST_SKIP() << "needs root";
    std::string why;
    if (GetParam() == Mode::kRootless && !EnsureTestUser(&why)) GTEST_SKIP() << why;
    auto r = Rootfs::Make(GetParam());
    ASSERT_TRUE(r.has_value());
    rootfs_.emplace(std::move(*r));
  }
  CommandResult Run(const std::vector<std::string>& args) { return RunDriver(GetParam(), args); }
  CommandResult RunSh(const std::string& script, const std::vector<std::string>& flags = {}) {
    return RunDriver(GetParam(), Sh(*rootfs_, script, flags));
  }
  std::vector<std::string> Cmd(const std::vector<std::string>& cmd) {
    std::vector<std::string> args = {"--rootfs", rootfs_->path(), "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    return args;
  }
  // Starts the driver with stdout on a pipe; returns the read end.
  ChildProcess Spawn(const std::vector<std::string>& args, UniqueFd* out) {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    out->reset(p[0]);
    UniqueFd w(p[1]);
    SpawnOptions opts;
    opts.stdout_fd = w.get();
    opts.cwd = "/";
    auto c = ChildProcess::Spawn(DriverArgv(GetParam(), args), opts);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  // Reads from `fd` until `text` was seen (or 10 s passed); returns what was read.
  static std::string ReadUntil(int fd, const std::string& text) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, n);
    }
    return got;
  }
  std::optional<Rootfs> rootfs_;
};

TEST_P(RunnerProcessTest, ExitCodes) {
  EXPECT_EQ(Run(Cmd({"true"})).exit_code, 0);
  EXPECT_EQ(Run(Cmd({"false"})).exit_code, 1);
  EXPECT_EQ(RunSh("exit 42").exit_code, 42);
  EXPECT_EQ(RunSh("exit 42", {"--no-init"}).exit_code, 42);
  EXPECT_EQ(RunSh("kill -9 $$").exit_code, 137);
  EXPECT_EQ(RunSh("kill -15 $$").exit_code, 143);
}

TEST_P(RunnerProcessTest, NotFoundIs127) {
  auto r = Run(Cmd({"no-such-command"}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("exec \"no-such-command\": executable file not found in $PATH"),
            std::string::npos)
      << r.err;
  auto abs = Run(Cmd({"/no/such/file"}));
  EXPECT_EQ(abs.exit_code, 127);
  EXPECT_NE(abs.err.find("exec \"/no/such/file\": No such file or directory"), std::string::npos)
      << abs.err;
  EXPECT_EQ(Run({"--rootfs", rootfs_->path(), "--no-init", "--", "nope"}).exit_code, 127);
}

TEST_P(RunnerProcessTest, NotExecutableIs126) {
  auto r = Run(Cmd({"/etc/passwd"}));
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.err.find("exec \"/etc/passwd\": Permission denied"), std::string::npos) << r.err;
  auto dir = Run(Cmd({"/etc"}));
  EXPECT_EQ(dir.exit_code, 126);
}

TEST_P(RunnerProcessTest, SigtermReachesTheContainer) {
  UniqueFd out;
  ChildProcess c =
      Spawn(Sh(*rootfs_, "trap 'echo got TERM; exit 7' TERM; echo ready; sleep 30 & wait"), &out);
  ASSERT_NE(ReadUntil(out.get(), "ready").find("ready"), std::string::npos);
  ASSERT_TRUE(c.Kill(SIGTERM).ok());
  auto st = c.Wait();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(ExitCodeFromWaitStatus(*st), 7);
  auto rest = ReadFd(out.get());
  ASSERT_TRUE(rest.ok());
  EXPECT_NE(rest->find("got TERM"), std::string::npos) << *rest;
}

TEST_P(RunnerProcessTest, SigtermKillsAnUntrappingCommand) {
  UniqueFd out;
  ChildProcess c = Spawn(Sh(*rootfs_, "echo ready; exec sleep 30"), &out);
  ASSERT_NE(ReadUntil(out.get(), "ready").find("ready"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Kill(SIGTERM).ok());
  auto st = c.Wait();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(ExitCodeFromWaitStatus(*st), 143);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(RunnerProcessTest, InitReapsOrphans) {
  // Orphans (children of exited subshells) are re-parented to PID 1, which must reap them.
  auto r = RunSh(
      "for i in 1 2 3 4 5; do (sleep 0.1 &); (true &); done; sleep 0.6; "
      "ps -o stat,comm | grep -c '^Z'");
  EXPECT_EQ(r.out, "0\n") << r.err;
}

TEST_P(RunnerProcessTest, NoProcessOutlivesTheContainer) {
  // A daemonized process is killed with the container (its PID namespace ends with PID 1).
  // busybox sleep adds its arguments: the second one makes the command line unique.
  std::string unique =
      "0." + std::to_string(getpid()) + std::to_string(static_cast<int>(GetParam()));
  auto r = RunSh("(sleep 1000 " + unique + " &); echo started");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "started\n");
  auto ps = RunCommand({"pgrep", "-f", "sleep 1000 " + unique});
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->out, "") << "left behind: " << ps->out;
}

TEST_P(RunnerProcessTest, RlimitsInheritedAndNeverRaised) {
  rlimit nofile, nproc;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  ASSERT_EQ(getrlimit(RLIMIT_NPROC, &nproc), 0);
  auto fmt = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  // Inherited as they are.
  auto r = RunSh("ulimit -Hn; ulimit -Hu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, fmt(nofile.rlim_max) + "\n" + fmt(nproc.rlim_max) + "\n");
  // Asking for more than the hard limit gets the hard limit, not an error.
  auto raised =
      RunSh("ulimit -Sn; ulimit -Hn; ulimit -Hu",
            {"--rlimit", "nofile=unlimited:unlimited", "--rlimit", "nproc=unlimited:unlimited"});
  ASSERT_EQ(raised.exit_code, 0) << raised.err;
  EXPECT_EQ(raised.out,
            fmt(nofile.rlim_max) + "\n" + fmt(nofile.rlim_max) + "\n" + fmt(nproc.rlim_max) + "\n");
  // Lowering works.
  auto lowered = RunSh("ulimit -Sn; ulimit -Hn", {"--rlimit", "nofile=64:128"});
  EXPECT_EQ(lowered.out, "64\n128\n") << lowered.err;
}

TEST_P(RunnerProcessTest, StdinPassesThrough) {
  auto r = RunDriver(GetParam(), Sh(*rootfs_, "tr a-z A-Z"), "hello\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO\n");
}

TEST_P(RunnerProcessTest, DetachedLifecycle) {
  std::string state = rootfs_->dir() + "/state";
  std::string log = rootfs_->dir() + "/log";
  if (GetParam() == Mode::kRootless && geteuid() == 0) {
    // The test user writes the state and the log.
    ASSERT_EQ(chown(rootfs_->dir().c_str(), TestUid(), TestGid()), 0);
  }
  std::vector<std::string> args = {"--detach", state, log};
  auto sh = Sh(*rootfs_, "echo hello; echo oops >&2; sleep 30");
  args.insert(args.end(), sh.begin(), sh.end());
  auto r = Run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("status=running pid=", 0), 0u) << r.out;

  std::string logged;
  for (int i = 0; i < 200 && logged.find("oops") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto l = ReadFile(log);
    if (l.ok()) logged = *l;
  }
  EXPECT_NE(logged.find("hello\n"), std::string::npos) << logged;
  EXPECT_NE(logged.find("oops\n"), std::string::npos) << logged;
  EXPECT_EQ(Run({"--state", state}).out.rfind("status=running", 0), 0u);

  auto stop = Run({"--stop", state, "5000"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.out.rfind("status=exited pid=", 0), 0u) << stop.out;
  EXPECT_NE(stop.out.find("exit_code=143 signal=15"), std::string::npos) << stop.out;
  // Stopping a stopped container is fine.
  EXPECT_EQ(Run({"--stop", state, "100"}).exit_code, 0);
}

TEST_P(RunnerProcessTest, DetachedStopEscalatesToSigkill) {
  std::string state = rootfs_->dir() + "/state";
  if (GetParam() == Mode::kRootless && geteuid() == 0) {
    ASSERT_EQ(chown(rootfs_->dir().c_str(), TestUid(), TestGid()), 0);
  }
  // Without an init, sleep is PID 1 and ignores SIGTERM (no handler).
  auto r = Run({"--detach", state, rootfs_->dir() + "/log", "--rootfs", rootfs_->path(),
                "--no-init", "--", "sleep", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto start = std::chrono::steady_clock::now();
  auto stop = Run({"--stop", state, "300"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.out.find("exit_code=137 signal=9"), std::string::npos) << stop.out;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_P(RunnerProcessTest, DetachedStartErrors) {
  std::string state = rootfs_->dir() + "/state";
  if (GetParam() == Mode::kRootless && geteuid() == 0) {
    ASSERT_EQ(chown(rootfs_->dir().c_str(), TestUid(), TestGid()), 0);
  }
  auto bad = Run({"--detach", state, rootfs_->dir() + "/log", "--rootfs", rootfs_->path(), "-u",
                  "ghost", "--", "true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("ghost"), std::string::npos) << bad.err;
  auto st = Run({"--state", state});
  EXPECT_EQ(st.out.rfind("status=failed", 0), 0u) << st.out;

  std::string state2 = rootfs_->dir() + "/state2";
  auto notfound = Run({"--detach", state2, rootfs_->dir() + "/log", "--rootfs", rootfs_->path(),
                       "--", "no-such-command"});
  ASSERT_EQ(notfound.exit_code, 0) << notfound.err;
  for (int i = 0; i < 200; ++i) {
    st = Run({"--state", state2});
    if (st.out.rfind("status=running", 0) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(st.out.find("status=exited"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("exit_code=127"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("executable file not found"), std::string::npos) << st.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, RunnerProcessTest, ::testing::Values(Mode::kRoot, Mode::kRootless),
                         [](const auto& info) { return ModeName(info.param); });

}  // namespace
}  // namespace bld::runner_testing
