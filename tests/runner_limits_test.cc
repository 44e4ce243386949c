// Cgroup limits of runner containers (issue 5, acceptance 2): enforced, not just written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

#include "tests/runner_test_util.h"

namespace bld::runner_testing {
namespace {

// Parses the driver's "stats: k=v k=v..." line from stderr.
std::map<std::string, long long> Stats(const std::string& err) {
  std::map<std::string, long long> out;
  size_t pos = err.find("stats: ");
  if (pos == std::string::npos) return out;
  std::istringstream in(err.substr(pos + 7));
  std::string kv;
  while (in >> kv) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = std::atoll(kv.c_str() + eq + 1);
  }
  return out;
}

class RunnerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (cgroup limits)";
    auto r = Rootfs::Make(Mode::kRoot);
    ASSERT_TRUE(r.has_value());
    rootfs_.emplace(std::move(*r));
  }
  CommandResult Run(const std::vector<std::string>& flags, const std::vector<std::string>& cmd) {
    std::vector<std::string> args = {"--rootfs", rootfs_->path(), "--stats"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("--");
    args.insert(args.end(), cmd.begin(), cmd.end());
    return RunDriver(Mode::kRoot, args);
  }
  std::optional<Rootfs> rootfs_;
};

TEST_F(RunnerLimitsTest, MemoryLimitOomKills100MbAllocation) {
  // dd allocates and fills a 100 MB buffer.
  std::vector<std::string> dd = {"dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"};
  auto r = Run({"--memory", std::to_string(32 << 20)}, dd);
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_EQ(Stats(r.err)["oom_killed"], 1) << r.err;
  // The same allocation without the limit succeeds.
  auto free = Run({}, dd);
  EXPECT_EQ(free.exit_code, 0) << free.err;
}

TEST_F(RunnerLimitsTest, PidsLimitStopsForkLoop) {
  std::string loop = "for i in $(seq 30); do sleep 1 & done; wait; echo all started";
  auto r = Run({"--pids-limit", "20"}, {"sh", "-c", loop});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("can't fork: Resource temporarily unavailable"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  auto free = Run({}, {"sh", "-c", loop});
  EXPECT_EQ(free.exit_code, 0) << free.err;
  EXPECT_EQ(free.out, "all started\n");
}

TEST_F(RunnerLimitsTest, CpuLimitThrottlesBusyLoop) {
  // Three busy loops for 1.5 s want up to 3 CPUs; a quota of 0.5 CPU must hold them to about
  // 0.75 s of CPU time, and the cgroup must record throttled periods.
  std::vector<std::string> busy = {
      "sh", "-c", "for i in 1 2 3; do (while :; do :; done) & done; sleep 1.5; kill $(jobs -p)"};
  // Control: the same load under a quota it cannot reach.
  auto control = Run({"--cpus", "3"}, busy);
  ASSERT_EQ(control.exit_code, 0) << control.err;
  double control_cpus = Stats(control.err)["cpu_usage_us"] / 1.5e6;
  ASSERT_GT(control_cpus, 0.0) << control.err;
  // On an idle host the quota is 0.5 CPU. A host so loaded that the container cannot even
  // get 0.5 CPU would never hit that quota: test a third of what the control got instead.
  double quota = std::min(0.5, control_cpus / 3);
  RecordProperty("quota_cpus", std::to_string(quota));
  auto r = Run({"--cpus", std::to_string(quota)}, busy);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto s = Stats(r.err);
  EXPECT_GT(s["nr_throttled"], 2) << "quota " << quota << ": " << r.err;
  EXPECT_GT(s["throttled_us"], 0) << r.err;
  EXPECT_GT(s["cpu_usage_us"], 0) << r.err;
  // quota x 1.5 s, plus slack for start-up and the last period.
  EXPECT_LT(s["cpu_usage_us"], quota * 1.5e6 * 1.3 + 100'000) << "quota " << quota << ": " << r.err;
  EXPECT_LT(s["cpu_usage_us"], control_cpus * 1.5e6 * 0.7) << "control " << control.err;
}

TEST_F(RunnerLimitsTest, LimitsLeaveNoCgroupBehind) {
  std::string id = "limits-test-" + std::to_string(getpid());
  std::string find = "find /sys/fs/cgroup -maxdepth 8 -name 'bld-" + id + "' | wc -l";
  auto during = Run({"--id", id, "--memory", std::to_string(64 << 20), "--pids-limit", "50",
                     "--cpus", "1", "-v", "/sys/fs/cgroup:/hostcg:ro"},
                    {"sh", "-c", "find /hostcg -maxdepth 8 -name 'bld-" + id + "' | wc -l"});
  ASSERT_EQ(during.exit_code, 0) << during.err;
  // memory, cpu, cpuacct and pids on v1; one directory on v2.
  EXPECT_NE(during.out, "0\n");
  auto after = RunCommand({"sh", "-c", find});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->out, "0\n");
}

TEST(RunnerLimitsRootlessTest, UnenforceableLimitIsAClearError) {
  std::string why;
  if (!EnsureTestUser(&why)) GTEST_SKIP() << why;
  auto r = Rootfs::Make(Mode::kRootless);
  ASSERT_TRUE(r.has_value());
  auto res = RunDriver(Mode::kRootless,
                       {"--rootfs", r->path(), "--memory", std::to_string(32 << 20), "--", "true"});
  if (res.exit_code == 0) {
    GTEST_SKIP() << "this host delegates a cgroup to the test user: the limit was enforceable";
  }
  EXPECT_EQ(res.exit_code, 125);
  EXPECT_NE(res.err.find("cannot enforce memory limit"), std::string::npos) << res.err;
}

}  // namespace
}  // namespace bld::runner_testing
