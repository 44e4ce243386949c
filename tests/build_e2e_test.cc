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

std::string CaseName(const ::testing::TestParamInfo<std::string>& i) {
  std::string n = i.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, BuildCaseTest, ::testing::ValuesIn(Cases(false)), CaseName);
INSTANTIATE_TEST_SUITE_P(Debian, BuildCaseTest, ::testing::ValuesIn(Cases(true)), CaseName);

}  // namespace
}  // namespace bld
