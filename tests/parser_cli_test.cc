// `bld parse` end to end: BuildKit's own parser testfiles through the real
// binary (byte-for-byte AST dumps), the negative cases, stdin, the JSON format
// and error reporting (file:line, exit status 1).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/temp_dir.h"
#include "tests/testutil.h"
#include "tests/peer_dir.h"

namespace bld {
namespace {

namespace fs = std::filesystem;
using testing::RunBld;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Root() { return "/nonexistent-bld-root-parse-needs-no-store"; }

TEST(ParserCliTest, BuildKitTestfilesDumpByteForByte) {
  fs::path dir = fs::path(testing::SharedPeerDir()) / "buildkit-parser" / "testfiles";
  BLD_REQUIRE_PEER_DIR(dir);
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto r = RunBld(Root(), {"parse", "--format", "ast", "-f", (e.path() / "Dockerfile").string()});
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    EXPECT_EQ(r.out, Slurp(e.path() / "result")) << e.path();
    ++n;
  }
  EXPECT_GE(n, 17);
}

TEST(ParserCliTest, BuildKitNegativeTestfilesFail) {
  fs::path dir = fs::path(testing::SharedPeerDir()) / "buildkit-parser" / "testfiles-negative";
  BLD_REQUIRE_PEER_DIR(dir);
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string file = (e.path() / "Dockerfile").string();
    auto r = RunBld(Root(), {"parse", "--format", "ast", "-f", file});
    EXPECT_EQ(r.exit_code, 1) << e.path();
    EXPECT_EQ(r.out, "");
    // "bld: <file>:<line>: <problem>"
    EXPECT_EQ(r.err.rfind("bld: " + file + ":", 0), 0u) << r.err;
    ++n;
  }
  EXPECT_GE(n, 2);
}

TEST(ParserCliTest, StdinAndJson) {
  auto r = RunBld(Root(), {"parse", "-f", "-"},
                  "ARG V=1\nFROM alpine:$V AS build\nRUN --mount=type=cache,target=/c make\n"
                  "FROM scratch\nCOPY --from=build /out /\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["stages"].size(), 2u);
  EXPECT_EQ(j["stages"][0]["name"], "build");
  EXPECT_EQ(j["stages"][0]["base"], "alpine:$V");
  EXPECT_EQ(j["stages"][0]["instructions"][0]["mounts"][0]["type"], "cache");
  EXPECT_EQ(j["stages"][1]["instructions"][0]["from"], "build");
  EXPECT_EQ(j["meta_args"][0]["args"][0]["key"], "V");
}

TEST(ParserCliTest, DefaultFileAndErrors) {
  auto dir = TempDir::Create("", "bld-parse-");
  ASSERT_TRUE(dir.ok());
  std::ofstream(dir->path() + "/Dockerfile") << "FROM a\nRUN ok\nCOPY --chown x y\n";
  auto r = testing::Run(
      {"sh", "-c", "cd " + dir->path() + " && " + testing::BldBinary() + " parse --format json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "bld: Dockerfile:3: missing a value on flag --chown\n");
  auto missing = RunBld(Root(), {"parse", "-f", dir->path() + "/nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  auto bad_format = RunBld(Root(), {"parse", "--format", "yaml"});
  EXPECT_EQ(bad_format.exit_code, 2);
}

TEST(ParserCliTest, GoldenAstFilesThroughTheBinary) {
  fs::path dir = fs::path(testing::SourceDir()) / "testdata" / "parser";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!fs::exists(e.path() / "ast")) continue;
    auto r = RunBld(Root(), {"parse", "--format", "ast", "-f", (e.path() / "Dockerfile").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, Slurp(e.path() / "ast")) << e.path();
    ++n;
  }
  EXPECT_GE(n, 5);
}

}  // namespace
}  // namespace bld
