#include "runner/capabilities.h"

#include <gtest/gtest.h>
#include <linux/capability.h>

namespace bld::runner {
namespace {

CapabilitySet Bit(int cap) { return CapabilitySet{1} << cap; }

TEST(CapabilitiesTest, Names) {
  EXPECT_EQ(*CapabilityFromName("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(*CapabilityFromName("sys_admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(*CapabilityFromName("Net_Raw"), CAP_NET_RAW);
  EXPECT_EQ(CapabilityName(CAP_CHOWN), "CAP_CHOWN");
  EXPECT_EQ(CapabilityName(40), "CAP_CHECKPOINT_RESTORE");
  auto bad = CapabilityFromName("CAP_FLY");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("CAP_FLY"), std::string::npos);
}

TEST(CapabilitiesTest, DockerDefault) {
  CapabilitySet d = DefaultCapabilities();
  EXPECT_EQ(__builtin_popcountll(d), 14);
  EXPECT_TRUE(d & Bit(CAP_CHOWN));
  EXPECT_TRUE(d & Bit(CAP_AUDIT_WRITE));
  EXPECT_FALSE(d & Bit(CAP_SYS_ADMIN));
  EXPECT_FALSE(d & Bit(CAP_NET_ADMIN));
  // 0x00000000a80425fb is the CapEff Docker containers report.
  EXPECT_EQ(d, 0xa80425fbull);
}

TEST(CapabilitiesTest, AddDrop) {
  auto s = ComputeCapabilities({"NET_ADMIN"}, {"chown", "CAP_KILL"}, 40);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(*s & Bit(CAP_NET_ADMIN));
  EXPECT_FALSE(*s & Bit(CAP_CHOWN));
  EXPECT_FALSE(*s & Bit(CAP_KILL));
  EXPECT_TRUE(*s & Bit(CAP_SETUID));
}

TEST(CapabilitiesTest, All) {
  EXPECT_EQ(*ComputeCapabilities({"ALL"}, {}, 40), (CapabilitySet{1} << 41) - 1);
  EXPECT_EQ(*ComputeCapabilities({}, {"all"}, 40), 0u);
  EXPECT_EQ(*ComputeCapabilities({"CHOWN"}, {"ALL"}, 40), Bit(CAP_CHOWN));
  EXPECT_EQ(*ComputeCapabilities({"ALL"}, {"SYS_ADMIN"}, 40),
            ((CapabilitySet{1} << 41) - 1) & ~Bit(CAP_SYS_ADMIN));
}

TEST(CapabilitiesTest, Errors) {
  EXPECT_FALSE(ComputeCapabilities({"NOPE"}, {}, 40).ok());
  EXPECT_FALSE(ComputeCapabilities({}, {"NOPE"}, 40).ok());
  EXPECT_FALSE(ComputeCapabilities({"CHECKPOINT_RESTORE"}, {}, 39).ok());
}

}  // namespace
}  // namespace bld::runner
