// End-to-end tests of the store commands: import, images, inspect, tag, rmi,
// prune, save, load — and their interop with skopeo, umoci and oci-image-tool.
#include <gtest/gtest.h>
#include <fcntl.h>

#include <algorithm>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class StoreCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("", "bld-store-cli-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    root_ = dir_->path() + "/root";
  }
  CommandResult Bld(const std::vector<std::string>& args, const std::string& input = "") {
    return RunBld(root_, args, input);
  }
  // A digest of everything in the store, to show a failed command changed nothing.
  std::string StoreState() {
    auto r = bld::testing::Run({"sh", "-c",
                  "cd '" + root_ + "' && find . -path ./lock -prune -o -path ./index.lock -prune "
                  "-o -type f -print | sort | xargs -r sha256sum"});
    return r.out;
  }
  nlohmann::json Inspect(const std::string& name) {
    auto r = Bld({"inspect", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    return j.is_array() && !j.empty() ? j[0] : nlohmann::json();
  }
  std::unique_ptr<TempDir> dir_;
  std::string root_;
};

TEST_F(StoreCliTest, ImportImagesInspect) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  auto images = Bld({"images"});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  EXPECT_NE(images.out.find("docker.io/library/busybox"), std::string::npos) << images.out;
  EXPECT_NE(images.out.find("latest"), std::string::npos);

  // As docker: one JSON object per line.
  auto json = Bld({"images", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0);
  ASSERT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1) << json.out;
  auto row = nlohmann::json::parse(json.out);
  EXPECT_EQ(row["Repository"], "docker.io/library/busybox");
  EXPECT_EQ(row["Tag"], "latest");

  auto j = Inspect("busybox");
  EXPECT_EQ(j["RepoTags"], nlohmann::json::array({"docker.io/library/busybox:latest"}));
  EXPECT_EQ(j["Config"]["Cmd"], nlohmann::json::array({"sh"}));
  EXPECT_EQ(j["Manifest"]["layers"].size(), 1u);
  EXPECT_EQ(j["Manifest"]["layers"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(j["ImageConfig"]["rootfs"]["diff_ids"].size(), 1u);
  // By ID prefix and by full ID.
  std::string id = j["Id"];
  EXPECT_EQ(Inspect(id.substr(7, 12))["Id"], id);
  EXPECT_EQ(Inspect(id)["Id"], id);
}

TEST_F(StoreCliTest, ImportAppliesChanges) {
  std::string tar = BusyboxRootfsTar();
  auto r = Bld({"import", tar, "x", "--change", "ENV A=1 B=\"two words\"", "--change",
                "WORKDIR /srv", "--change", "USER nobody", "--change", "LABEL k=v",
                "--change", "EXPOSE 80 53/udp", "--change", "ENTRYPOINT [\"/bin/echo\"]",
                "--change", "CMD echo hi"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = Inspect("x")["Config"];
  EXPECT_EQ(c["Env"], nlohmann::json::array({"A=1", "B=two words"}));
  EXPECT_EQ(c["WorkingDir"], "/srv");
  EXPECT_EQ(c["User"], "nobody");
  EXPECT_EQ(c["Labels"]["k"], "v");
  EXPECT_TRUE(c["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(c["ExposedPorts"].contains("53/udp"));
  EXPECT_EQ(c["Entrypoint"], nlohmann::json::array({"/bin/echo"}));
  EXPECT_EQ(c["Cmd"], nlohmann::json::array({"/bin/sh", "-c", "echo hi"}));

  auto bad = Bld({"import", tar, "y", "--change", "RUN echo no"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("RUN"), std::string::npos) << bad.err;
}

TEST_F(StoreCliTest, ImportFromStdinAndCompressed) {
  std::string tar = BusyboxRootfsTar();
  auto gz = bld::testing::Run({"sh", "-c", "gzip -c '" + tar + "' > '" + dir_->path() + "/rootfs.tgz'"});
  ASSERT_EQ(gz.exit_code, 0);
  auto data = ReadFile(dir_->path() + "/rootfs.tgz");
  ASSERT_TRUE(data.ok());
  auto r = Bld({"import", "-", "fromstdin"}, *data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto plain = Bld({"import", tar, "plain"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  // The same files give the same layer whatever the input compression.
  EXPECT_EQ(Inspect("fromstdin")["Manifest"]["layers"], Inspect("plain")["Manifest"]["layers"]);
}

TEST_F(StoreCliTest, TagAndRmi) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  ASSERT_EQ(Bld({"tag", "busybox", "localhost:5000/team/bb:1"}).exit_code, 0);
  EXPECT_EQ(Inspect("localhost:5000/team/bb:1")["RepoTags"].size(), 2u);
  auto r = Bld({"rmi", "busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Untagged: docker.io/library/busybox:latest"), std::string::npos);
  EXPECT_EQ(Inspect("localhost:5000/team/bb:1")["RepoTags"].size(), 1u);
  auto blobs_before = ListDir(root_ + "/blobs/sha256");
  ASSERT_TRUE(blobs_before.ok());
  EXPECT_EQ(blobs_before->size(), 3u);  // layer, config, manifest
  ASSERT_EQ(Bld({"rmi", "localhost:5000/team/bb:1"}).exit_code, 0);
  auto blobs_after = ListDir(root_ + "/blobs/sha256");
  ASSERT_TRUE(blobs_after.ok());
  EXPECT_TRUE(blobs_after->empty());
}

TEST_F(StoreCliTest, SkopeoUmociAndOciImageToolReadTheStore) {
  if (!HaveProgram("skopeo") || !HaveProgram("umoci") || !HaveProgram("oci-image-tool")) {
    GTEST_SKIP() << "needs skopeo, umoci and oci-image-tool (apt-get install them)";
  }
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string ref = "docker.io/library/busybox:latest";
  auto inspect = bld::testing::Run({"skopeo", "inspect", "oci:" + root_ + ":" + ref});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(j["Layers"].size(), 1u);
  EXPECT_EQ(j["Os"], "linux");

  std::string bundle = dir_->path() + "/bundle";
  auto unpack = bld::testing::Run({"umoci", "unpack", "--image", root_ + ":" + ref, bundle});
  ASSERT_EQ(unpack.exit_code, 0) << unpack.err;
  EXPECT_TRUE(PathExists(bundle + "/rootfs/bin/busybox"));
  EXPECT_TRUE(PathExists(bundle + "/rootfs/etc/passwd"));

  auto validate = bld::testing::Run({"oci-image-tool", "validate", "--type", "image", "--ref", "name=" + ref, root_});
  EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
}

TEST_F(StoreCliTest, SaveAndLoadBothFormats) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string id = Inspect("busybox")["Id"];
  for (std::string format : {"oci-archive", "docker-archive"}) {
    SCOPED_TRACE(format);
    std::string file = dir_->path() + "/img-" + format + ".tar";
    auto save = Bld({"save", "-o", file, "--format", format, "busybox"});
    ASSERT_EQ(save.exit_code, 0) << save.err;
    std::string other = dir_->path() + "/other-" + format;
    auto load = RunBld(other, {"load", "-i", file});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    auto r = RunBld(other, {"inspect", "busybox"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out)[0];
    EXPECT_EQ(j["Config"]["Cmd"], nlohmann::json::array({"sh"}));
    EXPECT_EQ(j["ImageConfig"]["rootfs"], Inspect("busybox")["ImageConfig"]["rootfs"]);
    if (format == "oci-archive") EXPECT_EQ(j["Id"], id);
  }
  // Save to stdout, load from stdin.
  auto save = Bld({"save", "busybox"});
  ASSERT_EQ(save.exit_code, 0);
  auto load = RunBld(dir_->path() + "/stdin", {"load"}, save.out);
  EXPECT_EQ(load.exit_code, 0) << load.err;
}

TEST_F(StoreCliTest, SkopeoReadsSavedArchivesAndWritesLoadableOnes) {
  if (!HaveProgram("skopeo")) GTEST_SKIP() << "needs skopeo";
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string oci_tar = dir_->path() + "/a.tar", docker_tar = dir_->path() + "/d.tar";
  ASSERT_EQ(Bld({"save", "-o", oci_tar, "--format", "oci-archive", "busybox"}).exit_code, 0);
  ASSERT_EQ(Bld({"save", "-o", docker_tar, "--format", "docker-archive", "busybox"}).exit_code, 0);
  auto copy = bld::testing::Run({"skopeo", "copy", "oci-archive:" + oci_tar,
                   "oci:" + dir_->path() + "/skopeo-layout:bb"});
  EXPECT_EQ(copy.exit_code, 0) << copy.err;
  auto di = bld::testing::Run({"skopeo", "inspect", "docker-archive:" + docker_tar});
  EXPECT_EQ(di.exit_code, 0) << di.err;

  std::string src = "oci:" + root_ + ":docker.io/library/busybox:latest";
  std::string s_oci = dir_->path() + "/s-oci.tar", s_docker = dir_->path() + "/s-docker.tar";
  ASSERT_EQ(bld::testing::Run({"skopeo", "copy", src, "oci-archive:" + s_oci + ":sk/oci:1"}).exit_code, 0);
  ASSERT_EQ(bld::testing::Run({"skopeo", "copy", src, "docker-archive:" + s_docker + ":sk/docker:1"}).exit_code,
            0);
  std::string other = dir_->path() + "/other";
  auto l1 = RunBld(other, {"load", "-i", s_oci});
  EXPECT_EQ(l1.exit_code, 0) << l1.err;
  auto l2 = RunBld(other, {"load", "-i", s_docker});
  EXPECT_EQ(l2.exit_code, 0) << l2.err;
  EXPECT_EQ(RunBld(other, {"inspect", "sk/docker:1"}).exit_code, 0);
}

TEST_F(StoreCliTest, BadInputGivesOneLineErrorAndLeavesStoreUnchanged) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string before = StoreState();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string needle;
  };
  std::string truncated = dir_->path() + "/truncated.tar";
  ASSERT_EQ(Bld({"save", "-o", dir_->path() + "/full.tar", "busybox"}).exit_code, 0);
  ASSERT_EQ(bld::testing::Run({"sh", "-c", "head -c 300000 '" + dir_->path() + "/full.tar' > '" + truncated +
                                 "'"}).exit_code, 0);
  std::string escaping = dir_->path() + "/escape.tar";
  ASSERT_EQ(bld::testing::Run({"sh", "-c", "cd '" + dir_->path() + "' && mkdir -p e/sub && echo x > e/evil && "
                             "tar -C e/sub -cf '" + escaping + "' -P ../evil"}).exit_code, 0);
  std::vector<Case> cases = {
      {{"inspect", "Upper/Case"}, 2, "Upper/Case"},
      {{"inspect", "nosuchimage"}, 1, "nosuchimage"},
      {{"tag", "nosuchimage", "x"}, 1, "nosuchimage"},
      {{"load", "-i", truncated}, 1, "truncated"},
      {{"load", "-i", escaping}, 1, "../evil"},
      {{"import", escaping, "esc"}, 1, "../evil"},
      {{"import", dir_->path() + "/missing.tar", "m"}, 1, "missing.tar"},
  };
  for (const auto& c : cases) {
    auto r = Bld(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(StoreState(), before) << "store changed by " << c.args[0];
  }
}

TEST_F(StoreCliTest, CorruptBlobIsReported) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string id = Inspect("busybox")["Id"];
  std::string path = root_ + "/blobs/sha256/" + id.substr(7);
  ASSERT_TRUE(WriteFileAtomic(path, "{\"garbage\": true}").ok());
  auto r = Bld({"inspect", "busybox"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(id), std::string::npos) << r.err;
  auto s = Bld({"save", "-o", dir_->path() + "/x.tar", "busybox"});
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("corrupt"), std::string::npos) << s.err;
}

TEST_F(StoreCliTest, ConcurrentImportAndTagLoseNothing) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string tar = BusyboxRootfsTar();
  std::vector<pid_t> pids;
  for (int p = 0; p < 8; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string bld = BldBinary();
      std::string cmd = "set -e; ";
      for (int t = 0; t < 3; ++t) {
        std::string n = "p" + std::to_string(p) + "/t" + std::to_string(t);
        cmd += "'" + bld + "' --root '" + root_ + "' tag busybox " + n + "; ";
      }
      cmd += "'" + bld + "' --root '" + root_ + "' import '" + tar + "' imp" + std::to_string(p);
      execlp("sh", "sh", "-c", cmd.c_str(), nullptr);
      _exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto json = Bld({"images", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1 + 8 * 3 + 8) << json.out;
}

TEST_F(StoreCliTest, KilledImportLeavesUsableStore) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  // A slow, endless input: bld import is mid-write when it is killed.
  std::string fifo = dir_->path() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(BldBinary().c_str(), "bld", "--root", root_.c_str(), "import", fifo.c_str(), "killed",
          nullptr);
    _exit(127);
  }
  // Half the tar, then silence: bld is blocked mid-layer when it is killed.
  std::string tar = BusyboxRootfsTar();
  std::thread feeder([fifo, tar] {
    auto r = bld::testing::Run({"sh", "-c", "{ head -c 1000000 '" + tar + "'; sleep 3; } > '" + fifo + "'"});
    (void)r;
  });
  // Wait until the ingest file exists and has data.
  bool writing = false;
  for (int i = 0; i < 200 && !writing; ++i) {
    auto names = ListDir(root_ + "/ingest");
    if (names.ok() && !names->empty()) writing = true;
    else usleep(20000);
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  feeder.join();
  ASSERT_TRUE(writing) << "import never started writing";
  EXPECT_EQ(Bld({"images"}).exit_code, 0);
  EXPECT_EQ(Bld({"inspect", "busybox"}).exit_code, 0);
  EXPECT_NE(Bld({"inspect", "killed"}).exit_code, 0);
  ASSERT_TRUE(ImportBusybox(root_, "again"));
  auto prune = Bld({"prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  auto ingests = ListDir(root_ + "/ingest");
  ASSERT_TRUE(ingests.ok());
  EXPECT_TRUE(ingests->empty());
  EXPECT_EQ(Bld({"inspect", "again"}).exit_code, 0);
}

// Snapshots by kind in the store: "active", "view", "committed".
int CountSnapshots(const std::string& root, const std::string& kind) {
  auto r = bld::testing::Run({"sh", "-c", "cat '" + root + "'/snapshots/*/meta.json 2>/dev/null "
                              "| grep -o '\"kind\":\"" + kind + "\"' | wc -l"});
  return std::atoi(r.out.c_str());
}

TEST_F(StoreCliTest, PruneCollectsSnapshotsByReachability) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM busybox\nRUN echo one > /one\n").ok());
  auto built = Bld({"build", "-t", "one", ctx});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  int committed = CountSnapshots(root_, "committed");
  ASSERT_GE(committed, 2);  // busybox's layer and the RUN's

  // A build killed in the middle of its RUN leaves its active snapshot behind.
  std::string slow = dir_->path() + "/slow";
  ASSERT_TRUE(MkdirAll(slow, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(slow + "/Dockerfile", "FROM busybox\nRUN touch /started; sleep 30\n").ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(BldBinary().c_str(), "bld", "--root", root_.c_str(), "build", "-t", "slow",
          slow.c_str(), nullptr);
    _exit(127);
  }
  bool active = false;
  for (int i = 0; i < 500 && !active; ++i) {
    active = CountSnapshots(root_, "active") > 0;
    if (!active) usleep(20000);
  }
  usleep(300000);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(active) << "the slow build never prepared its snapshot";
  ASSERT_GE(CountSnapshots(root_, "active"), 1);

  // prune: the killed build's snapshot goes, the images' snapshots stay.
  auto prune = Bld({"prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_NE(prune.out.find(" snapshots"), std::string::npos) << prune.out;
  EXPECT_EQ(CountSnapshots(root_, "active"), 0);
  EXPECT_EQ(CountSnapshots(root_, "committed"), committed);
  auto run = Bld({"run", "--rm", "one", "cat", "/one"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "one\n");

  // rmi of everything, prune -a: no snapshot and no blob is left.
  ASSERT_EQ(Bld({"rmi", "one", "busybox"}).exit_code, 0);
  prune = Bld({"prune", "-a"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(CountSnapshots(root_, "committed") + CountSnapshots(root_, "active") +
                CountSnapshots(root_, "view"),
            0)
      << prune.out;
  auto left = bld::testing::Run({"sh", "-c", "cd '" + root_ + "' && ls snapshots; "
                                 "find blobs -type f"});
  EXPECT_EQ(left.out, "") << "left in the store:\n" << left.out;
}

// A build killed inside WriteFileAtomic leaves "<record>.json.tmp-<random>" in the cache: it
// is never read as a record, so the blob it names is not kept — prune removes the file too,
// or it would name an absent blob (seen after the kill test: 61 named, 59 there).
TEST_F(StoreCliTest, PruneRemovesHalfWrittenCacheRecords) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM busybox\nRUN echo one > /one\n").ok());
  auto built = Bld({"build", "-t", "one", ctx});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto records = ListDir(root_ + "/cache/records");
  ASSERT_TRUE(records.ok() && records->size() == 1) << (records.ok() ? records->size() : 0);
  std::string record = root_ + "/cache/records/" + (*records)[0];
  auto text = ReadFile(record);
  ASSERT_TRUE(text.ok());
  std::string stale = record + ".tmp-0123456789abcdef";
  ASSERT_TRUE(WriteFileAtomic(stale, *text).ok());
  ASSERT_TRUE(WriteFileAtomic(root_ + "/cache/explain/x.json.tmp-0123456789abcdef", "{").ok());
  auto prune = Bld({"prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_FALSE(PathExists(stale));
  EXPECT_FALSE(PathExists(root_ + "/cache/explain/x.json.tmp-0123456789abcdef"));
  EXPECT_TRUE(PathExists(record)) << "the real record goes only with prune -a";
  auto again = Bld({"build", "--progress", "plain", "-t", "one", ctx});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("CACHED"), std::string::npos) << again.err;
}

// Acceptance 3 of issue 11: `bld build` SIGKILLed at 50 random moments of a multi-step
// build, then `bld prune`: no orphaned snapshot or blob (checked here from the store's
// files, not through bld's own gc), every blob matching its digest, the store usable.
TEST_F(StoreCliTest, KilledBuildsLeaveNoOrphansAfterPrune) {
  ASSERT_TRUE(ImportBusybox(root_, "busybox"));
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/a.txt", std::string(200000, 'a')).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/b.txt", "b\n").ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile",
                              "FROM busybox\n"
                              "COPY a.txt /a.txt\n"
                              "RUN dd if=/dev/urandom of=/r1 bs=64k count=32 2>/dev/null\n"
                              "RUN echo two > /two && rm /a.txt\n"
                              "COPY b.txt /b.txt\n"
                              "RUN dd if=/dev/urandom of=/r2 bs=64k count=16 2>/dev/null\n"
                              "ENV X=1\n")
                  .ok());
  auto now = [] { return std::chrono::steady_clock::now(); };
  // The duration of the build the loop repeats (base already unpacked) on this machine, to
  // spread the kills over it: the first build also unpacks the base and is slower.
  auto warm = Bld({"build", "--no-cache", "-t", "k", ctx});
  ASSERT_EQ(warm.exit_code, 0) << warm.err;
  auto t0 = now();
  auto first = Bld({"build", "--no-cache", "-t", "k", ctx});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto duration_us = std::chrono::duration_cast<std::chrono::microseconds>(now() - t0).count();

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<long> when(0, duration_us);
  // 50 kills; a build that beats its kill (the machine's load varies) does not count.
  int killed = 0, finished = 0;
  for (int i = 0; killed < 50 && i < 100; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(BldBinary().c_str(), "bld", "--root", root_.c_str(), "build", "--no-cache", "-t", "k",
            ctx.c_str(), nullptr);
      _exit(127);
    }
    usleep(static_cast<useconds_t>(when(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
      ++finished;
    }
  }
  auto prune = Bld({"prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;

  // Reachable blobs: index.json's manifests (and indexes), their configs and layers, and
  // the build cache records' layers. Reachable snapshots: the images' layer chain IDs.
  std::set<std::string> blobs_reachable, snapshots_reachable;
  auto blob = [&](const std::string& digest) {
    auto data = ReadFile(root_ + "/blobs/sha256/" + digest.substr(7));
    EXPECT_TRUE(data.ok()) << "missing blob " << digest;
    return data.ok() ? nlohmann::json::parse(*data, nullptr, false) : nlohmann::json();
  };
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& desc) {
    std::string d = desc.value("digest", "");
    if (!blobs_reachable.insert(d).second) return;
    auto j = blob(d);
    if (j.contains("manifests")) {
      for (const auto& m : j["manifests"]) walk(m);
      return;
    }
    std::string config = j["config"]["digest"];
    blobs_reachable.insert(config);
    for (const auto& l : j["layers"]) blobs_reachable.insert(l["digest"].get<std::string>());
    std::vector<oci::Digest> ids;
    auto config_json = blob(config);
    for (const auto& id : config_json["rootfs"]["diff_ids"]) {
      auto parsed = oci::Digest::Parse(id.get<std::string>());
      ASSERT_TRUE(parsed.ok());
      ids.push_back(*parsed);
      snapshots_reachable.insert(oci::ChainId(ids).str());
    }
  };
  auto index = ReadFile(root_ + "/index.json");
  ASSERT_TRUE(index.ok());
  auto index_json = nlohmann::json::parse(*index);
  for (const auto& m : index_json["manifests"]) walk(m);
  auto records = ListDir(root_ + "/cache/records");
  for (const auto& n : records.ok() ? *records : std::vector<std::string>{}) {
    auto r = ReadFile(root_ + "/cache/records/" + n);
    ASSERT_TRUE(r.ok());
    auto j = nlohmann::json::parse(*r, nullptr, false);
    // A killed build's half-written record (WriteFileAtomic's temp) is gone after prune.
    EXPECT_TRUE(n.ends_with(".json") && n.find(".tmp-") == std::string::npos)
        << "left in cache/records: " << n << ": " << *r;
    if (j.is_object() && j["layer"].is_object()) {
      std::string layer = j["layer"]["digest"];
      blobs_reachable.insert(layer);
      // Every cache record names a blob that is there.
      EXPECT_TRUE(PathExists(root_ + "/blobs/sha256/" + layer.substr(7)))
          << "cache record " << n << " names the absent blob " << layer;
    }
  }

  // Every blob is reachable and matches its digest.
  auto blobs = ListDir(root_ + "/blobs/sha256");
  ASSERT_TRUE(blobs.ok());
  for (const auto& n : *blobs) {
    EXPECT_EQ(blobs_reachable.count("sha256:" + n), 1u) << "orphaned blob " << n;
    auto data = ReadFile(root_ + "/blobs/sha256/" + n);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(oci::Digest::Of(*data).hex(), n) << "blob does not match its digest";
  }
  // Every snapshot directory is a committed snapshot of an image (or its parent chain,
  // which is the chain of the same image); nothing half-made is left.
  auto snapshots = ListDir(root_ + "/snapshots");
  ASSERT_TRUE(snapshots.ok());
  int snapshot_count = 0;
  for (const auto& n : *snapshots) {
    if (n == ".overlay-probed") continue;  // the snapshotter's marker, not a snapshot
    auto meta = ReadFile(root_ + "/snapshots/" + n + "/meta.json");
    ASSERT_TRUE(meta.ok()) << "snapshots/" << n << " is not a snapshot";
    auto j = nlohmann::json::parse(*meta, nullptr, false);
    EXPECT_EQ(j.value("kind", ""), "committed") << n << ": " << *meta;
    EXPECT_EQ(snapshots_reachable.count(j.value("name", "")), 1u) << "orphaned snapshot " << n
                                                                   << ": " << *meta;
    ++snapshot_count;
  }
  auto ingests = ListDir(root_ + "/ingest");
  EXPECT_TRUE(!ingests.ok() || ingests->empty());
  // No killed build left a mount behind in this namespace.
  auto mounts = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->find(root_), std::string::npos) << *mounts;
  std::printf("kill test: %d killed, %d finished (build %.2f s); prune: %s"
              "store after prune: %zu blobs (%zu reachable), %d snapshots (%zu reachable)\n",
              killed, finished, duration_us / 1e6, prune.out.c_str(), blobs->size(),
              blobs_reachable.size(), snapshot_count, snapshots_reachable.size());
  EXPECT_EQ(killed, 50);

  // The store still builds and runs.
  auto again = Bld({"build", "-t", "k", ctx});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto run = Bld({"run", "--rm", "k", "cat", "/two", "/b.txt"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "two\nb\n");
}

// A store on a small tmpfs (a private mount namespace: nothing outside sees it). A RUN
// that fills the disk, then the layer that does not fit: a clear error naming the path,
// exit 1, a store that still works, and `bld prune` gives the space back.
TEST_F(StoreCliTest, FullDiskIsAClearErrorAndPruneReturnsTheSpace) {
  if (geteuid() != 0 || !HaveProgram("unshare")) GTEST_SKIP() << "needs root and unshare(1)";
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile",
                              "FROM busybox\n"
                              "RUN dd if=/dev/urandom of=/big bs=1M count=200 2>/dev/null; "
                              "ls -l /big\n")
                  .ok());
  ASSERT_TRUE(MkdirAll(root_, 0700).ok());
  std::string bld = BldBinary();
  std::string script =
      "set -u; mount -t tmpfs -o size=40m tmpfs '" + root_ + "' || exit 99; "
      "b() { '" + bld + "' --root '" + root_ + "' \"$@\"; }; "
      "used() { df -k --output=used '" + root_ + "' | tail -1 | tr -d ' '; }; "
      "b import '" + BusyboxRootfsTar() + "' busybox >/dev/null || exit 98; "
      // Unpacked once first: busybox's snapshot is reachable and stays.
      "b run --rm busybox true || exit 97; before=$(used); "
      "b build --progress plain '" + ctx + "' 2>&1; echo \"build-rc=$?\"; "
      "b images >/dev/null; echo \"images-rc=$?\"; "
      "full=$(used); b prune; echo \"prune-rc=$?\"; after=$(used); "
      "echo \"before=$before full=$full after=$after\"; "
      "b run --rm busybox echo still-runs";
  auto r = bld::testing::Run({"unshare", "-m", "--propagation", "private", "sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("build-rc=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(root_), std::string::npos) << "the error names no path: " << r.out;
  EXPECT_NE(r.out.find("images-rc=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prune-rc=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("still-runs\n"), std::string::npos) << r.out;
  long before = 0, full = 0, after = 0;
  auto at = r.out.find("before=");
  ASSERT_NE(at, std::string::npos) << r.out;
  ASSERT_EQ(std::sscanf(r.out.c_str() + at, "before=%ld full=%ld after=%ld", &before, &full, &after), 3);
  // Whatever the failed build left is gone after prune (1 MiB slack for metadata).
  EXPECT_LE(after, before + 1024) << r.out;
}

// The other out-of-space paths of issue 11, each on a fresh 40 MiB tmpfs store in a private
// mount namespace: `setup` runs first, then `failing` must fail with exit 1 and an error
// that says "No space left on device" and names a path in the store; `bld images` still
// works, `bld prune` gives back all the failed command wrote, and the store still runs.
class FullDiskTest : public StoreCliTest {
 protected:
  void ExpectCleanFailure(const std::string& setup, const std::string& failing) {
    if (geteuid() != 0 || !HaveProgram("unshare")) GTEST_SKIP() << "needs root and unshare(1)";
    ASSERT_TRUE(MkdirAll(root_, 0700).ok());
    std::string bld = BldBinary();
    // clang-format off
    std::string script =
        "set -u; mount -t tmpfs -o size=40m tmpfs '" + root_ + "' || exit 99; "
        "b() { '" + bld + "' --root '" + root_ + "' \"$@\"; }; "
        "used() { df -k --output=used '" + root_ + "' | tail -1 | tr -d ' '; }; "
        "b import '" + BusyboxRootfsTar() + "' busybox >/dev/null || exit 98; "
        "b run --rm busybox true || exit 97; " + setup + " || exit 96; before=$(used); " +
        failing + " 2>&1; echo \"failed-rc=$?\"; "
        "b images >/dev/null; echo \"images-rc=$?\"; "
        "b prune; echo \"prune-rc=$?\"; after=$(used); "
        "echo \"before=$before after=$after\"; "
        "b run --rm busybox echo still-runs";
    // clang-format on
    auto r = bld::testing::Run({"unshare", "-m", "--propagation", "private", "sh", "-c", script});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("failed-rc=1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(root_ + "/"), std::string::npos) << "the error names no path: " << r.out;
    EXPECT_NE(r.out.find("images-rc=0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("prune-rc=0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("still-runs\n"), std::string::npos) << r.out;
    long before = 0, after = 0;
    auto at = r.out.find("before=");
    ASSERT_NE(at, std::string::npos) << r.out;
    ASSERT_EQ(std::sscanf(r.out.c_str() + at, "before=%ld after=%ld", &before, &after), 2);
    EXPECT_LE(after, before + 1024) << r.out;  // 1 MiB slack for metadata
  }
  // A file of `mib` MiB of random bytes (incompressible) in dir_, and a tar of it.
  std::string RandomTar(const std::string& name, int mib) {
    std::string d = dir_->path() + "/" + name;
    auto r = bld::testing::Run({"sh", "-c",
                                "mkdir -p '" + d + "' && head -c " + std::to_string(mib) +
                                    "M /dev/urandom > '" + d + "/big' && tar -C '" + d + "' -cf '" +
                                    d + ".tar' big"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return d + ".tar";
  }
};

// A blob that does not fit: the ingest write fails, the ingest file goes.
TEST_F(FullDiskTest, BlobCommit) {
  std::string tar = RandomTar("b", 50);
  ExpectCleanFailure("true", "b import '" + tar + "' toobig");
}

// COPY of a file bigger than the free space into the step's snapshot.
TEST_F(FullDiskTest, CopyOfABigFile) {
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  RandomTar("ctx", 50);  // ctx/big
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM busybox\nCOPY big /big\n").ok());
  ExpectCleanFailure("true", "b build --progress plain '" + ctx + "'");
}

// A base image whose layer fits as a blob but not unpacked beside it.
TEST_F(FullDiskTest, ApplyOfABaseTooBig) {
  std::string tar = RandomTar("base", 22);
  std::string ctx = dir_->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(ctx, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM big\nRUN true\n").ok());
  ExpectCleanFailure("b import '" + tar + "' big >/dev/null",
                     "b build --progress plain '" + ctx + "'");
}

}  // namespace
}  // namespace bld::testing
