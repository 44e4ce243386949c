// Differential check against a peer: cases from testdata/build/ built by both
// `bld build` and `buildah build --layers` (overlay storage in a temporary
// root, chroot isolation, the same busybox base pulled from bld's store, which
// is an OCI layout), then the config fields (Env, Cmd, Entrypoint, WorkingDir,
// User, ExposedPorts, Volumes, Labels, StopSignal) and the root filesystems
// (paths, types, modes, owners, contents, link targets; not timestamps) are
// compared. Known, explained differences are listed in kIgnoredPaths /
// kIgnoredLabels.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/digest.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

// Buildah stamps its version into every image.
const char* const kIgnoredLabels[] = {"io.buildah.version"};
// Mount points buildah's RUN leaves in the image as empty 0755 files when they were
// missing (bld removes the stubs its runner created for the container's sake).
// Likewise /run, which buildah 1.28 creates for every RUN.
const char* const kIgnoredPaths[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/run"};

// Differences where bld follows Docker/BuildKit and buildah 1.28 does not:
//  - workdir: BuildKit creates a WORKDIR's directory (owned by USER) even when no later step
//    runs; buildah creates it only for a later RUN.
//  - shell-forms: Docker runs shell-form CMD/ENTRYPOINT through SHELL; buildah uses /bin/sh -c.
//  - healthcheck-expose: Docker expands EXPOSE 8000-8002 into three ports; buildah keeps the
//    range as one key.
//  - scratch: BuildKit's empty image has WorkingDir "/" (dockerfile2llb emptyImage);
//    buildah leaves it unset.
//  - user-groups: the same WORKDIR rule (BuildKit: Mkdir WithParents WithUser(USER), so
//    /work and /work/app are USER app:dev's, 1500:1600), and /ids/workdir records it. Every
//    id/group/HOME line of USER in its forms agrees with buildah.
//  - add-archive-chown: Docker applies ADD --chown to the files extracted from a local
//    archive (issue 12); buildah 1.28 chowns only the destination directory.
//  - add-merged-usr: Docker keeps an image's symlink-to-directory when a tar has a directory
//    entry of that name (merged-/usr: lib -> usr/lib) and writes below its target; buildah
//    1.28 replaces the link with a directory.
struct KnownDifference {
  const char* test_case;
  const char* config_key;  // or nullptr
  const char* path;        // or nullptr
};
const KnownDifference kKnown[] = {
    {"workdir", nullptr, "/home/daemon-owned"},
    {"shell-forms", "Cmd", nullptr},
    {"healthcheck-expose", "ExposedPorts", nullptr},
    {"scratch", "WorkingDir", nullptr},
    {"user-groups", nullptr, "/work"},
    {"user-groups", nullptr, "/work/app"},
    {"user-groups", nullptr, "/ids/workdir"},
    {"add-archive-chown", nullptr, "/out/pkg"},
    {"add-archive-chown", nullptr, "/out/pkg/file.txt"},
    {"add-merged-usr", nullptr, "/mlib"},
    {"add-merged-usr", nullptr, "/mlib/h"},
    {"add-merged-usr", nullptr, "/mlib/sub"},
    {"add-merged-usr", nullptr, "/mlib/sub/y.txt"},
    {"add-merged-usr", nullptr, "/mlib/x.txt"},
    {"add-merged-usr", nullptr, "/usr/mlib/h"},
    {"add-merged-usr", nullptr, "/usr/mlib/sub"},
    {"add-merged-usr", nullptr, "/usr/mlib/sub/y.txt"},
    {"add-merged-usr", nullptr, "/usr/mlib/x.txt"},
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "path type mode uid:gid detail" for every entry below `root`, sorted.
std::map<std::string, std::string> Listing(const std::string& root) {
  std::map<std::string, std::string> out;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    auto names = ListDir(root + rel);
    if (!names.ok()) return;
    for (const auto& n : *names) {
      std::string p = rel + "/" + n;
      struct stat st;
      if (lstat((root + p).c_str(), &st) != 0) continue;
      char head[64];
      std::snprintf(head, sizeof(head), "%o %u:%u", st.st_mode, st.st_uid, st.st_gid);
      std::string detail;
      if (S_ISREG(st.st_mode)) {
        auto data = ReadFile(root + p);
        detail = data.ok() ? oci::Digest::Of(*data).Short() : "unreadable";
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t k = readlink((root + p).c_str(), buf, sizeof(buf));
        detail = "-> " + std::string(buf, k > 0 ? static_cast<size_t>(k) : 0);
      }
      out[p] = std::string(head) + " " + detail;
      if (S_ISDIR(st.st_mode)) walk(p);
    }
  };
  walk("");
  return out;
}

nlohmann::json ComparedConfig(nlohmann::json c) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* k : {"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
                        "Labels", "StopSignal"}) {
    if (c.contains(k) && !c[k].is_null() && !(c[k].is_string() && c[k] == "") &&
        !(c[k].is_object() && c[k].empty())) {
      out[k] = c[k];
    }
  }
  if (out.contains("Labels")) {
    for (const char* l : kIgnoredLabels) out["Labels"].erase(l);
    if (out["Labels"].empty()) out.erase("Labels");
  }
  return out;
}

class BuildahDiffTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (!testing::IsRoot() || !testing::HaveProgram("buildah")) return;
    auto d = TempDir::Create("", "bld-buildah-");
    if (!d.ok()) return;
    tmp_ = new TempDir(std::move(*d));
    store_ = tmp_->path() + "/store";
    if (!testing::ImportBusybox(store_)) return;
    // buildah names the pulled image after the layout's path, which must be lower-case.
    link_ = "/tmp/bld-buildah-layout-" + std::to_string(getpid());
    unlink(link_.c_str());
    if (symlink(store_.c_str(), link_.c_str()) != 0) {
      ADD_FAILURE() << "symlink " << link_;
      return;
    }
    auto r =
        testing::Run(Buildah({"pull", "-q", "oci:" + link_ + ":docker.io/library/busybox:latest"}));
    if (r.exit_code != 0) {
      ADD_FAILURE() << "buildah pull: " << r.err;
      return;
    }
    r = testing::Run(Buildah({"tag", Trim(r.out), "docker.io/library/busybox:latest"}));
    ready_ = r.exit_code == 0;
    if (!ready_) ADD_FAILURE() << "buildah tag: " << r.err;
  }
  static void TearDownTestSuite() {
    if (tmp_ != nullptr) {
      // buildah's overlay mounts must go before the directory.
      (void)testing::Run(Buildah({"rm", "--all"}));
      (void)testing::Run(
          {"sh", "-c", "umount -R " + tmp_->path() + "/buildah/root/overlay 2>/dev/null; true"});
      delete tmp_;
      tmp_ = nullptr;
      unlink(link_.c_str());
    }
  }
  static std::vector<std::string> Buildah(std::vector<std::string> args) {
    std::vector<std::string> argv = {"buildah",
                                     "--root",
                                     tmp_->path() + "/buildah/root",
                                     "--runroot",
                                     tmp_->path() + "/buildah/run",
                                     "--storage-driver",
                                     "overlay"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "needs root";
    if (!testing::HaveProgram("buildah")) GTEST_SKIP() << "buildah is not installed";
    ASSERT_TRUE(ready_) << "buildah setup failed";
  }
  static TempDir* tmp_;
  static std::string store_;
  static std::string link_;
  static bool ready_;
};
std::string BuildahDiffTest::link_;
TempDir* BuildahDiffTest::tmp_ = nullptr;
std::string BuildahDiffTest::store_;
bool BuildahDiffTest::ready_ = false;

TEST_P(BuildahDiffTest, SameImage) {
  const std::string dir = testing::SourceDir() + "/testdata/build/" + GetParam();
  nlohmann::json spec = nlohmann::json::parse(ReadFile(dir + "/test.json").value());
  std::vector<std::string> args;
  for (const auto& a : spec.value("args", nlohmann::json::array())) {
    std::string s = a.get<std::string>();
    size_t p = s.find("{dir}");
    if (p != std::string::npos) s.replace(p, 5, dir);
    args.push_back(s);
  }
  const std::string tag = "diff-" + GetParam();
  const std::string bld_rootfs = tmp_->path() + "/bld-" + GetParam();
  std::vector<std::string> bargs = {"build", "-q",       "-t",
                                    tag,     "--output", "type=local,dest=" + bld_rootfs};
  bargs.insert(bargs.end(), args.begin(), args.end());
  bargs.push_back(dir);
  auto b = RunBld(store_, bargs);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto bld_config = nlohmann::json::parse(RunBld(store_, {"inspect", tag}).out)[0]["Config"];

  std::vector<std::string> hargs = {"build",  "--layers", "--pull=never", "--isolation",
                                    "chroot", "-q",       "-t",           tag};
  hargs.insert(hargs.end(), args.begin(), args.end());
  hargs.push_back(dir);
  auto h = testing::Run(Buildah(hargs));
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto hi = testing::Run(Buildah({"inspect", "--type", "image", tag}));
  ASSERT_EQ(hi.exit_code, 0) << hi.err;
  auto buildah_config = nlohmann::json::parse(hi.out)["OCIv1"]["config"];
  auto ours_config = ComparedConfig(bld_config);
  auto theirs_config = ComparedConfig(buildah_config);
  for (const auto& k : kKnown) {
    if (GetParam() == k.test_case && k.config_key != nullptr) {
      ours_config.erase(k.config_key);
      theirs_config.erase(k.config_key);
    }
  }
  EXPECT_EQ(ours_config.dump(1), theirs_config.dump(1));

  auto from = testing::Run(Buildah({"from", "--pull=never", tag}));
  ASSERT_EQ(from.exit_code, 0) << from.err;
  std::string container = Trim(from.out);
  auto mnt = testing::Run(Buildah({"mount", container}));
  ASSERT_EQ(mnt.exit_code, 0) << mnt.err;
  auto ours = Listing(bld_rootfs);
  auto theirs = Listing(Trim(mnt.out));
  (void)testing::Run(Buildah({"rm", container}));
  auto ignored = [this](const std::string& p) {
    for (const auto& k : kKnown) {
      if (GetParam() == k.test_case && k.path != nullptr && p == k.path) return true;
    }
    for (const char* i : kIgnoredPaths) {
      if (p == i || p.rfind(std::string(i) + "/", 0) == 0) return true;
    }
    return false;
  };
  std::string diffs;
  for (const auto& [p, v] : ours) {
    if (ignored(p)) continue;
    auto it = theirs.find(p);
    if (it == theirs.end()) {
      diffs += "only bld:     " + p + " " + v + "\n";
    } else if (it->second != v) {
      diffs += "differs:      " + p + " bld " + v + " / buildah " + it->second + "\n";
    }
  }
  for (const auto& [p, v] : theirs) {
    if (!ignored(p) && ours.count(p) == 0) diffs += "only buildah: " + p + " " + v + "\n";
  }
  EXPECT_EQ(diffs, "");
}

INSTANTIATE_TEST_SUITE_P(Cases, BuildahDiffTest,
                         ::testing::Values("basic", "multistage", "build-args", "scratch",
                                           "copy-from-image", "parallel-stages", "copy-dest-rules",
                                           "dockerignore", "workdir", "metadata",
                                           "entrypoint-resets-cmd", "cmd-before-entrypoint",
                                           "shell-forms", "healthcheck-expose", "add-tar",
                                           "platform-args", "target", "user-explicit-group",
                                           "user-groups", "copy-symlink-source",
                                           "copy-from-symlinks", "copy-dest-symlink",
                                           "copy-new-dest-dir", "add-archive-symlinks",
                                           "add-archive-compressions", "add-archive-chown",
                                           "add-merged-usr"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace bld
