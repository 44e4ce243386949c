#include "parser/dockerignore.h"

#include <gtest/gtest.h>

namespace bld::parser {
namespace {

IgnoreMatcher M(std::string_view content) {
  auto m = IgnoreMatcher::FromFile(content);
  EXPECT_TRUE(m.ok()) << m.error().message();
  return m.ok() ? std::move(*m) : IgnoreMatcher{};
}

TEST(DockerignoreTest, ReadPatterns) {
  EXPECT_EQ(ReadIgnorePatterns("\xEF\xBB\xBF# comment\r\n  ./a/../b/  \n\n/abs\n! ./keep\n #not\n"),
            (std::vector<std::string>{"b", "abs", "!keep", "#not"}));
}

TEST(DockerignoreTest, Matching) {
  IgnoreMatcher m = M("*.log\n!important.log\nbuild/\n**/node_modules\ndocs/**/*.md\ntmp?\n");
  EXPECT_TRUE(m.Excluded("a.log"));
  EXPECT_FALSE(m.Excluded("important.log"));
  EXPECT_FALSE(m.Excluded("sub/a.log"));  // * does not cross '/'
  EXPECT_TRUE(m.Excluded("build"));
  EXPECT_TRUE(m.Excluded("build/x/y.o"));  // parent directory matches
  EXPECT_TRUE(m.Excluded("node_modules/x"));
  EXPECT_TRUE(m.Excluded("a/b/node_modules/x"));
  EXPECT_TRUE(m.Excluded("docs/a.md"));
  EXPECT_TRUE(m.Excluded("docs/x/y/a.md"));
  EXPECT_FALSE(m.Excluded("docs/a.txt"));
  EXPECT_TRUE(m.Excluded("tmp1"));
  EXPECT_FALSE(m.Excluded("tmp12"));
  EXPECT_TRUE(m.HasExceptions());
}

TEST(DockerignoreTest, LastMatchWins) {
  IgnoreMatcher m = M("!a.txt\n*.txt\n");
  EXPECT_TRUE(m.Excluded("a.txt"));
  IgnoreMatcher n = M("*\n!src\nsrc/*.tmp\n");
  EXPECT_FALSE(n.Excluded("src/main.c"));
  EXPECT_TRUE(n.Excluded("src/x.tmp"));
  EXPECT_TRUE(n.Excluded("README"));
}

TEST(DockerignoreTest, EscapesAndClasses) {
  IgnoreMatcher m = M("\\*star\nfile[0-9].txt\nx.y\n");
  EXPECT_TRUE(m.Excluded("*star"));
  EXPECT_FALSE(m.Excluded("astar"));
  EXPECT_TRUE(m.Excluded("file3.txt"));
  EXPECT_FALSE(m.Excluded("filex.txt"));
  EXPECT_TRUE(m.Excluded("x.y"));
  EXPECT_FALSE(m.Excluded("xzy"));  // '.' is literal
}

TEST(DockerignoreTest, Errors) {
  auto lone = IgnoreMatcher::FromFile("!\n");
  ASSERT_FALSE(lone.ok());
  EXPECT_EQ(lone.error().message(), ".dockerignore: illegal exclusion pattern: \"!\"");
  EXPECT_FALSE(IgnoreMatcher::FromFile("[a-\n").ok());
  EXPECT_FALSE(IgnoreMatcher::FromFile("abc\\\n").ok());
}

TEST(DockerignoreTest, DockerfileSpecificFileWins) {
  EXPECT_EQ(DockerfileIgnorePath("sub/Dockerfile.dev"), "sub/Dockerfile.dev.dockerignore");
  std::optional<std::string> specific = "a\n", root = "b\n", none;
  EXPECT_EQ(*SelectIgnoreFile(specific, root), "a\n");
  EXPECT_EQ(*SelectIgnoreFile(none, root), "b\n");
  EXPECT_FALSE(SelectIgnoreFile(none, none).has_value());
}

TEST(DockerignoreTest, CleanPath) {
  EXPECT_EQ(CleanPath(""), ".");
  EXPECT_EQ(CleanPath("./a//b/../c/"), "a/c");
  EXPECT_EQ(CleanPath("/../x"), "/x");
  EXPECT_EQ(CleanPath("../../x"), "../../x");
  EXPECT_EQ(CleanPath("a/.."), ".");
}

}  // namespace
}  // namespace bld::parser
