#include "builder/checks.h"

#include <gtest/gtest.h>

#include "parser/instructions.h"

namespace bld::builder {
namespace {

Result<CheckResult> Check(const std::string& text) {
  auto df = parser::ParseDockerfile(text);
  if (!df.ok()) return df.error();
  return RunChecks(*df, "Dockerfile");
}

std::vector<std::string> Rules(const CheckResult& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.rule + "@" + std::to_string(f.line));
  return out;
}

TEST(ChecksTest, FindsBuildKitRules) {
  auto r = Check(
      "FROM busybox as Build\n"
      "MAINTAINER me\n"
      "WORKDIR rel\n"
      "CMD echo hi\n"
      "CMD [\"true\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Rules(*r), (std::vector<std::string>{"FromAsCasing@1", "StageNameCasing@1",
                                                 "MaintainerDeprecated@2", "WorkdirRelativePath@3",
                                                 "JSONArgsRecommended@4",
                                                 "MultipleInstructionsDisallowed@5"}));
  EXPECT_FALSE(r->error);
}

TEST(ChecksTest, CleanDockerfileHasNoFindings) {
  auto r = Check("FROM busybox AS build\nWORKDIR /src\nWORKDIR sub\nCMD [\"sh\"]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->findings.empty()) << ::testing::PrintToString(Rules(*r));
}

TEST(ChecksTest, SkipAndError) {
  auto r =
      Check("# check=skip=JSONArgsRecommended;error=true\nFROM busybox\nMAINTAINER x\nCMD sh\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Rules(*r), (std::vector<std::string>{"MaintainerDeprecated@3"}));
  EXPECT_TRUE(r->error);
  auto all = Check("# check=skip=all\nFROM busybox\nMAINTAINER x\n");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->findings.empty());
  auto bad = Check("# check=error=maybe\nFROM busybox\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("Dockerfile:1:"), std::string::npos);
}

TEST(ChecksTest, ParserWarningsAreFindings) {
  auto r = Check("FROM busybox\nRUN echo a \\\n\n  b\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_FALSE(r->findings.empty());
  EXPECT_EQ(r->findings[0].rule, "NoEmptyContinuation");
}

}  // namespace
}  // namespace bld::builder
