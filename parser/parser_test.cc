#include "parser/parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/peer_dir.h"

namespace bld::parser {
namespace {

std::string PeerDir() {
  const char* s = std::getenv("BLD_SOURCE_DIR");
  return std::string(s != nullptr ? s : BLD_SOURCE_DIR) + "/../shared/peer";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AST MustParse(std::string_view text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? std::move(*r) : AST{};
}

std::string DumpOf(std::string_view text) {
  auto r = Parse(text);
  return r.ok() ? Dump(*r) : "ERR: " + r.error().message();
}

TEST(ParserTest, BuildKitTestfiles) {
  namespace fs = std::filesystem;
  fs::path dir = PeerDir() + "/buildkit-parser/testfiles";
  BLD_REQUIRE_PEER_DIR(dir);
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto r = Parse(Slurp((e.path() / "Dockerfile").string()));
    ASSERT_TRUE(r.ok()) << e.path() << ": " << r.error().message();
    EXPECT_EQ(Dump(*r), Slurp((e.path() / "result").string())) << e.path();
    ++n;
  }
  EXPECT_GE(n, 17);
}

TEST(ParserTest, BuildKitNegativeTestfiles) {
  namespace fs = std::filesystem;
  BLD_REQUIRE_PEER_DIR(PeerDir() + "/buildkit-parser/testfiles-negative");
  for (const auto& e : fs::directory_iterator(PeerDir() + "/buildkit-parser/testfiles-negative")) {
    auto r = Parse(Slurp((e.path() / "Dockerfile").string()));
    EXPECT_FALSE(r.ok()) << e.path();
  }
}

// BuildKit: a JSON array that holds anything but strings is an error, not shell form;
// text that is not a JSON array at all stays shell form.
TEST(ParserTest, JsonArraysMustHoldStringsOnly) {
  for (const char* df :
       {"FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n", "FROM a\nRUN [\"sh\", 1]\n",
        "FROM a\nENTRYPOINT [true]\n", "FROM a\nCOPY [\"a\", {}]\n", "FROM a\nVOLUME [null]\n",
        "FROM a\nHEALTHCHECK CMD [\"a\", 2]\n", "FROM a\nSHELL [[]]\n"}) {
    auto r = Parse(df);
    ASSERT_FALSE(r.ok()) << df;
    EXPECT_NE(r.error().message().find("arrays must be comprised of strings only"),
              std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find(":2"), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(DumpOf("FROM a\nCMD [ \"echo\", \"x\" \n"),
            "(from \"a\")\n(cmd \"[ \\\"echo\\\", \\\"x\\\"\")\n");
  EXPECT_EQ(DumpOf("FROM a\nCMD [\"echo\", \"x\"]\n"), "(from \"a\")\n(cmd \"echo\" \"x\")\n");
}

TEST(ParserTest, LineNumbersAndOriginal) {
  AST ast = MustParse("# comment\nFROM a\n\nRUN one \\\n  # skipped\n  two\nCMD x\n");
  ASSERT_EQ(ast.children.size(), 3u);
  EXPECT_EQ(ast.children[0].start_line, 2);
  EXPECT_EQ(ast.children[1].start_line, 4);
  EXPECT_EQ(ast.children[1].end_line, 6);
  EXPECT_EQ(ast.children[1].original, "RUN one   two");
  EXPECT_EQ(ast.children[2].start_line, 7);
  EXPECT_EQ(ast.children[0].comments, std::vector<std::string>{"comment"});
}

TEST(ParserTest, CrlfAndBom) {
  EXPECT_EQ(DumpOf("\xEF\xBB\xBF"
                   "FROM a\r\nRUN b \\\r\n c\r\n"),
            "(from \"a\")\n(run \"b  c\")\n");
  // A BOM later in the file is just text.
  EXPECT_EQ(DumpOf("FROM a\n\xEF\xBB\xBFRUN x\n"), "(from \"a\")\n(\xEF\xBB\xBFrun \"\")\n");
}

TEST(ParserTest, Directives) {
  AST ast = MustParse(
      "# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM a\nRUN b `\n c\n");
  EXPECT_EQ(ast.escape_token, '`');
  ASSERT_EQ(ast.directives.size(), 3u);
  EXPECT_EQ(ast.directives[0].name, "syntax");
  EXPECT_EQ(ast.directives[0].value, "docker/dockerfile:1");
  EXPECT_EQ(ast.directives[2].value, "skip=all");
  EXPECT_EQ(Dump(ast), "(from \"a\")\n(run \"b  c\")\n");
  // After an instruction or an ordinary comment, directives are comments.
  EXPECT_EQ(MustParse("FROM a\n# escape=`\nRUN b \\\n c\n").escape_token, '\\');
  EXPECT_EQ(MustParse("# hello\n# escape=`\nFROM a\n").escape_token, '\\');
  auto dup = Parse("# escape=`\n# escape=\\\nFROM a\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message(), "Dockerfile:2: only one escape parser directive can be used");
  auto bad = Parse("# escape=x\nFROM a\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
}

TEST(ParserTest, Heredocs) {
  AST ast = MustParse(
      "FROM a\n"
      "RUN <<EOF\necho $HOME\nEOF\n"
      "RUN 3<<-'X' <<\"Y\" cat\n\t\tone\n\tX\ntwo\nY\n"
      "COPY <<a.txt <<b.txt /dst/\nA\na.txt\nB\nb.txt\n"
      "ONBUILD RUN <<E sh\nx\nE\n"
      "RUN [\"<<NOT\"]\n"
      "CMD <<NOT\n");
  ASSERT_EQ(ast.children.size(), 7u);
  const Node& r1 = ast.children[1];
  ASSERT_EQ(r1.heredocs.size(), 1u);
  EXPECT_EQ(r1.heredocs[0].name, "EOF");
  EXPECT_TRUE(r1.heredocs[0].expand);
  EXPECT_EQ(r1.heredocs[0].content, "echo $HOME\n");
  EXPECT_EQ(r1.start_line, 2);
  EXPECT_EQ(r1.end_line, 4);
  const Node& r2 = ast.children[2];
  ASSERT_EQ(r2.heredocs.size(), 2u);
  EXPECT_EQ(r2.heredocs[0].name, "X");
  EXPECT_EQ(r2.heredocs[0].file_descriptor, 3u);
  EXPECT_TRUE(r2.heredocs[0].chomp);
  EXPECT_FALSE(r2.heredocs[0].expand);
  EXPECT_EQ(r2.heredocs[0].content, "\t\tone\n");
  EXPECT_EQ(ChompHeredoc(r2.heredocs[0].content), "one\n");
  EXPECT_EQ(r2.heredocs[1].name, "Y");
  EXPECT_FALSE(r2.heredocs[1].expand);
  EXPECT_EQ(r2.heredocs[1].content, "two\n");
  EXPECT_EQ(ast.children[3].heredocs.size(), 2u);
  EXPECT_EQ(ast.children[3].heredocs[1].content, "B\n");
  EXPECT_EQ(ast.children[4].heredocs.size(), 1u);
  EXPECT_TRUE(ast.children[5].heredocs.empty());  // JSON form: no heredocs
  EXPECT_TRUE(ast.children[6].heredocs.empty());  // CMD: no heredocs
  EXPECT_EQ(DumpNode(ast.children[2]), "run \"3<<-'X' <<\\\"Y\\\" cat\"");

  auto unterminated = Parse("FROM a\nRUN <<EOF\nhello\n");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.error().message().rfind("Dockerfile:2: unterminated heredoc", 0), 0u);
}

TEST(ParserTest, JsonFormAndFallback) {
  EXPECT_EQ(DumpOf("CMD [\"a\"] x\n"), "(cmd \"[\\\"a\\\"] x\")\n");
  EXPECT_EQ(DumpOf("CMD [\"\\ud83d\\ude00\", \"\\ud800\"]\n"), "(cmd \"😀\" \"\xEF\xBF\xBD\")\n");
  EXPECT_EQ(DumpOf("COPY [\"a b\", \"c\"]\n"), "(copy \"a b\" \"c\")\n");
  AST ast = MustParse("RUN [\"a\"]\nRUN a\n");
  EXPECT_TRUE(ast.children[0].json);
  EXPECT_FALSE(ast.children[1].json);
}

TEST(ParserTest, FlagsAndUnknownInstructions) {
  EXPECT_EQ(DumpOf("COPY --from=\"a b\" --chown=1:1 x y\n"),
            "(copy [\"--from=a b\" \"--chown=1:1\"] \"x\" \"y\")\n");
  EXPECT_EQ(DumpOf("frob x y\n"), "(frob \"\")\n");
  EXPECT_EQ(DumpOf("ONBUILD\n"), "(onbuild)\n");
  EXPECT_EQ(DumpOf("ONBUILD ONBUILD RUN x\n"), "(onbuild (onbuild (run \"x\")))\n");
  EXPECT_EQ(DumpOf("ARG a=1 b\n"), "(arg \"a=1\" \"b\")\n");
  EXPECT_EQ(DumpOf("LABEL a\n"), "ERR: Dockerfile:1: LABEL must have two arguments");
  EXPECT_EQ(DumpOf("LABEL a=1 b\n"),
            "ERR: Dockerfile:1: Syntax error - can't find = in \"b\". Must be of the form: "
            "name=value");
}

TEST(ParserTest, Quoting) {
  EXPECT_EQ(DumpOf("RUN a\x01\x7f\xff \xc2\xa0"
                   "b\n"),
            "(run \"a\\x01\\x7f\\xff \\u00a0b\")\n");
}

TEST(ParserTest, ErrorsUseFileName) {
  ParseOptions o;
  o.file_name = "sub/Dockerfile.dev";
  auto r = Parse("\n\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "sub/Dockerfile.dev:2: file with no instructions");
}

TEST(ParserTest, EmptyContinuationWarns) {
  AST ast = MustParse("FROM a\nRUN a \\\n\n  b\n");
  EXPECT_EQ(Dump(ast), "(from \"a\")\n(run \"a   b\")\n");
  ASSERT_EQ(ast.warnings.size(), 1u);
  EXPECT_EQ(ast.warnings[0].line, 4);
}

TEST(ParserTest, NodeCopy) {
  AST ast = MustParse("ONBUILD COPY a b\n");
  Node copy = ast.children[0];
  ASSERT_TRUE(copy.nested);
  EXPECT_EQ(DumpNode(copy), DumpNode(ast.children[0]));
  EXPECT_NE(copy.nested.get(), ast.children[0].nested.get());
}

}  // namespace
}  // namespace bld::parser
