#include "parser/shell_word.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "parser/unicode.h"
#include "tests/peer_dir.h"

namespace bld::parser {
namespace {

std::string PeerDir() {
  const char* s = std::getenv("BLD_SOURCE_DIR");
  return std::string(s != nullptr ? s : BLD_SOURCE_DIR) + "/../shared/peer";
}

// Every A (all platforms) and U (Unix) line of BuildKit's envVarTest.
TEST(ShellWordTest, BuildKitEnvVarTest) {
  BLD_REQUIRE_PEER_DIR(PeerDir() + "/buildkit-shell");
  std::ifstream in(PeerDir() + "/buildkit-shell/envVarTest");
  ASSERT_TRUE(in) << "missing ../shared/peer/buildkit-shell/envVarTest";
  EnvMap env = BuildEnvMap({"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="});
  std::string line;
  int lineno = 0, ran = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view t = text::TrimSpace(line);
    if (t.empty() || t[0] == '#') continue;
    size_t a = line.find('|');
    size_t b = line.find('|', a + 1);
    ASSERT_NE(b, std::string::npos) << "line " << lineno;
    std::string platform(text::TrimSpace(std::string_view(line).substr(0, a)));
    std::string source(text::TrimSpace(std::string_view(line).substr(a + 1, b - a - 1)));
    std::string expected(text::TrimSpace(std::string_view(line).substr(b + 1)));
    if (platform != "A" && platform != "U") continue;
    ++ran;
    auto got = ExpandWord(source, env);
    if (expected == "error") {
      EXPECT_FALSE(got.ok()) << "line " << lineno << ": " << source << " gave " << *got;
    } else {
      ASSERT_TRUE(got.ok()) << "line " << lineno << ": " << source << ": " << got.error().message();
      EXPECT_EQ(*got, expected) << "line " << lineno << ": " << source;
    }
  }
  EXPECT_GT(ran, 100);
}

std::string X(std::string_view w, const EnvMap& env) {
  auto r = ExpandWord(w, env);
  return r.ok() ? *r : "ERR: " + r.error().message();
}

TEST(ShellWordTest, PatternModifiers) {
  EnvMap env = BuildEnvMap({"F=archive.tar.gz", "P=/usr/local/bin", "E="});
  EXPECT_EQ(X("${F#*.}", env), "tar.gz");
  EXPECT_EQ(X("${F##*.}", env), "gz");
  EXPECT_EQ(X("${F%.*}", env), "archive.tar");
  EXPECT_EQ(X("${F%%.*}", env), "archive");
  EXPECT_EQ(X("${P/local/opt}", env), "/usr/opt/bin");
  EXPECT_EQ(X("${P//\\//:}", env), ":usr:local:bin");
  EXPECT_EQ(X("${P/#\\/usr/x}", env), "/usr/local/bin");  // no anchors: literal '#'
  EXPECT_EQ(X("${F/?rch/A}", env), "Aive.tar.gz");
  EXPECT_EQ(X("${E-unset}${E:-empty}", env), "empty");
  EXPECT_EQ(X("${U-unset}", env), "unset");
  EXPECT_EQ(X("${E+set}|${E:+nonempty}", env), "set|");
  EXPECT_EQ(X("${E?}", env), "");
  EXPECT_EQ(X("${E:?must be set}", env),
            "ERR: failed to process \"${E:?must be set}\": E: must be set");
  EXPECT_EQ(X("${U:?}", env), "ERR: failed to process \"${U:?}\": U: is not allowed to be unset");
}

TEST(ShellWordTest, QuotesAndEscapes) {
  EnvMap env = BuildEnvMap({"A=a b", "Q='"});
  EXPECT_EQ(X("'$A' \"$A\" $A", env), "$A a b a b");
  EXPECT_EQ(X("\"\\$A\\\"\"", env), "$A\"");
  EXPECT_EQ(X("a\\ b", env), "a b");
  EXPECT_EQ(X("$Q", env), "'");
  ShellWordOptions bt;
  bt.escape_token = '`';
  auto r = ExpandWord("C:\\dir `$A", env, bt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "C:\\dir $A");
}

TEST(ShellWordTest, WordSplitting) {
  EnvMap env = BuildEnvMap({"A=x  y", "EMPTY="});
  auto w = ExpandWords("one \"two three\" $A '' $EMPTY end", env);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"one", "two three", "x", "y", "end"}));
}

TEST(ShellWordTest, SkipUnsetAndRawModes) {
  EnvMap env = BuildEnvMap({"SET=1"});
  ShellWordOptions o;
  o.skip_unset_env = true;
  EXPECT_EQ(*ExpandWord("$SET $NO ${NO} ${NO:-d}", env, o), "1 $NO ${NO} ${NO:-d}");
  o.raw_quotes = true;
  o.raw_escapes = true;
  EXPECT_EQ(*ExpandWord("'a' \"b\" \\c", env, o), "'a' \"b\" \\c");
}

TEST(ShellWordTest, MatchedAndUnmatched) {
  auto r = ProcessShellWord("$A ${B:-x} $C", BuildEnvMap({"A=1", "C=3"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->matched, (std::set<std::string>{"A", "C"}));
  EXPECT_EQ(r->unmatched, (std::set<std::string>{"B"}));
}

TEST(ShellWordTest, Errors) {
  EnvMap env;
  for (const char* bad : {"${", "${}", "${a", "${a:b}", "'x", "\"x", "${a/x", "${a:=b}"}) {
    EXPECT_FALSE(ExpandWord(bad, env).ok()) << bad;
  }
}

}  // namespace
}  // namespace bld::parser
