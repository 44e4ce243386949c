#include "runner/idmap.h"

#include <gtest/gtest.h>

namespace bld::runner {
namespace {

TEST(IdMapTest, ParseSubIds) {
  const char* file =
      "alice:100000:65536\n"
      "bob:200000:65536\n"
      "1001:300000:1000\n"
      "alice:500000:10\n"
      "broken\n"
      "alice:x:1\n"
      "alice:1:0\n";
  auto a = ParseSubIds(file, "alice", 1000);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].start, 100000u);
  EXPECT_EQ(a[0].count, 65536u);
  EXPECT_EQ(a[1].start, 500000u);
  auto by_id = ParseSubIds(file, "carol", 1001);
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(by_id[0].start, 300000u);
  EXPECT_TRUE(ParseSubIds(file, "dave", 7).empty());
}

TEST(IdMapTest, Format) {
  EXPECT_EQ(FormatIdMap({{0, 1000, 1}, {1, 100000, 65536}}), "0 1000 1\n1 100000 65536\n");
}

}  // namespace
}  // namespace bld::runner
