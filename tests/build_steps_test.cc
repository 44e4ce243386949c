// RUN --mount and secrets acting as documented, failure handling (cancellation, crashes,
// bounded memory), and what export does (compression, SOURCE_DATE_EPOCH, stable IDs),
// driving the real `bld build`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "base/child_process.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

// One store with busybox for the whole binary; each test gets its own context.
class BuildStepsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::IsRoot()) return;
    auto d = TempDir::Create("", "bld-build-steps-");
    ASSERT_TRUE(d.ok());
    root_ = new TempDir(std::move(*d));
    ASSERT_TRUE(testing::ImportBusybox(root_->path()));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
    auto c = TempDir::Create("", "bld-build-steps-ctx-");
    ASSERT_TRUE(c.ok());
    ctx_ = std::make_unique<TempDir>(std::move(*c));
  }
  static std::string root() { return root_->path(); }
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
  // Builds and runs `cmd` in the image; returns its stdout.
  std::string BuildAndRun(const std::vector<std::string>& cmd,
                          std::vector<std::string> extra = {}) {
    extra.push_back("-q");
    auto b = Build(extra);
    EXPECT_EQ(b.exit_code, 0) << b.err;
    if (b.exit_code != 0) return "";
    std::vector<std::string> args = {"run", "--rm", Trim(b.out)};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = RunBld(root(), args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  nlohmann::json Inspect(const std::string& id) {
    auto in = RunBld(root(), {"inspect", id});
    EXPECT_EQ(in.exit_code, 0) << in.err;
    return nlohmann::json::parse(in.out, nullptr, false)[0];
  }

  static TempDir* root_;
  std::unique_ptr<TempDir> ctx_;
};
TempDir* BuildStepsTest::root_ = nullptr;

// ---- RUN --mount=type=bind --------------------------------------------------------

// Two stages on the same base start together: one unpacks it, the other waits for that
// snapshot instead of unpacking the same layers a second time.
TEST_F(BuildStepsTest, StagesOnOneBaseUnpackItOnce) {
  auto fresh = TempDir::Create("", "bld-build-steps-unpack-");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(testing::ImportBusybox(fresh->path()));
  Write("Dockerfile",
        "FROM busybox AS a\nRUN echo a > /a\n"
        "FROM busybox AS b\nRUN echo b > /b\n"
        "FROM busybox AS c\nRUN echo c > /c\n"
        "FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCOPY --from=c /c /c\n");
  auto r = RunBld(fresh->path(), {"--log-level", "debug", "build", "--progress", "plain", ctx()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "unpacked layer "), 1) << r.err;
}

TEST_F(BuildStepsTest, BindFromContextSeesOnlyTheDockerignoreFilteredView) {
  Write("src/keep.txt", "keep\n");
  Write("src/secret.key", "hidden\n");
  Write("src/sub/also.key", "hidden\n");
  Write(".dockerignore", "**/*.key\n");
  Write("Dockerfile",
        "FROM busybox\n"
        "RUN --mount=type=bind,source=src,target=/m find /m | sort > /seen\n");
  EXPECT_EQ(BuildAndRun({"cat", "/seen"}), "/m\n/m/keep.txt\n/m/sub\n");
  // Changing the ignored file leaves the step cached: the key hashes what is visible.
  Write("src/secret.key", "changed\n");
  auto again = Build();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Count(again.err, "CACHED"), 1) << again.err;
}

TEST_F(BuildStepsTest, ReadWriteBindWritesAreDiscardedAndNeverReachTheSource) {
  auto host = TempDir::Create("", "bld-build-steps-host-");
  ASSERT_TRUE(host.ok());
  ASSERT_EQ(symlink(host->path().c_str(), (ctx() + "/link-dir").c_str()), 0);
  Write("dir/f", "original\n");
  Write("Dockerfile",
        "FROM busybox\n"
        "RUN --mount=type=bind,source=dir,target=/m,rw echo new > /m/f && echo x > /m/added "
        "&& cat /m/f > /inside\n"
        "RUN --mount=type=bind,target=/ctx,rw rm -rf /ctx/dir && touch /ctx/new\n");
  EXPECT_EQ(BuildAndRun({"cat", "/inside"}), "new\n");
  EXPECT_EQ(*ReadFile(ctx() + "/dir/f"), "original\n");
  EXPECT_FALSE(PathExists(ctx() + "/dir/added"));
  EXPECT_FALSE(PathExists(ctx() + "/new"));
  // A symlink to a host directory resolves inside the context: no file on the host.
  Write("Dockerfile",
        "FROM busybox\nRUN --mount=type=bind,source=link-dir,target=/m,rw touch /m/x\n");
  auto r = Build();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Dockerfile:2:"), std::string::npos) << r.err;
  auto names = ListDir(host->path());
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(BuildStepsTest, BindFromStageIsResolvedInsideItsRoot) {
  Write("Dockerfile",
        "FROM busybox AS evil\n"
        "RUN mkdir -p /data && echo in-stage > /data/f && ln -s /etc /hostlink\n"
        "FROM busybox\n"
        "RUN --mount=type=bind,from=evil,source=/data,target=/m cat /m/f > /got\n"
        "RUN --mount=type=bind,from=evil,source=/hostlink,target=/e test -e /e/passwd && "
        "cat /e/passwd | head -1 > /etc-of-stage\n");
  EXPECT_EQ(BuildAndRun({"cat", "/got", "/etc-of-stage"}),
            "in-stage\nroot:x:0:0:root:/root:/bin/sh\n");
}

// ---- RUN --mount=type=cache -------------------------------------------------------

TEST_F(BuildStepsTest, CacheMountSeedModeOwnerAndDefaultId) {
  Write("Dockerfile",
        "FROM busybox AS seed\n"
        "RUN mkdir -p /s && echo seeded > /s/file\n"
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/c1,from=seed,source=/s,mode=0710,uid=1234,gid=99 "
        "cat /c1/file > /seed && stat -c '%a %u %g' /c1 > /mode && echo kept > /c1/kept\n"
        "RUN --mount=type=cache,target=/c1 cat /c1/kept > /again\n");
  EXPECT_EQ(BuildAndRun({"cat", "/seed", "/mode", "/again"}), "seeded\n710 1234 99\nkept\n");
}

TEST_F(BuildStepsTest, CacheMountSharingModes) {
  // Two parallel stages use one cache id; each leaves a marker there and counts the
  // markers 3 s later. shared: both see both; locked: one at a time, so the first sees
  // only its own; private: each its own directory when both run at once.
  auto df = [](const std::string& sharing) {
    std::string step = "RUN --mount=type=cache,id=c-" + sharing + ",target=/c,sharing=" + sharing +
                       " sh -c 'touch /c/busy.$(cat /proc/sys/kernel/random/uuid); sleep 3; "
                       "ls /c | grep -c busy > /result'\n";
    return "FROM busybox AS a\n" + step + "FROM busybox AS b\n" + step +
           "FROM busybox\nCOPY --from=a /result /a\nCOPY --from=b /result /b\n";
  };
  Write("Dockerfile", df("locked"));
  std::string locked = BuildAndRun({"cat", "/a", "/b"});
  EXPECT_TRUE(locked == "1\n2\n" || locked == "2\n1\n") << locked;
  Write("Dockerfile", df("private"));
  EXPECT_EQ(BuildAndRun({"cat", "/a", "/b"}), "1\n1\n");
  Write("Dockerfile", df("shared"));
  EXPECT_EQ(BuildAndRun({"cat", "/a", "/b"}), "2\n2\n");
}

// ---- secrets, tmpfs, ssh --------------------------------------------------------------

TEST_F(BuildStepsTest, SecretsFromFilesAndEnvironment) {
  Write("token.txt", "from-file");
  setenv("BLD_STEPS_TEST_SECRET", "from-env", 1);
  setenv("bldsecretid", "by-id-env", 1);
  Write("Dockerfile",
        "FROM busybox\n"
        "RUN --mount=type=secret,id=f,target=/s/f,mode=0440,uid=7,gid=8 "
        "cat /s/f > /f && stat -c '%a %u %g' /s/f > /fmode\n"
        "RUN --mount=type=secret,source=e,env=E echo \"$E\" > /e\n"
        "RUN --mount=type=secret,id=bldsecretid,dst=/x cat /x > /i\n"
        "RUN --mount=type=secret,id=missing echo skipped > /m\n");
  std::string out =
      BuildAndRun({"cat", "/f", "/fmode", "/e", "/i", "/m"},
                  {"--secret", "id=f,type=file,src=" + ctx() + "/token.txt", "--secret",
                   "id=e,type=env,src=BLD_STEPS_TEST_SECRET", "--secret", "id=bldsecretid"});
  EXPECT_EQ(out, "from-file440 7 8\nfrom-env\nby-id-envskipped\n");
  unsetenv("BLD_STEPS_TEST_SECRET");
  unsetenv("bldsecretid");
  Write("Dockerfile", "FROM busybox\nRUN --mount=type=secret,id=needed,required true\n");
  auto r = Build();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Dockerfile:2: secret needed is required"), std::string::npos) << r.err;
}

TEST_F(BuildStepsTest, TmpfsSizeAndSshAndNetworkHost) {
  Write("Dockerfile",
        "FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=1m df -k /t | tail -1 | awk "
        "'{print $2}' > /size\n");
  EXPECT_EQ(BuildAndRun({"cat", "/size"}), "1024\n");
  Write("Dockerfile", "FROM busybox\nRUN --mount=type=ssh true\n");
  auto ssh = Build();
  EXPECT_NE(ssh.exit_code, 0);
  EXPECT_NE(ssh.err.find("not supported"), std::string::npos) << ssh.err;
  Write("Dockerfile", "FROM busybox\nRUN --network=host true\n");
  auto host = Build();
  EXPECT_EQ(host.exit_code, 1);
  EXPECT_NE(host.err.find("--allow network.host"), std::string::npos) << host.err;
  EXPECT_EQ(Build({"--allow", "network.host"}).exit_code, 0);
  // --network none: a step that does not ask for host gets only lo.
  Write("Dockerfile", "FROM busybox\nRUN ls /sys/class/net | sort > /nets\n");
  EXPECT_EQ(BuildAndRun({"cat", "/nets"}, {"--network", "none"}), "lo\n");
}

// ---- failures -----------------------------------------------------------------------

TEST_F(BuildStepsTest, FailedStepCancelsTheOthersPromptly) {
  Write("Dockerfile",
        "FROM busybox AS slow\nRUN sleep 120\n"
        "FROM busybox AS fails\nRUN sleep 1; exit 3\n"
        "FROM busybox\nCOPY --from=slow /etc/passwd /a\nCOPY --from=fails /etc/passwd /b\n");
  auto start = std::chrono::steady_clock::now();
  auto r = Build();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bld: Dockerfile:4: RUN /bin/sh -c sleep 1; exit 3: exit code 3"),
            std::string::npos)
      << r.err;
  EXPECT_LT(secs, 60) << "the sleeping step was not killed";
}

TEST_F(BuildStepsTest, SilentFailuresAndHugeCommandsAreClearErrors) {
  for (const std::string& run : {std::string("RUN false"), std::string("RUN echo; false"),
                                 "RUN echo " + std::string(200 * 1024, 'x'),
                                 "ENV BIG=" + std::string(140 * 1024, 'y') + "\nRUN true"}) {
    Write("Dockerfile", "FROM busybox\n" + run + "\n");
    auto r = Build();
    EXPECT_EQ(r.exit_code, 1) << run.substr(0, 40) << "\n" << r.err.substr(0, 2000);
    EXPECT_NE(r.err.find("Dockerfile:"), std::string::npos) << r.err.substr(0, 2000);
  }
}

TEST_F(BuildStepsTest, JsonProgressWithNonUtf8Output) {
  Write("Dockerfile", "FROM busybox\nRUN printf 'caf\\351\\n'\nRUN echo caf\xe9\n");
  auto r = RunBld(root(), {"build", "--progress", "json", "--no-cache", ctx()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& line : std::vector<std::string>{r.err}) {
    EXPECT_EQ(line.find("terminate"), std::string::npos) << line;
  }
}

TEST_F(BuildStepsTest, OutputWithoutNewlinesKeepsMemoryBounded) {
  // 100 MB without a newline is clipped, and bld's peak RSS grows by a few MB at most
  // over the same build printing 1 kB (the yardstick, in this run).
  auto peak_kb = [&](const std::string& bytes) -> long {
    Write("Dockerfile", "FROM busybox\nRUN head -c " + bytes + " /dev/zero | tr '\\0' x\n");
    auto r = testing::Run({"/bin/sh", "-c",
                           "command -v /usr/bin/time >/dev/null || exit 77; /usr/bin/time -f "
                           "'maxrss=%M' " +
                               testing::BldBinary() + " --root " + root() +
                               " build --progress plain --no-cache " + ctx() +
                               " 2>&1 >/dev/null | tail -c 3000"});
    if (r.exit_code == 77) return -1;
    size_t p = r.out.find("maxrss=");
    EXPECT_NE(p, std::string::npos) << r.out;
    if (p == std::string::npos) return 0;
    if (bytes != "1000") EXPECT_NE(r.out.find("clipped"), std::string::npos) << r.out;
    return std::stol(r.out.substr(p + 7));
  };
  long small = peak_kb("1000");
  if (small < 0) GTEST_SKIP() << "needs /usr/bin/time (Debian package time)";
  long big = peak_kb("100000000");
  EXPECT_LT(big - small, 8 * 1024) << "peak RSS " << small << " KiB -> " << big << " KiB";
}

// ---- export: compression, SOURCE_DATE_EPOCH, stable IDs -------------------------------

TEST_F(BuildStepsTest, CompressionIsAppliedAtExportNotInKeys) {
  Write("a.txt", "a\n");
  Write("Dockerfile", "FROM busybox\nCOPY a.txt /a\nRUN echo hi > /hi\n");
  auto first = Build({"-q", "-t", "steps-gzip"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto zstd = Build({"--compression", "zstd", "-t", "steps-zstd"});
  ASSERT_EQ(zstd.exit_code, 0) << zstd.err;
  EXPECT_EQ(Count(zstd.err, "CACHED"), 2) << zstd.err;
  // Compression is not in the config: the image ID (config digest) is the same.
  std::string id = "steps-zstd";
  EXPECT_EQ(Trim(zstd.out), Trim(first.out));
  auto info = Inspect(id);
  // Every layer, the busybox base's too, is zstd now.
  std::string layers_json = info.dump();
  EXPECT_EQ(info["ImageConfig"]["rootfs"]["diff_ids"].size(), 3u) << layers_json;
  auto out =
      RunBld(root(), {"save", "--format", "oci-archive", "-o", ctx() + "/img.tar", Trim(id)});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto tar = testing::Run({"tar", "-xOf", ctx() + "/img.tar", "index.json"});
  ASSERT_EQ(tar.exit_code, 0);
  auto index = nlohmann::json::parse(tar.out);
  std::string mdigest = index["manifests"][0]["digest"];
  auto mtext =
      testing::Run({"tar", "-xOf", ctx() + "/img.tar", "blobs/sha256/" + mdigest.substr(7)});
  auto mj = nlohmann::json::parse(mtext.out);
  ASSERT_EQ(mj["layers"].size(), 3u);
  for (const auto& l : mj["layers"]) {
    EXPECT_EQ(l["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd") << l.dump();
  }
  // The same image ID as the gzip build's diff IDs: the content is unchanged.
  auto gz = Inspect("steps-gzip");
  EXPECT_EQ(gz["ImageConfig"]["rootfs"]["diff_ids"], info["ImageConfig"]["rootfs"]["diff_ids"]);
}

TEST_F(BuildStepsTest, CompressionZstdPushOnAGzipBase) {
  if (!PathExists(testing::kRegistryBinary)) GTEST_SKIP() << "needs docker-registry";
  auto reg = testing::TestRegistry::Start();
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  Write("Dockerfile", "FROM busybox\nRUN echo pushed > /p\n");
  ASSERT_EQ(Build({"-q"}).exit_code, 0);
  std::string name = (*reg)->host() + "/steps/zstd:1";
  auto r = Build({"--compression", "zstd", "--push", "--tls-verify=false", "-t", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "CACHED"), 1) << r.err;
  if (!testing::HaveProgram("skopeo")) return;
  auto raw = testing::Run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + name});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  auto m = nlohmann::json::parse(raw.out);
  ASSERT_EQ(m["layers"].size(), 2u) << raw.out;
  for (const auto& l : m["layers"]) {
    EXPECT_EQ(l["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd") << raw.out;
  }
}

// ---- --squash and --format docker ---------------------------------------------------

TEST_F(BuildStepsTest, SquashGivesOneLayerOverTheBase) {
  Write("Dockerfile",
        "FROM busybox\n"
        "RUN echo a > /a; echo gone > /g\n"
        "RUN rm /g; rm -r /home; echo b > /b\n"
        "ENV X=1\n"
        "RUN mkdir /d && echo c > /d/c\n");
  auto base = Inspect("busybox");
  size_t base_layers = base["ImageConfig"]["rootfs"]["diff_ids"].size();
  auto plain = Build({"-q", "-t", "steps-unsquashed"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(Inspect("steps-unsquashed")["ImageConfig"]["rootfs"]["diff_ids"].size(),
            base_layers + 3);
  auto sq = Build({"-q", "--squash", "-t", "steps-squashed"});
  ASSERT_EQ(sq.exit_code, 0) << sq.err;
  auto info = Inspect("steps-squashed");
  const auto& ids = info["ImageConfig"]["rootfs"]["diff_ids"];
  ASSERT_EQ(ids.size(), base_layers + 1) << info.dump();
  for (size_t i = 0; i < base_layers; ++i) {
    EXPECT_EQ(ids[i], base["ImageConfig"]["rootfs"]["diff_ids"][i]);
  }
  ASSERT_EQ(info["Manifest"]["layers"].size(), base_layers + 1) << info.dump();
  // One non-empty history entry per layer; every step's entry is kept.
  size_t non_empty = 0;
  for (const auto& h : info["ImageConfig"]["history"]) {
    non_empty += h.value("empty_layer", false) ? 0 : 1;
  }
  EXPECT_EQ(non_empty, base_layers + 1) << info.dump();
  // The merged layer has what the steps made, and what they deleted (from the base and
  // from an earlier step) stays deleted.
  auto r = RunBld(root(), {"run", "--rm", "steps-squashed", "sh", "-c",
                           "cat /a /b /d/c; test -e /g && echo g; test -e /home && echo home; "
                           "echo $X"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\nc\n1\n");
}

TEST_F(BuildStepsTest, FormatDockerPushesAV2s2Image) {
  if (!PathExists(testing::kRegistryBinary)) GTEST_SKIP() << "needs docker-registry";
  auto reg = testing::TestRegistry::Start();
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  Write("Dockerfile", "FROM busybox\nRUN echo v2s2 > /p\n");
  EXPECT_EQ(Build({"--format", "bogus"}).exit_code, 2);
  std::string name = (*reg)->host() + "/steps/docker:1";
  auto r = Build({"--format", "docker", "--push", "--tls-verify=false", "-t", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto local = Inspect(name);
  EXPECT_EQ(local["MediaType"], "application/vnd.docker.distribution.manifest.v2+json");
  if (!testing::HaveProgram("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  auto raw = testing::Run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + name});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  auto m = nlohmann::json::parse(raw.out);
  EXPECT_EQ(m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json") << raw.out;
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.docker.container.image.v1+json")
      << raw.out;
  ASSERT_EQ(m["layers"].size(), 2u) << raw.out;
  for (const auto& l : m["layers"]) {
    EXPECT_EQ(l["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip") << raw.out;
  }
  // Uncompressed layers have no v2s2 media type: an error, not an OCI type in a v2s2 manifest.
  auto none = Build({"--format", "docker", "--compression", "none"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("--format docker"), std::string::npos) << none.err;
}

TEST_F(BuildStepsTest, FullyCachedRebuildKeepsTheImageId) {
  Write("a.txt", "a\n");
  Write("Dockerfile", "FROM busybox\nCOPY a.txt /a\nENV X=1\nRUN echo hi > /hi\nLABEL l=1\n");
  auto first = Build({"-q"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  sleep(1);
  auto second = Build({"-q"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Trim(first.out), Trim(second.out));
}

TEST_F(BuildStepsTest, SourceDateEpochSetsTimesAndClampsMtimesAtExport) {
  Write("a.txt", "a\n");
  Write("Dockerfile", "FROM busybox\nCOPY a.txt /a\nRUN touch /new\n");
  auto plain = Build({"-q"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto epoch = Build({"--build-arg", "SOURCE_DATE_EPOCH=1700000000"});
  ASSERT_EQ(epoch.exit_code, 0) << epoch.err;
  EXPECT_EQ(Count(epoch.err, "CACHED"), 2) << epoch.err;
  std::string id = Trim(epoch.out.substr(epoch.out.rfind("sha256:")));
  auto info = Inspect(id);
  EXPECT_EQ(info["ImageConfig"]["created"], "2023-11-14T22:13:20Z");
  auto history = info["ImageConfig"]["history"];
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[history.size() - 1]["created"], "2023-11-14T22:13:20Z");
  auto again = Build({"--source-date-epoch", "1700000000", "-q"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(Trim(again.out), id);
  // The layer's files were clamped: /new (made now) has the epoch's mtime.
  EXPECT_EQ(Trim(RunBld(root(), {"run", "--rm", id, "stat", "-c", "%Y", "/new"}).out),
            "1700000000");
}

// ---- every testdata Dockerfile with its RUNs replaced --------------------------------

TEST_F(BuildStepsTest, EveryCaseWithFailingOrHugeRunsGivesAClearError) {
  std::string cases = testing::SourceDir() + "/testdata/build";
  auto names = ListDir(cases);
  ASSERT_TRUE(names.ok());
  int checked = 0;
  for (const auto& name : *names) {
    if (name.rfind("debian-", 0) == 0) continue;  // another base
    auto text = ReadFile(cases + "/" + name + "/Dockerfile");
    if (!text.ok()) continue;
    // Lines that start a RUN instruction (continuations and heredocs go with them).
    std::vector<std::string> lines;
    size_t i = 0;
    while (i <= text->size()) {
      size_t j = text->find('\n', i);
      if (j == std::string::npos) j = text->size();
      lines.push_back(text->substr(i, j - i));
      i = j + 1;
    }
    bool has_run = false;
    for (const auto& l : lines) has_run = has_run || l.rfind("RUN ", 0) == 0;
    if (!has_run) continue;
    // Cases that fail for another reason, or build another Dockerfile (-f), prove nothing.
    auto spec_text = ReadFile(cases + "/" + name + "/test.json");
    auto spec =
        nlohmann::json::parse(spec_text.ok() ? *spec_text : std::string("{}"), nullptr, false);
    if (!spec.is_object() || spec.contains("error")) continue;
    bool other_file = false;
    for (const auto& a : spec.value("args", nlohmann::json::array())) {
      other_file = other_file || a == "-f" || a == "--file";
    }
    if (other_file) continue;
    for (const std::string& replacement :
         {std::string("RUN false"), "RUN echo " + std::string(200 * 1024, 'z')}) {
      std::string df;
      for (size_t k = 0; k < lines.size(); ++k) {
        const std::string& l = lines[k];
        if (l.rfind("RUN ", 0) == 0) {
          df += replacement + "\n";
          // Drop the rest of a continued RUN and heredoc bodies.
          std::string cur = l;
          std::string heredoc;
          size_t h = cur.find("<<");
          if (h != std::string::npos) {
            heredoc = cur.substr(h + 2);
            if (!heredoc.empty() && heredoc[0] == '-') heredoc = heredoc.substr(1);
            heredoc = heredoc.substr(0, heredoc.find_first_of(" \t\"'"));
            for (char q : {'"', '\''})
              heredoc.erase(std::remove(heredoc.begin(), heredoc.end(), q), heredoc.end());
          }
          while (!heredoc.empty() && k + 1 < lines.size() && lines[k + 1] != heredoc) ++k;
          if (!heredoc.empty()) ++k;
          while (heredoc.empty() && !cur.empty() && cur.back() == '\\' && k + 1 < lines.size()) {
            cur = lines[++k];
          }
          continue;
        }
        df += l + "\n";
      }
      // Run in a copy of the case's context.
      auto dir = TempDir::Create("", "bld-build-steps-case-");
      ASSERT_TRUE(dir.ok());
      ASSERT_EQ(testing::Run({"cp", "-a", cases + "/" + name + "/.", dir->path()}).exit_code, 0);
      ASSERT_TRUE(WriteFileAtomic(dir->path() + "/Dockerfile", df).ok());
      std::vector<std::string> args = {"build", "--progress", "plain"};
      {
        for (const auto& a : spec.value("args", nlohmann::json::array())) {
          std::string s = a.get<std::string>();
          size_t p;
          while ((p = s.find("{dir}")) != std::string::npos) s.replace(p, 5, dir->path());
          while ((p = s.find("{root}")) != std::string::npos) s.replace(p, 6, root());
          args.push_back(s);
        }
      }
      args.push_back(dir->path());
      auto r = RunBld(root(), args);
      EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2)
          << name << " / " << replacement.substr(0, 12) << ": exit " << r.exit_code << "\n"
          << r.err.substr(0, 3000);
      EXPECT_NE(r.err.find("Dockerfile:"), std::string::npos)
          << name << ": " << r.err.substr(0, 3000);
      EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos) << name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace bld
