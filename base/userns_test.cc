#include "base/userns.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace bld {
namespace {

TEST(ParseIdMap, ReadsKernelFormat) {
  auto m = ParseIdMap("         0       1000          1\n         1     100000      65536\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].inside, 0u);
  EXPECT_EQ(m[0].outside, 1000u);
  EXPECT_EQ(m[0].count, 1u);
  EXPECT_EQ(m[1].inside, 1u);
  EXPECT_EQ(m[1].outside, 100000u);
  EXPECT_EQ(m[1].count, 65536u);
  EXPECT_TRUE(IdMapContains(m, 0));
  EXPECT_TRUE(IdMapContains(m, 65536));
  EXPECT_FALSE(IdMapContains(m, 65537));
}

TEST(ParseIdMap, SkipsMalformedLines) {
  auto m = ParseIdMap("0 0\nx 1 2\n0 0 4294967295\n5 6 0\n1 2 3 4\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].count, 4294967295u);
  EXPECT_TRUE(IdMapContains(m, 4294967294u));
  EXPECT_TRUE(ParseIdMap("").empty());
}

TEST(SelfUserNamespace, AgreesWithTheKernel) {
  // Whatever namespace the test runs in, its own uid and gid are mapped.
  EXPECT_TRUE(UidMapped(geteuid()));
  EXPECT_TRUE(GidMapped(getegid()));
  if (InInitialUserNamespace()) {
    EXPECT_TRUE(UidMapped(123456789));
    EXPECT_FALSE(SetgroupsDenied());
  }
}

}  // namespace
}  // namespace bld
