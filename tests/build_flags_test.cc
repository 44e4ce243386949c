// `bld build` flags beyond the Dockerfile: outputs, stdin Dockerfile and
// context, --iidfile, progress formats, ADD from a URL (a python3 http.server
// on 127.0.0.1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/child_process.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/digest.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : "<" + r.error().message() + ">";
}

class BuildFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
    auto d = TempDir::Create("", "bld-build-flags-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    root_ = tmp_->path() + "/store";
    ctx_ = tmp_->path() + "/ctx";
    ASSERT_TRUE(MkdirAll(ctx_).ok());
    ASSERT_TRUE(testing::ImportBusybox(root_));
  }
  void Write(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(MkdirAll(Dirname(ctx_ + "/" + rel)).ok());
    ASSERT_TRUE(WriteFileAtomic(ctx_ + "/" + rel, data).ok());
  }
  std::unique_ptr<TempDir> tmp_;
  std::string root_, ctx_;
};

TEST_F(BuildFlagsTest, OutputsIidfileAndTags) {
  Write("Dockerfile", "FROM busybox\nCOPY f.txt /f.txt\nRUN echo built > /built\n");
  Write("f.txt", "f\n");
  std::string oci = tmp_->path() + "/img.oci.tar", docker = tmp_->path() + "/img.docker.tar";
  std::string local = tmp_->path() + "/rootfs", iid = tmp_->path() + "/iid";
  auto r = RunBld(root_, {"build", "-q", "-t", "one", "-t", "two:v2", "--iidfile", iid, "--output",
                          "type=oci,dest=" + oci, "--output", "type=docker,dest=" + docker,
                          "--output", "type=local,dest=" + local, "--compression", "zstd", ctx_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q: nothing but the ID
  EXPECT_EQ(Slurp(iid), Trim(r.out));
  EXPECT_EQ(Slurp(local + "/built"), "built\n");
  EXPECT_EQ(Slurp(local + "/f.txt"), "f\n");
  EXPECT_TRUE(PathExists(local + "/bin/busybox"));
  auto list = testing::Run({"tar", "tf", oci});
  EXPECT_NE(list.out.find("index.json"), std::string::npos) << list.out;
  list = testing::Run({"tar", "tf", docker});
  EXPECT_NE(list.out.find("manifest.json"), std::string::npos) << list.out;
  auto images = RunBld(root_, {"images"});
  EXPECT_NE(images.out.find("two"), std::string::npos) << images.out;
  auto in = nlohmann::json::parse(RunBld(root_, {"inspect", "one"}).out)[0];
  EXPECT_EQ(in["Id"], Trim(r.out));
  EXPECT_EQ(in["Manifest"]["layers"][1]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd");
}

TEST_F(BuildFlagsTest, DockerfileAndContextFromStdin) {
  Write("f.txt", "from context\n");
  auto r = RunBld(root_, {"build", "-q", "-f", "-", "-t", "stdin-df", ctx_},
                  "FROM busybox\nCOPY f.txt /f\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "stdin-df", "cat", "/f"}).out, "from context\n");

  Write("Dockerfile", "FROM busybox\nCOPY f.txt /g\n");
  auto tar = testing::Run({"tar", "-C", ctx_, "-cf", "-", "."});
  ASSERT_EQ(tar.exit_code, 0);
  r = RunBld(root_, {"build", "-q", "-t", "stdin-ctx", "-"}, tar.out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "stdin-ctx", "cat", "/g"}).out, "from context\n");

  // A lone Dockerfile on stdin: an empty context.
  r = RunBld(root_, {"build", "-q", "-t", "stdin-only", "-"}, "FROM busybox\nRUN echo x > /x\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(BuildFlagsTest, JsonProgressIsOneObjectPerLine) {
  Write("Dockerfile", "FROM busybox\nRUN echo out-line\n");
  auto r = RunBld(root_, {"build", "--progress", "json", ctx_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.err);
  std::string line;
  bool saw_output = false;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j["event"] == "output" && j["line"] == "out-line") saw_output = true;
  }
  EXPECT_TRUE(saw_output) << r.err;
}

TEST_F(BuildFlagsTest, LabelWithoutValueAndBuildArgFromEnvironment) {
  Write("Dockerfile", "FROM busybox\nARG FROMENV\nRUN echo \"$FROMENV\" > /a\n");
  ASSERT_EQ(setenv("FROMENV", "env-value", 1), 0);
  auto r = RunBld(root_, {"build", "-q", "-t", "lbl", "--label", "flag", "--label", "k=v",
                          "--build-arg", "FROMENV", ctx_});
  unsetenv("FROMENV");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto in = nlohmann::json::parse(RunBld(root_, {"inspect", "lbl"}).out)[0];
  auto labels = in["Config"]["Labels"];
  EXPECT_EQ(labels["flag"], "") << in.dump();
  EXPECT_EQ(labels["k"], "v") << in.dump();
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "lbl", "cat", "/a"}).out, "env-value\n");
  EXPECT_EQ(RunBld(root_, {"build", "--label", "=v", ctx_}).exit_code, 2);
}

TEST_F(BuildFlagsTest, ContainerfileAndContainerignoreDefaults) {
  Write("Containerfile", "FROM busybox\nCOPY . /c/\n");
  Write("keep", "k\n");
  Write("drop", "d\n");
  Write(".containerignore", "drop\n");
  auto r = RunBld(root_, {"build", "-q", "-t", "cf", ctx_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "cf", "cat", "/c/keep"}).out, "k\n");
  EXPECT_NE(RunBld(root_, {"run", "--rm", "cf", "cat", "/c/drop"}).exit_code, 0);
  ASSERT_TRUE(RemoveAll(ctx_ + "/Containerfile").ok());
  Write("dockerfile", "FROM busybox\nRUN echo lower > /l\n");
  r = RunBld(root_, {"build", "-q", "-t", "lower", ctx_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "lower", "cat", "/l"}).out, "lower\n");
}

TEST_F(BuildFlagsTest, UnsupportedValuesAreErrors) {
  Write("Dockerfile", "FROM busybox\n");
  EXPECT_EQ(RunBld(root_, {"build", "--compression", "lz4", ctx_}).exit_code, 2);
  EXPECT_EQ(RunBld(root_, {"build", "--network", "bridge", ctx_}).exit_code, 2);
  EXPECT_EQ(RunBld(root_, {"build", "--progress", "fancy", ctx_}).exit_code, 2);
  EXPECT_EQ(RunBld(root_, {"build", "--output", "type=tarball,dest=x", ctx_}).exit_code, 2);
  // docker's/buildah's names for bld's fixed behaviour: accepted; =false cannot be honoured.
  EXPECT_EQ(RunBld(root_, {"build", "-q", "--rm", "--force-rm", "--layers", ctx_}).exit_code, 0);
  for (const char* flag : {"--rm=false", "--force-rm=false", "--layers=false"}) {
    auto bad = RunBld(root_, {"build", flag, ctx_});
    EXPECT_EQ(bad.exit_code, 2) << flag;
    EXPECT_NE(bad.err.find(std::string(flag)), std::string::npos) << bad.err;
  }
  auto r = RunBld(root_, {"build", "--platform", "linux/s390x", ctx_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("only the host platform"), std::string::npos) << r.err;
  Write("Dockerfile", "FROM busybox\nRUN --mount=type=ssh true\n");
  r = RunBld(root_, {"build", ctx_});
  EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
}

TEST_F(BuildFlagsTest, AddFromUrlWithChecksum) {
  if (!testing::HaveProgram("python3")) GTEST_SKIP() << "needs python3 for an HTTP server";
  std::string www = tmp_->path() + "/www";
  ASSERT_TRUE(MkdirAll(www).ok());
  ASSERT_TRUE(WriteFileAtomic(www + "/payload.txt", "downloaded\n").ok());
  // Port 0 would be better, but http.server prints the port only on stdout; pick one by pid.
  int port = 20000 + getpid() % 20000;
  SpawnOptions so;
  so.cwd = www;
  UniqueFd devnull(open("/dev/null", O_WRONLY | O_CLOEXEC));
  so.stdout_fd = devnull.get();
  so.stderr_fd = devnull.get();
  auto server = ChildProcess::Spawn(
      {"python3", "-m", "http.server", "--bind", "127.0.0.1", std::to_string(port)}, so);
  ASSERT_TRUE(server.ok());
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/payload.txt";
  for (int i = 0; i < 50; ++i) {
    auto probe = RunCommand({"busybox", "wget", "-q", "-O", "/dev/null", url});
    if (probe.ok() && probe->exit_code == 0) break;
    usleep(100000);
  }
  std::string sum = oci::Digest::Of("downloaded\n").str();
  Write("Dockerfile", "FROM busybox\nADD --checksum=" + sum + " " + url + " /dl/\nADD " + url +
                          " /renamed.txt\n");
  auto r = RunBld(root_, {"build", "-q", "-t", "url", ctx_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "url", "cat", "/dl/payload.txt", "/renamed.txt"}).out,
            "downloaded\ndownloaded\n");
  EXPECT_EQ(RunBld(root_, {"run", "--rm", "url", "stat", "-c", "%a", "/renamed.txt"}).out, "600\n");
  Write("Dockerfile",
        "FROM busybox\nADD --checksum=sha256:" + std::string(64, '0') + " " + url + " /x\n");
  r = RunBld(root_, {"build", "-q", ctx_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  (void)server->Kill(SIGTERM);
  (void)server->Wait();
}

}  // namespace
}  // namespace bld
