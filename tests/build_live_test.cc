// The live view of `bld build --progress auto` in a real terminal: bld runs under tmux
// (its own server socket, a 120x40 pane); the test captures the pane as a person would
// see it, during a RUN that sleeps and after the build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld {
namespace {



std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class BuildLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
    if (!testing::HaveProgram("tmux")) GTEST_SKIP() << "tmux is not installed";
    auto d = TempDir::Create("", "bld-build-live-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    root_ = tmp_->path() + "/store";
    ctx_ = tmp_->path() + "/ctx";
    ASSERT_TRUE(MkdirAll(ctx_).ok());
    ASSERT_TRUE(testing::ImportBusybox(root_));
    socket_ = tmp_->path() + "/tmux.sock";
  }
  void TearDown() override {
    if (!socket_.empty()) (void)RunCommand({"tmux", "-S", socket_, "kill-server"});
  }
  std::vector<std::string> Pane() {
    auto r = testing::Run({"tmux", "-S", socket_, "capture-pane", "-p", "-t", "live"});
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) {
      while (!l.empty() && l.back() == ' ') l.pop_back();
      if (!l.empty()) lines.push_back(l);
    }
    return lines;
  }
  static std::string Join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
  std::unique_ptr<TempDir> tmp_;
  std::string root_, ctx_, socket_;
};

// The running step's timer, or -1 when the pane does not show the step running.
double RunningTimer(const std::vector<std::string>& pane) {
  static const std::regex running(R"(^=> \[stage-0 2/2\] RUN echo started; sleep 5; echo ended +(\d+\.\d)s$)");
  for (const auto& l : pane) {
    std::smatch m;
    if (std::regex_match(l, m, running)) return std::stod(m[1]);
  }
  return -1;
}

TEST_F(BuildLiveTest, RunningTimerThenOneSummaryAndNaming) {
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/Dockerfile",
                              "FROM busybox\nRUN echo started; sleep 5; echo ended\n")
                  .ok());
  ASSERT_EQ(testing::Run({"tmux", "-S", socket_, "new-session", "-d", "-s", "live", "-x", "120", "-y",
                 "40", "sh"})
                .exit_code,
            0);
  std::string cmd = Quote(testing::BldBinary()) + " --root " + Quote(root_) +
                    " build -t live " + Quote(ctx_) + " 2>&1; echo EXIT=$?";
  ASSERT_EQ(testing::Run({"tmux", "-S", socket_, "send-keys", "-t", "live", cmd, "Enter"}).exit_code, 0);

  // During the RUN: the step with a timer, and its output beneath it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::vector<std::string> pane;
  double first = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    pane = Pane();
    first = RunningTimer(pane);
    if (first >= 0 && Join(pane).find("=> => # started") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(first, 0) << Join(pane);
  std::string during = Join(pane);
  EXPECT_NE(during.find("=> => # started"), std::string::npos) << during;
  EXPECT_NE(during.find("[+] Building "), std::string::npos) << during;
  EXPECT_EQ(during.find("=> => # ended"), std::string::npos) << during;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  pane = Pane();
  double second = RunningTimer(pane);
  ASSERT_GE(second, 0) << Join(pane);
  EXPECT_GE(second, first + 1.0) << Join(pane);

  // After the build: the steps collapsed, one summary line, the naming line.
  std::string after;
  while (std::chrono::steady_clock::now() < deadline) {
    after = Join(Pane());
    if (std::regex_search(after, std::regex("\nEXIT=\\d+\n"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_NE(after.find("\nEXIT=0\n"), std::string::npos) << after;
  int summaries = 0;
  std::regex summary(R"(^\[\+\] Building \d+\.\ds \(3/3\) FINISHED$)");
  for (const auto& l : Pane()) {
    if (l.find("[+] Building") != std::string::npos) {
      ++summaries;
      EXPECT_TRUE(std::regex_match(l, summary)) << l;
    }
  }
  EXPECT_EQ(summaries, 1) << after;
  EXPECT_TRUE(std::regex_search(
      after, std::regex(R"(=> \[stage-0 2/2\] RUN echo started; sleep 5; echo ended +DONE \d+\.\ds\n)")))
      << after;
  EXPECT_NE(after.find("=> => naming to docker.io/library/live:latest done"), std::string::npos)
      << after;
  // Output of a finished step is not left on the screen.
  EXPECT_EQ(after.find("=> => # started"), std::string::npos) << after;
}

}  // namespace
}  // namespace bld
