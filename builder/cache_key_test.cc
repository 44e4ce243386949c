#include "builder/cache_key.h"

#include <gtest/gtest.h>

namespace bld::builder {
namespace {

TEST(CacheKeyTest, SameInputsSameKey) {
  CacheKey a("bld.run.v1"), b("bld.run.v1");
  a.Add("command", "echo hi");
  b.Add("command", "echo hi");
  EXPECT_EQ(a.Digest(), b.Digest());
}

TEST(CacheKeyTest, VersionValueAndNameMatter) {
  CacheKey base("bld.run.v1");
  base.Add("command", "echo hi");
  CacheKey version("bld.run.v2");
  version.Add("command", "echo hi");
  CacheKey value("bld.run.v1");
  value.Add("command", "echo ho");
  CacheKey name("bld.run.v1");
  name.Add("commanD", "echo hi");
  EXPECT_NE(base.Digest(), version.Digest());
  EXPECT_NE(base.Digest(), value.Digest());
  EXPECT_NE(base.Digest(), name.Digest());
}

TEST(CacheKeyTest, EncodingIsUnambiguous) {
  // "ab"+"c" must not collide with "a"+"bc".
  CacheKey a("v"), b("v");
  a.Add("x", "ab");
  a.Add("y", "c");
  b.Add("x", "a");
  b.Add("y", "bc");
  EXPECT_NE(a.Digest(), b.Digest());
  CacheKey c("v"), d("v");
  c.Add("x1", "");
  d.Add("x", "1");
  EXPECT_NE(c.Digest(), d.Digest());
}

TEST(CacheKeyTest, OrderMatters) {
  CacheKey a("v"), b("v");
  a.Add("x", "1");
  a.Add("y", "2");
  b.Add("y", "2");
  b.Add("x", "1");
  EXPECT_NE(a.Digest(), b.Digest());
}

TEST(CacheKeyTest, DiffInputsNamesChanges) {
  CacheKey a("v"), b("v");
  a.Add("file:a.txt", "1");
  a.Add("file:b.txt", "2");
  a.Add("file:gone", "3");
  b.Add("file:a.txt", "1");
  b.Add("file:b.txt", "changed");
  b.Add("file:new", "4");
  auto d = DiffInputs(a.InputDigests(), b.InputDigests());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "changed: file:b.txt");
  EXPECT_EQ(d[1], "removed: file:gone");
  EXPECT_EQ(d[2], "added: file:new");
  EXPECT_TRUE(DiffInputs(a.InputDigests(), a.InputDigests()).empty());
}

}  // namespace
}  // namespace bld::builder
