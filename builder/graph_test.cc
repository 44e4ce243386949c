#include "builder/graph.h"

#include <gtest/gtest.h>

#include "parser/instructions.h"

namespace bld::builder {
namespace {

Result<Graph> Plan(const std::string& text, const std::string& target = "") {
  auto df = parser::ParseDockerfile(text);
  if (!df.ok()) return df.error();
  GraphOptions o;
  o.target = target;
  return BuildGraph(*df, o);
}

TEST(GraphTest, SingleStage) {
  auto g = Plan("FROM busybox\nRUN true\n");
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->target, 0);
  EXPECT_EQ(g->order, std::vector<int>{0});
  EXPECT_EQ(g->stages[0].from.image, "busybox");
}

TEST(GraphTest, UnneededStagesAreSkipped) {
  auto g = Plan(
      "FROM busybox AS a\nRUN true\n"
      "FROM busybox AS unused\nRUN false\n"
      "FROM a AS b\nCOPY --from=0 /x /y\n");
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->target, 2);
  EXPECT_EQ(g->order, (std::vector<int>{0, 2}));
  EXPECT_FALSE(g->stages[1].needed);
  EXPECT_EQ(g->stages[2].from.stage, 0);
  EXPECT_EQ(g->stages[2].copy_from.at(0).stage, 0);
}

TEST(GraphTest, TargetSelectsStage) {
  auto g = Plan("FROM busybox AS a\nFROM busybox AS b\nCOPY --from=a /x /y\n", "A");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->target, 0);
  EXPECT_EQ(g->order, std::vector<int>{0});
}

TEST(GraphTest, UnknownTargetIsRejected) {
  auto g = Plan("FROM busybox AS a\n", "nope");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("nope"), std::string::npos);
  EXPECT_NE(g.error().message().find("stages: a"), std::string::npos);
}

TEST(GraphTest, CopyFromImageAndIndex) {
  auto g =
      Plan("FROM busybox AS a\nFROM scratch\nCOPY --from=alpine:3 /x /y\nCOPY --from=0 /a /b\n");
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->stages[1].copy_from.at(0).image, "alpine:3");
  EXPECT_EQ(g->stages[1].copy_from.at(1).stage, 0);
  EXPECT_EQ(g->order, (std::vector<int>{0, 1}));
}

TEST(GraphTest, BadIndexAndSelfReferenceNameTheLine) {
  auto g = Plan("FROM busybox\nCOPY --from=5 /x /y\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().message().rfind("Dockerfile:2:", 0), 0u) << g.error().message();
  auto self = Plan("FROM busybox AS a\nCOPY --from=a /x /y\n");
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.error().message().find("own stage"), std::string::npos);
}

TEST(GraphTest, LaterStagesCannotBeUsedSoNoCycles) {
  // A cycle needs a reference forward; Docker allows only earlier stages.
  auto g = Plan("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\nCOPY --from=a /x /y\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().message().rfind("Dockerfile:2:", 0), 0u) << g.error().message();
  EXPECT_NE(g.error().message().find("defined later"), std::string::npos) << g.error().message();
  auto mount = Plan("FROM busybox\nRUN --mount=from=later,target=/m true\nFROM busybox AS later\n");
  ASSERT_FALSE(mount.ok());
  EXPECT_NE(mount.error().message().find("defined later"), std::string::npos);
  auto index = Plan("FROM busybox\nCOPY --from=1 /x /y\nFROM busybox\n");
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.error().message().find("defined later"), std::string::npos);
}

TEST(GraphTest, DuplicateNamesAreRejected) {
  auto g = Plan("FROM busybox AS a\nFROM busybox AS A\n");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("duplicate"), std::string::npos);
}

TEST(GraphTest, FromExpandsArgsButCopyFromDoesNot) {
  auto df = parser::ParseDockerfile(
      "ARG BASE=busybox\nFROM $BASE AS a\nFROM scratch\nCOPY --from=a /x /y\n");
  ASSERT_TRUE(df.ok()) << df.error().message();
  GraphOptions o;
  o.meta_values = {{"BASE", "busybox"}};
  auto g = BuildGraph(*df, o);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->stages[0].base, "busybox");
  EXPECT_EQ(g->stages[1].copy_from.at(0).stage, 0);
  // BuildKit: "variable expansion is not supported for --from" (COPY and RUN --mount).
  for (const char* text : {"FROM busybox AS a\nFROM scratch\nARG SRC=a\nCOPY --from=$SRC /x /y\n",
                           "FROM busybox AS a\nFROM scratch\nARG SRC=a\n"
                           "RUN --mount=from=${SRC},target=/m true\n"}) {
    auto bad = parser::ParseDockerfile(text);
    ASSERT_TRUE(bad.ok()) << bad.error().message();
    auto r = BuildGraph(*bad, o);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find("variable expansion"), std::string::npos)
        << r.error().message();
  }
}

TEST(GraphTest, LaterStageNameInFromIsAnImage) {
  auto g = Plan("FROM b AS a\nFROM busybox AS b\n", "a");
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->stages[0].from.stage, -1);
  EXPECT_EQ(g->stages[0].from.image, "b");
}

}  // namespace
}  // namespace bld::builder
