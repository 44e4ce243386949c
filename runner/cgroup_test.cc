// The cgroup v2 code against a directory laid out like a delegated cgroup2 subtree (this
// machine is v1/hybrid): the files bld writes and reads, checked after each step.
#include "runner/cgroup.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/temp_dir.h"

namespace bld::runner {
namespace {

class CgroupV2FakeTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("", "bld-cg2-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    h_.root = dir_->path();
    h_.v2 = true;
    h_.self[""] = "/user.slice/user-0.slice/session-1.scope";
    // The delegated subtree: its controllers, an empty subtree_control, and the files the
    // kernel would create in the container's cgroup.
    deleg_ = h_.root + "/delegated";
    ASSERT_TRUE(MkdirAll(deleg_ + "/bld-t1").ok());
    Put(deleg_ + "/cgroup.controllers", "cpuset cpu io memory pids\n");
    Put(deleg_ + "/cgroup.subtree_control", "");
    for (const char* f : {"memory.max", "memory.swap.max", "cpu.max", "pids.max", "cgroup.procs",
                          "memory.events", "cpu.stat"}) {
      Put(deleg_ + "/bld-t1/" + f, "");
    }
  }
  static void Put(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomic(path, data).ok()) << path;
  }
  static std::string Get(const std::string& path) {
    auto r = ReadFile(path);
    return r.ok() ? *r : "<missing>";
  }
  std::optional<TempDir> dir_;
  Cgroup::Hierarchy h_;
  std::string deleg_;
};

TEST_F(CgroupV2FakeTreeTest, LimitsUnderTheDelegatedParent) {
  CgroupLimits l;
  l.memory_bytes = 64 << 20;
  l.cpus = 0.5;
  l.pids = 32;
  auto cg = Cgroup::CreateIn(h_, "/delegated", "t1", l, false, {});
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  EXPECT_TRUE(cg->v2());
  ASSERT_EQ(cg->dirs().size(), 1u);
  EXPECT_EQ(cg->dirs()[0], deleg_ + "/bld-t1");
  // Step 1: the controllers were enabled for the parent's children.
  EXPECT_EQ(Get(deleg_ + "/cgroup.subtree_control"), "+memory +cpu +pids");
  // Step 2: the limits.
  EXPECT_EQ(Get(deleg_ + "/bld-t1/memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(Get(deleg_ + "/bld-t1/memory.swap.max"), "0");
  EXPECT_EQ(Get(deleg_ + "/bld-t1/cpu.max"), "50000 100000");
  EXPECT_EQ(Get(deleg_ + "/bld-t1/pids.max"), "32");
  // Step 3: the process goes in.
  ASSERT_TRUE(cg->AddProcess(4242).ok());
  EXPECT_EQ(Get(deleg_ + "/bld-t1/cgroup.procs"), "4242");
  // Step 4: accounting read back from the kernel's files.
  Put(deleg_ + "/bld-t1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Put(deleg_ + "/bld-t1/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\n"
      "throttled_usec 777\n");
  Cgroup::Stats st = cg->ReadStats();
  EXPECT_TRUE(st.oom_killed);
  EXPECT_EQ(st.cpu_usage_us, 1500u);
  EXPECT_EQ(st.nr_throttled, 2u);
  EXPECT_EQ(st.throttled_us, 777u);
}

TEST_F(CgroupV2FakeTreeTest, DefaultParentIsOurOwnCgroup) {
  std::string own = h_.root + h_.self[""];
  ASSERT_TRUE(MkdirAll(own + "/bld-t1").ok());
  Put(own + "/cgroup.controllers", "memory pids\n");
  Put(own + "/cgroup.subtree_control", "");
  Put(own + "/bld-t1/pids.max", "");
  CgroupLimits l;
  l.pids = 7;
  auto cg = Cgroup::CreateIn(h_, "", "t1", l, false, {});
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  EXPECT_EQ(Get(own + "/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(Get(own + "/bld-t1/pids.max"), "7");
}

TEST_F(CgroupV2FakeTreeTest, MissingControllerAndUndelegatedParentAreClearErrors) {
  Put(deleg_ + "/cgroup.controllers", "cpu pids\n");
  CgroupLimits l;
  l.memory_bytes = 64 << 20;
  auto cg = Cgroup::CreateIn(h_, "/delegated", "t1", l, false, {});
  ASSERT_FALSE(cg.ok());
  EXPECT_NE(cg.error().message().find("memory limit: controller not available in " + deleg_),
            std::string::npos)
      << cg.error().message();
  // Nothing was written on the way to the error.
  EXPECT_EQ(Get(deleg_ + "/cgroup.subtree_control"), "");

  // A parent whose subtree_control cannot be written (not delegated to us).
  ASSERT_EQ(unlink((deleg_ + "/cgroup.subtree_control").c_str()), 0);
  ASSERT_TRUE(MkdirAll(deleg_ + "/cgroup.subtree_control").ok());
  CgroupLimits p;
  p.pids = 5;
  cg = Cgroup::CreateIn(h_, "/delegated", "t1", p, false, {});
  ASSERT_FALSE(cg.ok());
  EXPECT_NE(cg.error().message().find("--cgroup-parent"), std::string::npos)
      << cg.error().message();
  EXPECT_EQ(Get(deleg_ + "/bld-t1/pids.max"), "");
}

TEST_F(CgroupV2FakeTreeTest, ParentMayNotClimbOut) {
  CgroupLimits l;
  l.pids = 5;
  for (const char* bad : {"/delegated/../..", "..", "/a/./b"}) {
    auto cg = Cgroup::CreateIn(h_, bad, "t1", l, false, {});
    ASSERT_FALSE(cg.ok()) << bad;
    EXPECT_NE(cg.error().message().find("are not allowed"), std::string::npos);
  }
}

TEST_F(CgroupV2FakeTreeTest, DevicePolicyIsAttachedToTheContainerCgroup) {
  if (geteuid() != 0) GTEST_SKIP() << "BPF_PROG_LOAD needs root";
  // The program is built and loaded (the verifier accepts it); attaching needs a real
  // cgroup2 directory, which a plain directory is not: the error names the step and dir.
  auto cg = Cgroup::CreateIn(h_, "/delegated", "t1", {}, true, {"c 10:200 rwm"});
  ASSERT_FALSE(cg.ok());
  EXPECT_NE(cg.error().message().find("attach the BPF_CGROUP_DEVICE program to " + deleg_ +
                                      "/bld-t1"),
            std::string::npos)
      << cg.error().message();
  // No controller is needed for it: subtree_control untouched.
  EXPECT_EQ(Get(deleg_ + "/cgroup.subtree_control"), "");
}

}  // namespace
}  // namespace bld::runner
