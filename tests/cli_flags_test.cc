// The command-line layer: unknown commands and flags give docker's messages and exit codes,
// help is clean, aliases, `bld run` flag handling (no flag is silently dropped).
#include <gtest/gtest.h>

#include <sstream>

#include "base/temp_dir.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class CliFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("", "bld-cli-flags-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    root_ = dir_->path() + "/root";
  }
  CommandResult Bld(const std::vector<std::string>& args) { return RunBld(root_, args); }
  // The commands `bld --help` lists.
  std::vector<std::string> Commands() {
    auto r = Bld({"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    std::istringstream in(r.out);
    std::string line;
    bool in_list = false;
    while (std::getline(in, line)) {
      if (line == "Subcommands:") {
        in_list = true;
        continue;
      }
      if (!in_list || line.size() < 3 || line[0] != ' ') continue;
      std::istringstream words(line);
      std::string name;
      words >> name;
      out.push_back(name);
    }
    return out;
  }
  std::unique_ptr<TempDir> dir_;
  std::string root_;
};

TEST_F(CliFlagsTest, EveryCommandRejectsAnUnknownFlag) {
  auto commands = Commands();
  ASSERT_GE(commands.size(), 20u);
  for (const auto& c : commands) {
    SCOPED_TRACE(c);
    auto r = Bld({c, "--bogus", "x"});
    EXPECT_EQ(r.exit_code, c == "run" ? 125 : 2) << r.err;
    EXPECT_EQ(r.err, "bld: unknown flag: --bogus\nSee 'bld " + c + " --help'.\n");
    auto s = Bld({c, "-%"});
    EXPECT_EQ(s.exit_code, c == "run" ? 125 : 2) << s.err;
    EXPECT_EQ(s.err, "bld: unknown shorthand flag: '%' in -%\nSee 'bld " + c + " --help'.\n");
  }
  auto g = Bld({"--bogus", "images"});
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_EQ(g.err, "bld: unknown flag: --bogus\nSee 'bld --help'.\n");
}

TEST_F(CliFlagsTest, UnknownCommandVersionAndHelp) {
  auto r = Bld({"exec2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "bld: 'exec2' is not a bld command\nSee 'bld --help'.\n");
  auto v = Bld({"--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(v.out.starts_with("bld version ")) << v.out;
  EXPECT_EQ(Bld({"version"}).out, v.out);
  for (const auto& c : Commands()) {
    SCOPED_TRACE(c);
    auto h = Bld({"help", c});
    EXPECT_EQ(h.exit_code, 0) << h.err;
    EXPECT_EQ(h.out, Bld({c, "--help"}).out);
    EXPECT_NE(h.out.find("Usage: bld " + c), std::string::npos) << h.out;
    // No CLI11 leftovers: flag defaults, validator names, type names.
    for (const char* leftover : {"{true}", "}=", ":NONNEGATIVE", " TEXT", " INT", " UINT", "IsMember"}) {
      EXPECT_EQ(h.out.find(leftover), std::string::npos) << leftover << " in\n" << h.out;
    }
  }
}

TEST_F(CliFlagsTest, Aliases) {
  auto ls = Bld({"image", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, Bld({"images"}).out);
  auto ps = Bld({"container", "ls", "-a"});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_EQ(ps.out, Bld({"ps", "-a"}).out);
  auto sp = Bld({"system", "prune"});
  EXPECT_EQ(sp.exit_code, 0) << sp.err;
  EXPECT_TRUE(sp.out.starts_with("Removed 0 untagged images")) << sp.out;
  auto bad = Bld({"image", "frob"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "bld: 'image frob' is not a bld command\nSee 'bld --help'.\n");
}

TEST_F(CliFlagsTest, RunRefusesWhatItCannotHonour) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"run", "--rm", "-p", "8080:80", "busybox"}, "-p/--publish is not supported yet"},
           {{"run", "--publish=8080:80", "busybox"}, "-p/--publish is not supported yet"},
           {{"run", "-P", "busybox"}, "-P/--publish-all is not supported yet"},
           {{"run", "--restart=always", "busybox"}, "--restart always is not supported yet"},
           {{"run", "--pull=sometimes", "busybox"}, "--pull"},
       }) {
    auto r = Bld(c.args);
    EXPECT_EQ(r.exit_code, 125) << c.args[2];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("8080:80 not found"), std::string::npos) << r.err;
  }
  // --pull never: only the store is looked at (no registry is contacted).
  auto never = Bld({"run", "--pull", "never", "--rm", "localhost:1/nothing:1"});
  EXPECT_EQ(never.exit_code, 125);
  EXPECT_EQ(never.err.find("Unable to find image"), std::string::npos) << never.err;
  EXPECT_NE(never.err.find("localhost:1/nothing:1"), std::string::npos) << never.err;
  // missing (the default): a name not in the store is pulled, as docker run does.
  auto missing = Bld({"run", "--rm", "127.0.0.1:1/nothing:1"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("Unable to find image '127.0.0.1:1/nothing:1' locally"),
            std::string::npos)
      << missing.err;
  EXPECT_NE(missing.err.find("pull 127.0.0.1:1/nothing:1"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace bld::testing
