// End to end: `bld build` of every case under testdata/build/<case>/ on the
// busybox base, checked by inspecting the image config and by running the
// image with `bld run`. A case is a directory with a Dockerfile, its context
// and test.json:
//   {"args": [extra build flags],            "error": "substring of a failure",
//    "config": {subset of the config's "config" object},
//    "image": {subset of the whole image config (author, history length...)},
//    "history_contains": [created_by strings that some history entry has],
//    "env": {variables for bld}, "cwd": "bld's working directory ({dir}: the case's)",
//    "run": [{"cmd": [...], "stdout": "exact", "contains": "substring", "exit": N}]}
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

std::string CasesDir() { return testing::SourceDir() + "/testdata/build"; }

// Cases named debian-* build on a debootstrap'd Debian base (testdata/debian-rootfs.sh),
// the others on busybox.
std::vector<std::string> Cases(bool debian) {
  std::vector<std::string> out;
  auto names = ListDir(CasesDir());
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (n.rfind("debian-", 0) == 0 && !debian) continue;
    if (n.rfind("debian-", 0) != 0 && debian) continue;
    if (PathExists(CasesDir() + "/" + n + "/test.json")) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every key of `want` equals the one in `got` (objects compared recursively).
void ExpectSubset(const nlohmann::json& want, const nlohmann::json& got, const std::string& where) {
  if (want.is_object()) {
    ASSERT_TRUE(got.is_object()) << where << ": expected an object, got " << got.dump();
    for (auto& [k, v] : want.items()) {
      if (v.is_null()) {
        EXPECT_FALSE(got.contains(k) && !got[k].is_null())
            << where << "." << k << " should be absent, got " << got[k].dump();
        continue;
      }
      ASSERT_TRUE(got.contains(k)) << where << ": missing " << k << " in " << got.dump();
      ExpectSubset(v, got[k], where + "." + k);
    }
  } else {
    EXPECT_EQ(want, got) << where;
  }
}

class BuildCaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // BLD_TEST_ROOTLESS: run as an unprivileged user by tests/rootless_e2e_test.cc.
    if (!testing::IsRoot() && !std::getenv("BLD_TEST_ROOTLESS")) GTEST_SKIP() << "bld build needs root";
    auto d = TempDir::Create("", "bld-build-e2e-");
    ASSERT_TRUE(d.ok());
    root_ = std::make_unique<TempDir>(std::move(*d));
    if (GetParam().rfind("debian-", 0) == 0) {
      std::string tar = root_->path() + "/debian.tar";
      auto r = testing::Run({testing::SourceDir() + "/testdata/debian-rootfs.sh", "-t", tar});
      if (r.exit_code == 3) GTEST_SKIP() << "no Debian base: " << r.err;
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto imp =
          RunBld(root_->path(), {"import", tar, "debian:bookworm", "--change", "CMD [\"bash\"]"});
      ASSERT_EQ(imp.exit_code, 0) << imp.err;
      return;
    }
    ASSERT_TRUE(testing::ImportBusybox(root_->path()));
  }
  std::string root() const { return root_->path(); }
  std::unique_ptr<TempDir> root_;
};

TEST_P(BuildCaseTest, Builds) {
  const std::string dir = CasesDir() + "/" + GetParam();
  auto text = ReadFile(dir + "/test.json");
  ASSERT_TRUE(text.ok());
  nlohmann::json spec = nlohmann::json::parse(*text);
  std::vector<std::string> args = {"build", "--progress", "plain", "-t", "case:" + GetParam()};
  for (const auto& a : spec.value("args", nlohmann::json::array())) {
    std::string s = a.get<std::string>();
    // "{dir}" is the case directory, "{root}" the store.
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"{dir}", dir}, {"{root}", root()}}) {
      size_t p;
      while ((p = s.find(from)) != std::string::npos) s.replace(p, from.size(), to);
    }
    args.push_back(s);
  }
  args.push_back(dir);
  // "env": variables for bld, "cwd": its working directory ("{dir}" allowed).
  CommandResult r;
  if (spec.contains("env") || spec.contains("cwd")) {
    std::vector<std::string> argv = {"env"};
    if (spec.contains("cwd")) {
      std::string cwd = spec["cwd"].get<std::string>();
      if (cwd == "{dir}") cwd = dir;
      argv.insert(argv.end(), {"-C", cwd});
    }
    const nlohmann::json env = spec.value("env", nlohmann::json::object());
    for (auto& [k, v] : env.items()) {
      argv.push_back(k + "=" + v.get<std::string>());
    }
    argv.insert(argv.end(), {testing::BldBinary(), "--root", root()});
    argv.insert(argv.end(), args.begin(), args.end());
    r = testing::Run(argv);
  } else {
    r = RunBld(root(), args);
  }
  if (spec.contains("error")) {
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(spec["error"].get<std::string>()), std::string::npos) << r.err;
    for (const auto& c : spec.value("error_contains", nlohmann::json::array())) {
      EXPECT_NE(r.err.find(c.get<std::string>()), std::string::npos) << r.err;
    }
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out;
  while (!id.empty() && id.back() == '\n') id.pop_back();
  ASSERT_EQ(id.rfind("sha256:", 0), 0u) << r.out;

  auto in = RunBld(root(), {"inspect", id});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  nlohmann::json info = nlohmann::json::parse(in.out)[0];
  if (spec.contains("config")) ExpectSubset(spec["config"], info["Config"], "config");
  if (spec.contains("image")) ExpectSubset(spec["image"], info["ImageConfig"], "image");
  // Each string is the created_by of some history entry.
  for (const auto& want : spec.value("history_contains", nlohmann::json::array())) {
    bool found = false;
    for (const auto& h : info["ImageConfig"]["history"]) {
      found = found || h.value("created_by", "") == want.get<std::string>();
    }
    EXPECT_TRUE(found) << "no history entry " << want.dump() << " in "
                       << info["ImageConfig"]["history"].dump();
  }
  if (spec.contains("history_length")) {
    EXPECT_EQ(info["ImageConfig"]["history"].size(), spec["history_length"].get<size_t>());
  }
  for (const auto& run : spec.value("run", nlohmann::json::array())) {
    std::vector<std::string> rargs = {"run", "--rm", id};
    for (const auto& c : run["cmd"]) rargs.push_back(c.get<std::string>());
    auto rr = RunBld(root(), rargs);
    EXPECT_EQ(rr.exit_code, run.value("exit", 0)) << run.dump() << "\n" << rr.err;
    if (run.contains("stdout")) EXPECT_EQ(rr.out, run["stdout"].get<std::string>()) << run.dump();
    if (run.contains("contains")) {
      EXPECT_NE(rr.out.find(run["contains"].get<std::string>()), std::string::npos)
          << run.dump() << "\n"
          << rr.out;
    }
  }
}

// Issue 11's host-escape recipes: a context symlink to a host directory (COPY, a glob, ADD),
// a stage symlink to a host path (COPY --from) and an rw bind mount through such a link.
// Every symlink is followed inside its root as if that root were "/": each copy reads the
// file at the same path inside the context/stage, never the host's, and the rw mount's
// write lands in a discarded scratch layer.
TEST(HostEscapeTest, SourcesStayInTheirRoots) {
  if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
  auto d = TempDir::Create("", "bld-escape-");
  ASSERT_TRUE(d.ok());
  const std::string root = d->path() + "/store", host = d->path() + "/host",
                    ctx = d->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(root).ok());
  ASSERT_TRUE(testing::ImportBusybox(root));
  ASSERT_TRUE(MkdirAll(host).ok());
  ASSERT_TRUE(WriteFileAtomic(host + "/secret.txt", "HOST SECRET\n").ok());
  // The same path inside the context: what the link names when the context is "/".
  ASSERT_TRUE(MkdirAll(ctx + host).ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + host + "/secret.txt", "in-context\n").ok());
  ASSERT_EQ(symlink(host.c_str(), (ctx + "/link-dir").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile",
                              "FROM busybox AS evil\n"
                              "RUN mkdir -p " + host + " && echo in-stage > " + host +
                                  "/secret.txt && ln -s " + host + " /hostlink\n"
                              "FROM busybox\n"
                              "COPY link-dir/secret.txt /c\n"
                              "COPY link-dir/secret* /g/\n"
                              "ADD link-dir/secret.txt /a\n"
                              "COPY --from=evil /hostlink/secret.txt /s\n"
                              "RUN --mount=type=bind,source=link-dir,target=/m,rw touch /m/x\n")
                  .ok());
  auto r = RunBld(root, {"build", "--progress", "plain", "-t", "escape", ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rr = RunBld(root, {"run", "--rm", "escape", "cat", "/c", "/g/secret.txt", "/a", "/s"});
  EXPECT_EQ(rr.exit_code, 0) << rr.err;
  EXPECT_EQ(rr.out, "in-context\nin-context\nin-context\nin-stage\n");
  EXPECT_FALSE(PathExists(host + "/x")) << "the rw bind mount wrote to the host";
  EXPECT_FALSE(PathExists(ctx + host + "/x")) << "the rw bind mount wrote to the context";
}

// Without the in-root counterpart the link dangles inside the context: not found, and the
// host file is never read.
TEST(HostEscapeTest, DanglingInsideTheContextIsNotFound) {
  if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
  auto d = TempDir::Create("", "bld-escape-");
  ASSERT_TRUE(d.ok());
  const std::string root = d->path() + "/store", host = d->path() + "/host",
                    ctx = d->path() + "/ctx";
  ASSERT_TRUE(MkdirAll(root).ok());
  ASSERT_TRUE(testing::ImportBusybox(root));
  ASSERT_TRUE(MkdirAll(host).ok());
  ASSERT_TRUE(WriteFileAtomic(host + "/secret.txt", "HOST SECRET\n").ok());
  ASSERT_TRUE(MkdirAll(ctx).ok());
  ASSERT_EQ(symlink(host.c_str(), (ctx + "/link-dir").c_str()), 0);
  for (const std::string copy : {"COPY link-dir/secret.txt /c", "COPY link-dir/secret* /c/",
                                 "ADD link-dir/secret.txt /c"}) {
    ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM busybox\n" + copy + "\n").ok());
    auto r = RunBld(root, {"build", "--progress", "plain", "-t", "escape", ctx});
    if (copy.find('*') != std::string::npos) {
      // An empty wildcard copies nothing (BuildKit); the host file must not be there.
      if (r.exit_code == 0) {
        auto rr = RunBld(root, {"run", "--rm", "escape", "cat", "/c/secret.txt"});
        EXPECT_NE(rr.exit_code, 0) << copy << ": " << rr.out;
        EXPECT_EQ(rr.out.find("HOST SECRET"), std::string::npos) << copy;
      }
      continue;
    }
    EXPECT_EQ(r.exit_code, 1) << copy << "\n" << r.err;
    EXPECT_NE(r.err.find("not found"), std::string::npos) << copy << "\n" << r.err;
  }
}

// COPY keeps extended attributes (a file capability, user.*) and hardlinks within the
// copied tree, as Docker and buildah do. Checked in the layer the COPY wrote.
TEST(CopyMetadataTest, KeepsXattrsAndHardlinks) {
  if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
  auto d = TempDir::Create("", "bld-copy-meta-");
  ASSERT_TRUE(d.ok());
  const std::string root = d->path() + "/store", ctx = d->path() + "/ctx",
                    out = d->path() + "/out";
  ASSERT_TRUE(MkdirAll(root).ok());
  ASSERT_TRUE(testing::ImportBusybox(root));
  ASSERT_TRUE(MkdirAll(ctx + "/dir").ok());
  ASSERT_TRUE(MkdirAll(out + "/layer").ok());
  ASSERT_TRUE(WriteFileAtomic(ctx + "/dir/ping", "#!/bin/sh\n", 0755).ok());
  // cap_net_raw=ep: VFS_CAP_REVISION_2, effective, permitted bit 13.
  const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  ASSERT_EQ(setxattr((ctx + "/dir/ping").c_str(), "security.capability", cap, sizeof(cap), 0), 0)
      << strerror(errno);
  ASSERT_EQ(setxattr((ctx + "/dir/ping").c_str(), "user.note", "kept", 4, 0), 0);
  ASSERT_TRUE(WriteFileAtomic(ctx + "/dir/h1", "linked\n").ok());
  ASSERT_EQ(link((ctx + "/dir/h1").c_str(), (ctx + "/dir/h2").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(ctx + "/Dockerfile", "FROM busybox\nCOPY dir /d/\n").ok());
  auto r = RunBld(root, {"build", "--progress", "plain", "-t", "meta", ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The hardlink is visible in the container.
  auto rr = RunBld(root, {"run", "--rm", "meta", "sh", "-c",
                          "[ $(stat -c %i /d/h1) = $(stat -c %i /d/h2) ] && stat -c %h /d/h1"});
  EXPECT_EQ(rr.exit_code, 0) << rr.err;
  EXPECT_EQ(rr.out, "2\n");
  // The xattrs are in the layer.
  auto sv = RunBld(root, {"save", "--format", "docker-archive", "-o", out + "/img.tar", "meta"});
  ASSERT_EQ(sv.exit_code, 0) << sv.err;
  ASSERT_EQ(testing::Run({"tar", "-xf", out + "/img.tar", "-C", out}).exit_code, 0);
  auto manifest = ReadFile(out + "/manifest.json");
  ASSERT_TRUE(manifest.ok());
  auto layers = nlohmann::json::parse(*manifest)[0]["Layers"];
  ASSERT_FALSE(layers.empty());
  auto x = testing::Run({"tar", "--xattrs", "--xattrs-include=*", "-xpf",
                         out + "/" + layers.back().get<std::string>(), "-C", out + "/layer"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  unsigned char got[64];
  ssize_t n = getxattr((out + "/layer/d/ping").c_str(), "security.capability", got, sizeof(got));
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(cap))) << strerror(errno);
  EXPECT_EQ(memcmp(got, cap, sizeof(cap)), 0);
  char note[16];
  n = getxattr((out + "/layer/d/ping").c_str(), "user.note", note, sizeof(note));
  EXPECT_EQ(std::string(note, n > 0 ? static_cast<size_t>(n) : 0), "kept");
  struct stat a, b;
  ASSERT_EQ(stat((out + "/layer/d/h1").c_str(), &a), 0);
  ASSERT_EQ(stat((out + "/layer/d/h2").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hardlink lost in the layer";
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& i) {
  std::string n = i.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, BuildCaseTest, ::testing::ValuesIn(Cases(false)), CaseName);
INSTANTIATE_TEST_SUITE_P(Debian, BuildCaseTest, ::testing::ValuesIn(Cases(true)), CaseName);

}  // namespace
}  // namespace bld
