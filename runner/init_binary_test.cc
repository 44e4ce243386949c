#include "runner/init_binary.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace bld::runner {
namespace {

TEST(InitBinaryTest, SealedElfMemfdSharedByCalls) {
  ASSERT_GE(InitBinaryImage().size(), 4u);
  EXPECT_EQ(InitBinaryImage().substr(0, 4), std::string_view("\x7f" "ELF", 4));
  auto fd = InitBinaryFd();
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  auto again = InitBinaryFd();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*fd, *again);
  int seals = fcntl(*fd, F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  // Not even through a new open of /proc/self/fd/N (what a container would try on /proc/1/exe).
  std::string path = "/proc/self/fd/" + std::to_string(*fd);
  int w = open(path.c_str(), O_WRONLY);
  if (w >= 0) {
    EXPECT_LT(write(w, "x", 1), 0);
    close(w);
  }
  EXPECT_NE(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
}

}  // namespace
}  // namespace bld::runner
