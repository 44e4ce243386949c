// The build plan and its cache keys: lowered from values before anything runs, one
// test per semantic field (it changes the key) and per non-semantic one (it does not).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include "base/file.h"
#include "base/temp_dir.h"
#include "builder/stage.h"
#include "snapshot/snapshotter.h"

namespace bld::builder {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("", "bld-plan-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    ctx_ = dir_->path() + "/ctx";
    ASSERT_TRUE(MkdirAll(ctx_).ok());
    ASSERT_TRUE(WriteFileAtomic(ctx_ + "/a.txt", "a").ok());
    ASSERT_TRUE(MkdirAll(ctx_ + "/dir").ok());
    ASSERT_TRUE(WriteFileAtomic(ctx_ + "/dir/x", "x").ok());
    ASSERT_TRUE(WriteFileAtomic(ctx_ + "/dir/y", "y").ok());
  }

  // The plan of `dockerfile` (FROM scratch bases need no store content).
  Result<BuildPlan> MakeTestPlan(const std::string& dockerfile, BuildOptions o = {}) {
    o.store_root = dir_->path() + "/store";
    o.context_dir = ctx_;
    o.dockerfile_path = ctx_ + "/Dockerfile";
    auto context = BuildContext::Open(ctx_, o.dockerfile_path);
    if (!context.ok()) return context.error();
    auto store = oci::Store::Open(o.store_root);
    if (!store.ok()) return store.error();
    auto sn = snapshot::OpenSnapshotter(o.store_root, snapshot::SnapshotterType::kCopy);
    if (!sn.ok()) return sn.error();
    o.progress = ProgressMode::kQuiet;
    Progress progress(o.progress, 2);
    Session session(o, **store, **sn, progress, **context);
    return MakePlan(session, dockerfile, "Dockerfile");
  }

  // The keys of the target stage's layer steps.
  std::vector<oci::Digest> Keys(const std::string& dockerfile, BuildOptions o = {}) {
    auto p = MakeTestPlan(dockerfile, o);
    EXPECT_TRUE(p.ok()) << p.error().message();
    if (!p.ok()) return {};
    std::vector<oci::Digest> out;
    for (const auto& s : p->stages.at(p->target).steps) {
      if (s.layer) out.push_back(s.key);
    }
    return out;
  }
  oci::Digest LastKey(const std::string& dockerfile, BuildOptions o = {}) {
    auto k = Keys(dockerfile, o);
    return k.empty() ? oci::Digest() : k.back();
  }

  std::unique_ptr<TempDir> dir_;
  std::string ctx_;
};

TEST_F(PlanTest, PlanIsMadeBeforeAnythingRunsAndIsInspectable) {
  auto p = MakeTestPlan(
      "FROM scratch AS build\nCOPY a.txt /a\nRUN make\nFROM scratch\nENV X=1\n"
      "COPY --from=build /a /b\nLABEL l=v\n");
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_EQ(p->order, (std::vector<int>{0, 1}));
  const StagePlan& build = p->stages.at(0);
  ASSERT_EQ(build.steps.size(), 2u);
  EXPECT_TRUE(build.steps[0].layer);
  EXPECT_EQ(build.steps[0].created_by, "COPY a.txt /a");
  EXPECT_EQ(build.steps[1].created_by, "RUN /bin/sh -c make");
  EXPECT_EQ(build.final_state.key, build.steps[1].key);
  const StagePlan& final = p->stages.at(1);
  ASSERT_EQ(final.steps.size(), 3u);
  EXPECT_FALSE(final.steps[0].layer);  // ENV: config only
  EXPECT_EQ(final.steps[0].created_by, "ENV X=1");
  // COPY --from=build is keyed by the build stage's key, known before it runs.
  EXPECT_EQ(final.steps[1].reads_stages, (std::vector<int>{0}));
  EXPECT_EQ(final.deps, (std::set<int>{0}));
  EXPECT_EQ(final.final_state.config.config->labels.at("l"), "v");
  EXPECT_EQ(final.final_state.config.config->GetEnv("X"), std::optional<std::string>("1"));
}

TEST_F(PlanTest, SourceStageKeyEntersCopyFromKey) {
  auto a = LastKey("FROM scratch AS b\nRUN one\nFROM scratch\nCOPY --from=b /x /y\n");
  auto b = LastKey("FROM scratch AS b\nRUN two\nFROM scratch\nCOPY --from=b /x /y\n");
  EXPECT_NE(a, b);
  // ...but not the source stage's metadata.
  auto c = LastKey("FROM scratch AS b\nRUN one\nLABEL x=y\nFROM scratch\nCOPY --from=b /x /y\n");
  EXPECT_EQ(a, c);
}

TEST_F(PlanTest, SameInputsSameKeys) {
  const std::string df = "FROM scratch\nCOPY a.txt /a\nRUN echo hi\n";
  EXPECT_EQ(Keys(df), Keys(df));
  EXPECT_EQ(Keys(df).size(), 2u);
}

TEST_F(PlanTest, UserChangesKey) {
  EXPECT_NE(LastKey("FROM scratch\nUSER a\nRUN x\n"), LastKey("FROM scratch\nUSER b\nRUN x\n"));
  EXPECT_NE(LastKey("FROM scratch\nUSER a\nWORKDIR /w\n"),
            LastKey("FROM scratch\nUSER b\nWORKDIR /w\n"));
}

TEST_F(PlanTest, WorkdirChangesKey) {
  EXPECT_NE(LastKey("FROM scratch\nWORKDIR /a\nRUN x\n"),
            LastKey("FROM scratch\nWORKDIR /b\nRUN x\n"));
}

TEST_F(PlanTest, EnvChangesKey) {
  EXPECT_NE(LastKey("FROM scratch\nENV A=1\nRUN x\n"), LastKey("FROM scratch\nENV A=2\nRUN x\n"));
}

TEST_F(PlanTest, ShellChangesKey) {
  EXPECT_NE(LastKey("FROM scratch\nSHELL [\"/bin/sh\", \"-c\"]\nRUN x\n"),
            LastKey("FROM scratch\nSHELL [\"/bin/bash\", \"-c\"]\nRUN x\n"));
}

TEST_F(PlanTest, ArgsUsedChangeKeyUnusedDoNot) {
  const std::string df = "FROM scratch\nARG V\nRUN x\n";
  BuildOptions one, two, unused_a, unused_b;
  one.build_args = {{"V", "1"}};
  two.build_args = {{"V", "2"}};
  EXPECT_NE(LastKey(df, one), LastKey(df, two));
  // A build arg no ARG declares, or one declared after the step, is not in its env.
  unused_a.build_args = {{"OTHER", "1"}};
  unused_b.build_args = {{"OTHER", "2"}};
  EXPECT_EQ(LastKey(df, unused_a), LastKey(df, unused_b));
  const std::string later = "FROM scratch\nRUN x\nARG V\n";
  EXPECT_EQ(LastKey(later, one), LastKey(later, two));
  // COPY does not see ARGs it does not expand.
  const std::string copy = "FROM scratch\nARG V\nCOPY a.txt /a\n";
  EXPECT_EQ(LastKey(copy, one), LastKey(copy, two));
  EXPECT_NE(LastKey("FROM scratch\nARG V\nCOPY a.txt /$V\n", one),
            LastKey("FROM scratch\nARG V\nCOPY a.txt /$V\n", two));
}

TEST_F(PlanTest, ProxyArgsReachRunButNotTheKey) {
  BuildOptions a, b;
  a.build_args = {{"HTTP_PROXY", "http://127.0.0.1:1"}};
  b.build_args = {{"HTTP_PROXY", "http://127.0.0.1:2"}};
  EXPECT_EQ(LastKey("FROM scratch\nRUN x\n", a), LastKey("FROM scratch\nRUN x\n", b));
  auto p = MakeTestPlan("FROM scratch\nRUN x\n", a);
  ASSERT_TRUE(p.ok());
  // ...and not into the config or the history.
  EXPECT_FALSE(p->stages.at(0).final_state.config.config->GetEnv("HTTP_PROXY"));
  EXPECT_EQ(p->stages.at(0).steps[0].created_by, "RUN /bin/sh -c x");
}

TEST_F(PlanTest, HistoryRecordsBuildArgsAsDocker) {
  BuildOptions o;
  o.build_args = {{"foo", "bar"}};
  // BuildKit's dispatchArg: the ARG entry has the value the name got (the build arg here);
  // RUN lists every declared name, unset ones as "k=".
  auto p = MakeTestPlan("FROM scratch\nARG foo\nARG bar=123\nARG none\nRUN echo\n", o);
  ASSERT_TRUE(p.ok()) << p.error().message();
  const auto& steps = p->stages.at(0).steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].created_by, "ARG foo=bar");
  EXPECT_EQ(steps[1].created_by, "ARG bar=123");
  EXPECT_EQ(steps[2].created_by, "ARG none");
  EXPECT_EQ(steps[3].created_by, "RUN |3 foo=bar bar=123 none= /bin/sh -c echo");
}

TEST_F(PlanTest, NetworkModeChangesKey) {
  BuildOptions none, host;
  none.network = BuildNetwork::kNone;
  host.allow = {"network.host"};
  const std::string df = "FROM scratch\nRUN x\n";
  EXPECT_NE(LastKey(df), LastKey(df, none));
  EXPECT_NE(LastKey("FROM scratch\nRUN --network=host x\n", host), LastKey(df));
  EXPECT_EQ(LastKey("FROM scratch\nRUN --network=none x\n"), LastKey(df, none));
}

TEST_F(PlanTest, NetworkHostNeedsTheEntitlement) {
  auto p = MakeTestPlan("FROM scratch\nRUN --network=host x\n");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("Dockerfile:2:"), std::string::npos) << p.error().message();
  EXPECT_NE(p.error().message().find("--allow network.host"), std::string::npos);
  BuildOptions none;
  none.network = BuildNetwork::kNone;
  EXPECT_FALSE(MakeTestPlan("FROM scratch\nRUN --network=host x\n", none).ok());
}

TEST_F(PlanTest, ChmodAndChownChangeKey) {
  const auto plain = LastKey("FROM scratch\nCOPY a.txt /a\n");
  EXPECT_NE(plain, LastKey("FROM scratch\nCOPY --chmod=600 a.txt /a\n"));
  EXPECT_NE(LastKey("FROM scratch\nCOPY --chmod=600 a.txt /a\n"),
            LastKey("FROM scratch\nCOPY --chmod=644 a.txt /a\n"));
  EXPECT_NE(plain, LastKey("FROM scratch\nCOPY --chown=1:1 a.txt /a\n"));
  EXPECT_NE(LastKey("FROM scratch\nCOPY --chown=1:1 a.txt /a\n"),
            LastKey("FROM scratch\nCOPY --chown=1:2 a.txt /a\n"));
}

TEST_F(PlanTest, EachMountFieldChangesKey) {
  const std::string base = "FROM scratch\nFROM scratch AS s2\nFROM scratch\nRUN --mount=";
  const std::vector<std::string> specs = {
      "type=cache,target=/c",
      "type=cache,target=/d",
      "type=cache,target=/c,id=other",
      "type=cache,target=/c,sharing=locked",
      "type=cache,target=/c,sharing=private",
      "type=cache,target=/c,mode=0700",
      "type=cache,target=/c,uid=1",
      "type=cache,target=/c,gid=1",
      "type=cache,target=/c,ro",
      "type=cache,target=/c,from=0",
      "type=cache,target=/c,from=0,source=/x",
      "type=bind,target=/m",
      "type=bind,target=/m,source=dir",
      "type=bind,target=/m,rw",
      "type=bind,target=/m,from=0",
      "type=tmpfs,target=/t",
      "type=tmpfs,target=/t,size=1m",
      "type=secret,id=s",
      "type=secret,id=s,target=/s",
      "type=secret,id=s,env=S",
      "type=secret,id=s,required",
      "type=secret,id=s,mode=0444",
      "type=secret,id=s,uid=1",
      "type=secret,id=s,gid=1",
  };
  std::set<std::string> keys;
  BuildOptions o;
  o.secrets = {{"s", "", "HOME"}};
  for (const auto& spec : specs) {
    auto k = LastKey(base + spec + " x\n", o);
    EXPECT_TRUE(keys.insert(k.str()).second) << spec << " gives the key of an earlier spec";
  }
  keys.insert(LastKey("FROM scratch\nRUN x\n").str());
  EXPECT_EQ(keys.size(), specs.size() + 1);
}

TEST_F(PlanTest, BindMountKeyHashesWhatIsVisible) {
  const std::string df = "FROM scratch\nRUN --mount=type=bind,source=dir,target=/m x\n";
  auto before = LastKey(df);
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/dir/x", "changed").ok());
  auto changed = LastKey(df);
  EXPECT_NE(before, changed);
  // An ignored file is not visible: changing it changes nothing.
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/.dockerignore", "dir/y\n").ok());
  auto ignored = LastKey(df);
  EXPECT_NE(changed, ignored);  // y left the view
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/dir/y", "other").ok());
  EXPECT_EQ(ignored, LastKey(df));
}

TEST_F(PlanTest, DockerignoreChangesCopyKey) {
  const std::string df = "FROM scratch\nCOPY dir /d\n";
  auto before = LastKey(df);
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/.dockerignore", "dir/x\n").ok());
  auto after = LastKey(df);
  EXPECT_NE(before, after);
  ASSERT_TRUE(WriteFileAtomic(ctx_ + "/dir/x", "ignored change").ok());
  EXPECT_EQ(after, LastKey(df));
}

TEST_F(PlanTest, BindMountSourceStaysInTheContext) {
  ASSERT_EQ(symlink("/etc", (ctx_ + "/escape").c_str()), 0);
  // The link resolves inside the context (to /etc of the context): not there.
  auto p = MakeTestPlan("FROM scratch\nRUN --mount=type=bind,source=escape,target=/m x\n");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("not found in the build context"), std::string::npos)
      << p.error().message();
  ASSERT_TRUE(MkdirAll(ctx_ + "/etc").ok());
  EXPECT_TRUE(MakeTestPlan("FROM scratch\nRUN --mount=type=bind,source=escape,target=/m x\n").ok());
}

TEST_F(PlanTest, PlatformChangesKey) {
  CacheKey k("bld.run.v1");
  k.Add("command", "x");
  oci::Digest parent = oci::Digest::Of("parent");
  EXPECT_NE(StepKey(k, "linux/amd64", parent, false).Digest(),
            StepKey(k, "linux/arm64", parent, false).Digest());
  EXPECT_NE(StepKey(k, "linux/amd64", parent, false).Digest(),
            StepKey(k, "linux/amd64", oci::Digest::Of("other"), false).Digest());
  // --link: independent of the parent.
  EXPECT_EQ(StepKey(k, "linux/amd64", parent, true).Digest(),
            StepKey(k, "linux/amd64", oci::Digest::Of("other"), true).Digest());
}

TEST_F(PlanTest, MtimeCompressionAndSourceDateEpochDoNotChangeKeys) {
  const std::string df =
      "FROM scratch\nCOPY a.txt /a\nCOPY dir /d\nRUN --mount=type=bind,source=dir,target=/m x\n";
  auto before = Keys(df);
  struct utimbuf t = {1000, 1000};
  ASSERT_EQ(utime((ctx_ + "/a.txt").c_str(), &t), 0);
  ASSERT_EQ(utime((ctx_ + "/dir/x").c_str(), &t), 0);
  EXPECT_EQ(before, Keys(df));
  BuildOptions zstd, epoch, epoch_arg;
  zstd.compression = oci::Compression::kZstd;
  epoch.source_date_epoch = 1700000000;
  EXPECT_EQ(before, Keys(df, zstd));
  EXPECT_EQ(before, Keys(df, epoch));
}

TEST_F(PlanTest, OnbuildTriggersOfTheBaseArePlanned) {
  // A stage's ONBUILD triggers run in the stage built FROM it, resolved against the
  // child's stages.
  auto p = MakeTestPlan(
      "FROM scratch AS src\nRUN make\n"
      "FROM scratch AS base\nONBUILD COPY --from=src /x /y\n"
      "FROM base\nRUN y\n");
  ASSERT_TRUE(p.ok()) << p.error().message();
  const StagePlan& child = p->stages.at(2);
  ASSERT_GE(child.steps.size(), 2u);
  EXPECT_EQ(child.steps[0].created_by, "COPY /x /y");
  EXPECT_EQ(child.steps[0].reads_stages, (std::vector<int>{0}));
  EXPECT_TRUE(child.deps.count(0));
  EXPECT_TRUE(child.final_state.config.config->on_build.empty());
}

TEST_F(PlanTest, PlatformArgsInGlobalScope) {
  auto p = MakeTestPlan("FROM scratch AS build-linux\nRUN x\nFROM build-${TARGETOS}\n");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->stages.at(p->target).base_stage, 0);
}

TEST_F(PlanTest, MountErrorsNameTheLine) {
  for (const char* df : {"FROM scratch\nRUN --mount=type=bind,from=,target=/m x\n",
                         "FROM scratch\nRUN --mount=type=ssh x\n",
                         "FROM scratch\nRUN --mount=type=secret,id=gone,required x\n",
                         "FROM scratch\nRUN --mount=type=cache,target=/c,source=/x x\n"}) {
    auto p = MakeTestPlan(df);
    ASSERT_FALSE(p.ok()) << df;
    EXPECT_EQ(p.error().message().rfind("Dockerfile:2:", 0), 0u) << p.error().message();
  }
}

TEST_F(PlanTest, OversizedCommandsAreErrorsNamingTheLine) {
  std::string big(200 * 1024, 'x');
  auto run = MakeTestPlan("FROM scratch\nRUN echo " + big + "\n");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().message().rfind("Dockerfile:2:", 0), 0u) << run.error().message();
  auto env = MakeTestPlan("FROM scratch\nENV BIG=" + std::string(140 * 1024, 'y') + "\nRUN true\n");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message().rfind("Dockerfile:3:", 0), 0u) << env.error().message();
  EXPECT_NE(env.error().message().find("BIG"), std::string::npos);
}

}  // namespace
}  // namespace bld::builder
