// No crash on any input: every testdata/build/<case>/Dockerfile is built with each RUN
// (and each ONBUILD RUN) replaced by `RUN false`, and again by a RUN whose command is
// 200 kB (more than execve takes for one argument). The build must fail cleanly: exit
// status 1, an error line "bld: Dockerfile:LINE: ..." naming one of the replaced lines
// (the FROM line for a trigger, which runs there), saying what went wrong, and no abort,
// signal or sanitizer report. A variant may only succeed when no RUN step was reached
// (a stage the target does not need). The long command is refused while the build is
// planned, so those builds run no step; one store is shared by all cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld {
namespace {

using testing::RunBld;

std::string CasesDir() { return testing::SourceDir() + "/testdata/build"; }

// "case/file" for every Dockerfile (named Dockerfile or *.Dockerfile) of every case.
std::vector<std::string> Cases() {
  std::vector<std::string> out;
  auto names = ListDir(CasesDir());
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    auto files = ListDir(CasesDir() + "/" + n);
    if (!files.ok()) continue;
    for (const auto& f : *files) {
      if (f == "Dockerfile" || (f.size() > 11 && f.ends_with(".Dockerfile"))) {
        out.push_back(n + "/" + f);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}
std::string CaseOf(const std::string& param) { return param.substr(0, param.find('/')); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

struct Variant {
  std::string text;     // the Dockerfile with every RUN replaced
  std::set<int> lines;  // lines an error may name
};

// Replaces lines [line, end_line] of each RUN with `replacement` on the first line and
// empty lines for the rest (so every other instruction keeps its line number).
Variant Replace(const std::string& dockerfile, const nlohmann::json& parsed,
                const std::string& replacement) {
  std::vector<std::string> lines = Lines(dockerfile);
  Variant v;
  auto replace = [&](const nlohmann::json& ins, const std::string& with) {
    int first = ins["line"].get<int>(), last = ins["end_line"].get<int>();
    for (int l = first; l <= last && l <= static_cast<int>(lines.size()); ++l) {
      lines[l - 1] = l == first ? with : "";
    }
    v.lines.insert(first);
  };
  for (const auto& stage : parsed["stages"]) {
    for (const auto& ins : stage["instructions"]) {
      std::string name = ins.value("instruction", "");
      if (name == "RUN") replace(ins, "RUN " + replacement);
      std::string expr = ins.value("expression", "");
      std::string upper = expr.substr(0, 4);
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      if (name == "ONBUILD" && upper == "RUN ") {
        replace(ins, "ONBUILD RUN " + replacement);
      }
    }
  }
  // A trigger runs in the stages built FROM the stage (or image) that has it: its error
  // names that FROM line.
  bool any_trigger = dockerfile.find("ONBUILD") != std::string::npos;
  if (any_trigger) {
    for (const auto& stage : parsed["stages"]) v.lines.insert(stage["line"].get<int>());
  }
  for (const auto& l : lines) v.text += l + "\n";
  return v;
}

class NoCrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (!testing::IsRoot()) return;
    auto d = TempDir::Create("", "bld-nocrash-");
    if (!d.ok()) return;
    tmp_ = new TempDir(std::move(*d));
    busybox_ = testing::ImportBusybox(tmp_->path() + "/store");
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  void SetUp() override {
    if (!testing::IsRoot()) GTEST_SKIP() << "bld build needs root (overlay mounts, namespaces)";
    ASSERT_TRUE(busybox_);
    if (CaseOf(GetParam()).rfind("debian-", 0) == 0 && !debian_) {
      std::string tar = tmp_->path() + "/debian.tar";
      auto r = testing::Run({testing::SourceDir() + "/testdata/debian-rootfs.sh", "-t", tar});
      if (r.exit_code == 3) GTEST_SKIP() << "no Debian base: " << r.err;
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto imp = RunBld(store(), {"import", tar, "debian:bookworm", "--change", "CMD [\"bash\"]"});
      ASSERT_EQ(imp.exit_code, 0) << imp.err;
      debian_ = true;
    }
  }
  static std::string store() { return tmp_->path() + "/store"; }

  // Builds `v` with the case's context and flags; checks the outcome.
  void Check(const Variant& v, const std::string& variant, const std::string& must_say) {
    const std::string dir = CasesDir() + "/" + CaseOf(GetParam());
    nlohmann::json spec = nlohmann::json::object();
    if (PathExists(dir + "/test.json"))
      spec = nlohmann::json::parse(ReadFile(dir + "/test.json").value());
    std::string flat = GetParam();
    std::replace(flat.begin(), flat.end(), '/', '-');
    const std::string df_dir = tmp_->path() + "/" + flat + "-" + variant;
    ASSERT_TRUE(MkdirAll(df_dir, 0755).ok());
    ASSERT_TRUE(WriteFileAtomic(df_dir + "/Dockerfile", v.text, 0644).ok());
    std::vector<std::string> args = {"build", "--progress", "plain", "-f", df_dir + "/Dockerfile"};
    bool skip = false;
    for (const auto& a : spec.value("args", nlohmann::json::array())) {
      std::string s = a.get<std::string>();
      // The case's own -f FILE gives way to the variant (FILE is a param of its own).
      if (skip || s == "-f" || s == "--file") {
        skip = !skip;
        continue;
      }
      for (auto [from, to] :
           {std::pair<std::string, std::string>{"{dir}", dir}, {"{root}", store()}}) {
        size_t p;
        while ((p = s.find(from)) != std::string::npos) s.replace(p, from.size(), to);
      }
      args.push_back(s);
    }
    args.push_back(dir);
    auto r = RunBld(store(), args);
    SCOPED_TRACE(variant + " variant of " + GetParam() + ":\n" + v.text.substr(0, 2000));
    for (const char* bad : {"AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                            "terminate called", "std::", "Aborted", "core dumped"}) {
      EXPECT_EQ(r.err.find(bad), std::string::npos) << bad << " in:\n" << r.err;
    }
    if (r.exit_code == 0) {
      // Only when no RUN step was reached: no step name "] RUN " (or a trigger's) in the
      // progress.
      EXPECT_EQ(r.err.find("] RUN "), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("] ONBUILD RUN "), std::string::npos) << r.err;
      return;
    }
    EXPECT_EQ(r.exit_code, 1) << r.err;
    // The last line is bld's error.
    std::vector<std::string> err_lines = Lines(r.err);
    ASSERT_FALSE(err_lines.empty());
    std::string last;
    for (auto it = err_lines.rbegin(); it != err_lines.rend(); ++it) {
      if (it->rfind("bld: ", 0) == 0) {
        last = *it;
        break;
      }
    }
    ASSERT_FALSE(last.empty()) << "no \"bld: \" error line in:\n" << r.err;
    if (spec.contains("error")) return;  // a reject case: its own error may come first
    bool names_line = false;
    for (int l : v.lines) {
      names_line =
          names_line || last.find("Dockerfile:" + std::to_string(l) + ":") != std::string::npos;
    }
    EXPECT_TRUE(names_line) << "the error names none of the lines of the replaced RUNs: " << last;
    EXPECT_NE(r.err.find(must_say), std::string::npos) << r.err;
  }

  static TempDir* tmp_;
  static bool busybox_;
  static bool debian_;
};
TempDir* NoCrashTest::tmp_ = nullptr;
bool NoCrashTest::busybox_ = false;
bool NoCrashTest::debian_ = false;

TEST_P(NoCrashTest, EveryRunFailsCleanly) {
  const std::string file = CasesDir() + "/" + GetParam();
  auto text = ReadFile(file);
  ASSERT_TRUE(text.ok());
  auto parsed = RunBld(store(), {"parse", "-f", file, "--format", "json"});
  if (parsed.exit_code != 0) {
    // A Dockerfile the parser rejects: building it must fail the same clean way.
    Variant v;
    v.text = *text;
    Check(v, "as-is", "");
    return;
  }
  nlohmann::json ast = nlohmann::json::parse(parsed.out);
  Check(Replace(*text, ast, "false"), "false", "exit code 1");
  Check(Replace(*text, ast, "echo " + std::string(200 * 1024, 'x')), "long", "bytes");
}

INSTANTIATE_TEST_SUITE_P(Cases, NoCrashTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace bld
