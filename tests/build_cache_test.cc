// The build cache, reproducibility and failure behaviour of `bld build`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/child_process.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class BuildCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
    auto d = TempDir::Create("", "bld-build-cache-");
    ASSERT_TRUE(d.ok());
    root_ = std::make_unique<TempDir>(std::move(*d));
    auto c = TempDir::Create("", "bld-build-ctx-");
    ASSERT_TRUE(c.ok());
    ctx_ = std::make_unique<TempDir>(std::move(*c));
    ASSERT_TRUE(testing::ImportBusybox(root()));
  }
  std::string root() const { return root_->path() + ""; }
  std::string ctx() const { return ctx_->path(); }
  void Write(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(MkdirAll(Dirname(ctx() + "/" + rel)).ok());
    ASSERT_TRUE(WriteFileAtomic(ctx() + "/" + rel, data).ok());
  }
  CommandResult Build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ctx());
    return RunBld(root(), args);
  }

  std::unique_ptr<TempDir> root_, ctx_;
};

constexpr const char* kDockerfile =
    "FROM busybox\n"
    "COPY a.txt /a.txt\n"
    "RUN echo step-one-ran && cat /a.txt > /one\n"
    "COPY b.txt /b.txt\n"
    "RUN echo step-two-ran && cat /b.txt > /two\n";

TEST_F(BuildCacheTest, SecondBuildRunsNoStep) {
  Write("Dockerfile", kDockerfile);
  Write("a.txt", "a\n");
  Write("b.txt", "b\n");
  auto first = Build({"-t", "c1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Count(first.err, " step-one-ran\n"), 1) << first.err;
  EXPECT_EQ(Count(first.err, "CACHED"), 0) << first.err;
  auto i1 = nlohmann::json::parse(RunBld(root(), {"inspect", Trim(first.out)}).out)[0];
  auto second = Build({"-t", "c1"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Count(second.err, " step-one-ran\n"), 0) << second.err;
  EXPECT_EQ(Count(second.err, " step-two-ran\n"), 0) << second.err;
  EXPECT_EQ(Count(second.err, "CACHED"), 4) << second.err;
  // Same layers.
  auto i2 = nlohmann::json::parse(RunBld(root(), {"inspect", Trim(second.out)}).out)[0];
  EXPECT_EQ(i1["Manifest"]["layers"], i2["Manifest"]["layers"]);
}

TEST_F(BuildCacheTest, UnrelatedFileAndMtimeOnlyChangesStayCached) {
  Write("Dockerfile", kDockerfile);
  Write("a.txt", "a\n");
  Write("b.txt", "b\n");
  ASSERT_EQ(Build().exit_code, 0);
  Write("unrelated.txt", "new file nobody copies\n");
  auto r = Build();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "CACHED"), 4) << r.err;
  // Touch a.txt (same content, new mtime).
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (ctx() + "/a.txt").c_str(), times, 0), 0);
  r = Build();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "CACHED"), 4) << r.err;
}

TEST_F(BuildCacheTest, ChangedSourceRerunsFromThatStepAndExplainNamesIt) {
  Write("Dockerfile", kDockerfile);
  Write("a.txt", "a\n");
  Write("b.txt", "b\n");
  ASSERT_EQ(Build().exit_code, 0);
  Write("b.txt", "b changed\n");
  auto r = Build({"--explain", "-t", "changed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "CACHED"), 2) << r.err;  // COPY a.txt, RUN one
  EXPECT_EQ(Count(r.err, " step-one-ran\n"), 0) << r.err;
  EXPECT_EQ(Count(r.err, " step-two-ran\n"), 1) << r.err;
  EXPECT_NE(r.err.find("explain: changed: file:b.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("explain: changed: parent"), std::string::npos) << r.err;
  auto run = RunBld(root(), {"run", "--rm", "changed", "cat", "/two"});
  EXPECT_EQ(run.out, "b changed\n");
}

TEST_F(BuildCacheTest, NoCacheRunsEverything) {
  Write("Dockerfile", kDockerfile);
  Write("a.txt", "a\n");
  Write("b.txt", "b\n");
  ASSERT_EQ(Build().exit_code, 0);
  auto r = Build({"--no-cache"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "CACHED"), 0) << r.err;
  EXPECT_EQ(Count(r.err, " step-one-ran\n"), 1) << r.err;
}

TEST_F(BuildCacheTest, PruneKeepsCachedLayersUntilPruneAll) {
  Write("Dockerfile", kDockerfile);
  Write("a.txt", "a\n");
  Write("b.txt", "b\n");
  auto first = Build({"-t", "x"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(RunBld(root(), {"rmi", "x"}).exit_code, 0);
  ASSERT_EQ(RunBld(root(), {"prune"}).exit_code, 0);
  auto again = Build();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Count(again.err, "CACHED"), 4) << again.err;
  ASSERT_EQ(RunBld(root(), {"prune", "-a"}).exit_code, 0);
  auto after = Build();
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Count(after.err, "CACHED"), 0) << after.err;
}

TEST_F(BuildCacheTest, SourceDateEpochIsReproducibleAcrossDirectoriesAndTimes) {
  const char* df =
      "FROM busybox\nCOPY . /src/\nRUN mkdir /out && date > /dev/null && echo built > /out/x\n"
      "ENV A=b\nCMD [\"cat\", \"/out/x\"]\n";
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto d = TempDir::Create("", "bld-repro-");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(WriteFileAtomic(d->path() + "/Dockerfile", df).ok());
    ASSERT_TRUE(WriteFileAtomic(d->path() + "/file.txt", "same content\n").ok());
    if (i == 1) sleep(1);
    // The second build runs every step again (--no-cache), at another time, elsewhere.
    std::vector<std::string> args = {"build", "--source-date-epoch", "1700000000", "-q"};
    if (i == 1) args.push_back("--no-cache");
    args.push_back(d->path());
    auto r = RunBld(root(), args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto info = nlohmann::json::parse(RunBld(root(), {"inspect", Trim(r.out)}).out)[0];
    ids.push_back(info["Digest"].get<std::string>() + " " + Trim(r.out));
    EXPECT_EQ(info["Created"], "2023-11-14T22:13:20Z");
  }
  EXPECT_EQ(ids[0], ids[1]);
}

TEST_F(BuildCacheTest, FailingRunShowsExitCodeAndOutputTail) {
  Write("Dockerfile",
        "FROM busybox\nRUN true\nRUN echo first-line && echo the-reason >&2 && exit 3\n");
  auto r = Build();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Dockerfile:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exit code 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the-reason"), std::string::npos) << r.err;
}

TEST_F(BuildCacheTest, BadInstructionNamesTheLine) {
  Write("Dockerfile", "FROM busybox\n\nRUNN echo hi\n");
  auto r = Build();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Dockerfile:3"), std::string::npos) << r.err;
  Write("Dockerfile", "FROM busybox\nCOPY missing.txt /x\n");
  r = Build();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Dockerfile:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.txt"), std::string::npos) << r.err;
}

TEST_F(BuildCacheTest, KilledBuildLeavesAStoreTheNextBuildUses) {
  Write("Dockerfile", "FROM busybox\nRUN echo start && sleep 30\n");
  std::vector<std::string> argv = {testing::BldBinary(), "--root", root(), "build",
                                   "--progress",         "plain",  ctx()};
  auto child = ChildProcess::Spawn(argv);
  ASSERT_TRUE(child.ok());
  sleep(2);
  ASSERT_TRUE(child->Kill(SIGKILL).ok());
  (void)child->Wait();
  Write("Dockerfile", "FROM busybox\nRUN echo after > /after\n");
  auto r = Build({"-t", "after"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root(), {"run", "--rm", "after", "cat", "/after"}).out, "after\n");
}

}  // namespace
}  // namespace bld
