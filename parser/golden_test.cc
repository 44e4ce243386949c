// Golden tests under testdata/parser/<case>/:
//   Dockerfile + ast    : Dump(Parse(Dockerfile)) must equal `ast`
//   Dockerfile + json   : DockerfileToJson(ParseDockerfile(Dockerfile)) must equal `json`
//   Dockerfile + error  : parsing must fail with exactly the message in `error`
//   dockerignore + paths: each line "excluded PATH" or "included PATH" must hold
//   dockerignore + error: compiling the patterns must fail with that message
// Set BLD_UPDATE_GOLDEN=1 to (re)write ast/json files from the current output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "parser/dockerignore.h"
#include "parser/instructions.h"
#include "parser/parser.h"

namespace bld::parser {
namespace {

namespace fs = std::filesystem;

fs::path GoldenDir() {
  const char* s = std::getenv("BLD_SOURCE_DIR");
  return fs::path(s != nullptr ? s : BLD_SOURCE_DIR) / "testdata" / "parser";
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Check(const fs::path& file, const std::string& got) {
  if (std::getenv("BLD_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(file, std::ios::binary) << got;
    return;
  }
  EXPECT_EQ(got, Slurp(file)) << file;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(GoldenTest, DockerfileCases) {
  int cases = 0;
  for (const auto& e : fs::directory_iterator(GoldenDir())) {
    fs::path df = e.path() / "Dockerfile";
    if (!fs::exists(df)) continue;
    ++cases;
    SCOPED_TRACE(e.path().filename().string());
    std::string text = Slurp(df);
    if (fs::exists(e.path() / "error")) {
      auto r = ParseDockerfile(text);
      ASSERT_FALSE(r.ok()) << "expected an error";
      EXPECT_EQ(r.error().message(), Trimmed(Slurp(e.path() / "error")));
      continue;
    }
    bool any = false;
    if (fs::exists(e.path() / "ast")) {
      auto ast = Parse(text);
      ASSERT_TRUE(ast.ok()) << ast.error().message();
      Check(e.path() / "ast", Dump(*ast));
      any = true;
    }
    if (fs::exists(e.path() / "json")) {
      auto parsed = ParseDockerfile(text);
      ASSERT_TRUE(parsed.ok()) << parsed.error().message();
      Check(e.path() / "json", DockerfileToJson(*parsed));
      any = true;
    }
    EXPECT_TRUE(any) << "case has neither ast, json nor error";
  }
  EXPECT_GE(cases, 10);
}

TEST(GoldenTest, DockerignoreCases) {
  int cases = 0;
  for (const auto& e : fs::directory_iterator(GoldenDir())) {
    fs::path ignore = e.path() / "dockerignore";
    if (!fs::exists(ignore)) continue;
    ++cases;
    SCOPED_TRACE(e.path().filename().string());
    auto m = IgnoreMatcher::FromFile(Slurp(ignore));
    if (fs::exists(e.path() / "error")) {
      ASSERT_FALSE(m.ok());
      EXPECT_EQ(m.error().message(), Trimmed(Slurp(e.path() / "error")));
      continue;
    }
    ASSERT_TRUE(m.ok()) << m.error().message();
    std::istringstream paths(Slurp(e.path() / "paths"));
    std::string verdict, path;
    int checked = 0;
    while (paths >> verdict >> path) {
      ASSERT_TRUE(verdict == "excluded" || verdict == "included") << verdict;
      EXPECT_EQ(m->Excluded(path), verdict == "excluded") << path;
      ++checked;
    }
    EXPECT_GT(checked, 0);
  }
  EXPECT_GE(cases, 3);
}

}  // namespace
}  // namespace bld::parser
