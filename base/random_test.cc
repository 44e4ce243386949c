#include "base/random.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"

namespace bld {
namespace {

TEST(RandomHexTest, LengthAndAlphabet) {
  for (size_t n : {1u, 4u, 16u, 33u, 64u}) {
    std::string s = RandomHex(n);
    EXPECT_EQ(s.size(), n);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
  }
  EXPECT_NE(RandomHex(32), RandomHex(32));
}

TEST(RandomHexTest, ForkedChildDiffersFromParent) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string s = RandomHex(32);
    (void)!write(fds[1], s.data(), s.size());
    _exit(0);
  }
  close(fds[1]);
  std::string parent = RandomHex(32);
  auto child = ReadFd(fds[0]);
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->size(), 32u);
  EXPECT_NE(*child, parent);
}

}  // namespace
}  // namespace bld
