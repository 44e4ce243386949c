#include "base/child_process.h"

#include <gtest/gtest.h>

namespace bld {
namespace {

TEST(ChildProcessTest, CapturesOutputAndExitCode) {
  auto r = RunCommand({"sh", "-c", "cat; echo err >&2; exit 3"}, "input");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "input");
  EXPECT_EQ(r->err, "err\n");
}

TEST(ChildProcessTest, MissingProgramIsNotFound) {
  auto r = ChildProcess::Spawn({"/nonexistent/program"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST(ChildProcessTest, SignalExitCode) {
  auto r = RunCommand({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 137);
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto c = ChildProcess::Spawn({"sleep", "100"});
    ASSERT_TRUE(c.ok());
    pid = c->pid();
  }
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace bld
