#include "runner/user.h"

#include <gtest/gtest.h>

namespace bld::runner {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "broken:x:notanumber:1::/:/bin/sh\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "wheel:x:10:root,alice\n"
    "alice:x:1000:\n"
    "audio:x:29:bob,alice\n"
    "staff:x:50:bob\n";

TEST(ResolveUserTest, EmptyIsRoot) {
  auto u = ResolveUser("", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/root");
  EXPECT_EQ(u->groups, std::vector<gid_t>({0, 10}));
}

TEST(ResolveUserTest, NameWithSupplementaryGroups) {
  auto u = ResolveUser("alice", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/alice");
  EXPECT_EQ(u->groups, std::vector<gid_t>({1000, 10, 29}));
}

TEST(ResolveUserTest, NumericUidFoundInPasswd) {
  auto u = ResolveUser("1000", kPasswd, kGroup);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/alice");
}

TEST(ResolveUserTest, UnknownNumericUidDefaultsGidZero) {
  auto u = ResolveUser("4242", kPasswd, kGroup);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/");
  EXPECT_EQ(u->groups, std::vector<gid_t>({0}));
}

TEST(ResolveUserTest, ExplicitGroupByNameAndNumber) {
  auto u = ResolveUser("alice:staff", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 50u);
  auto v = ResolveUser("4242:777", kPasswd, kGroup);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->uid, 4242u);
  EXPECT_EQ(v->gid, 777u);
}

TEST(ResolveUserTest, ExplicitGroupDropsSupplementaryGroups) {
  // runc: supplementary groups only in the implicit form; `id -G` is just the group.
  for (const char* spec : {"alice:alice", "1000:alice", "alice:1000", "1000:1000"}) {
    auto u = ResolveUser(spec, kPasswd, kGroup);
    ASSERT_TRUE(u.ok()) << spec << ": " << u.error().message();
    EXPECT_EQ(u->uid, 1000u) << spec;
    EXPECT_EQ(u->gid, 1000u) << spec;
    EXPECT_EQ(u->groups, std::vector<gid_t>({1000})) << spec;
  }
  auto staff = ResolveUser("alice:staff", kPasswd, kGroup);
  ASSERT_TRUE(staff.ok());
  EXPECT_EQ(staff->groups, std::vector<gid_t>({50}));
}

TEST(ResolveUserTest, Errors) {
  auto u = ResolveUser("nobody", kPasswd, kGroup);
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(u.error().Is(ErrorCode::kNotFound));
  EXPECT_NE(u.error().message().find("nobody"), std::string::npos);
  auto g = ResolveUser("alice:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("nogroup"), std::string::npos);
  EXPECT_TRUE(ResolveUser("alice:", kPasswd, kGroup).error().Is(ErrorCode::kInvalidArgument));
  EXPECT_TRUE(ResolveUser(":1", kPasswd, kGroup).error().Is(ErrorCode::kInvalidArgument));
  EXPECT_TRUE(ResolveUser("a:b:c", kPasswd, kGroup).error().Is(ErrorCode::kInvalidArgument));
}

TEST(ResolveUserTest, MissingFiles) {
  EXPECT_TRUE(ResolveUser("0", "", "").ok());
  EXPECT_FALSE(ResolveUser("root", "", "").ok());
}

}  // namespace
}  // namespace bld::runner
