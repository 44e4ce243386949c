// README.md's command reference is every command's --help, byte for byte.
#include <gtest/gtest.h>

#include <sstream>

#include "base/file.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

TEST(CliReadmeTest, CommandReferenceMatchesHelp) {
  auto readme = ReadFile(SourceDir() + "/README.md");
  ASSERT_TRUE(readme.ok()) << readme.error().message();
  const std::string begin = "<!-- commands:begin -->\n", end = "<!-- commands:end -->\n";
  size_t b = readme->find(begin), e = readme->find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  std::string section = readme->substr(b + begin.size(), e - b - begin.size());

  const std::string root = "/nonexistent-bld-root-help-needs-no-store";
  auto top = RunBld(root, {"--help"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  std::string want = "#### `bld`\n\n```\n" + top.out + "```\n\n";
  std::istringstream in(top.out.substr(top.out.find("Subcommands:\n")));
  std::string line;
  std::getline(in, line);
  int commands = 0;
  while (std::getline(in, line)) {
    if (line.size() < 3 || line.substr(0, 2) != "  " || line[2] == ' ') continue;
    std::string c = line.substr(2, line.find(' ', 2) - 2);
    auto help = RunBld(root, {c, "--help"});
    EXPECT_EQ(help.exit_code, 0) << c << ": " << help.err;
    want += "#### `bld " + c + "`\n\n```\n" + help.out + "```\n\n";
    ++commands;
  }
  EXPECT_GE(commands, 20);
  EXPECT_EQ(section, want) << "README.md's command reference is stale: run "
                              "scripts/readme-commands.sh BUILD_DIR/cli/bld README.md";
}

}  // namespace
}  // namespace bld::testing
