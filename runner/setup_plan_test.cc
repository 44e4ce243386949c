#include "runner/setup_plan.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

#include "base/file.h"
#include "base/temp_dir.h"

namespace bld::runner {
namespace {

class SetupPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto e = TempDir::Create();
    ASSERT_TRUE(e.ok());
    etc_.emplace(std::move(*e));
    ASSERT_TRUE(MkdirAll(dir_->path() + "/etc").ok());
    ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/etc/passwd",
                                "root:x:0:0:root:/root:/bin/sh\n"
                                "app:x:1000:1000::/home/app:/bin/sh\n")
                    .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/etc/group", "root:x:0:\nwheel:x:10:app\n").ok());
    spec_.rootfs = dir_->path();
    spec_.args = {"true"};
  }
  const SetupOp* Find(const SetupPlan& p, const std::string& target) {
    for (const SetupOp& op : p.ops) {
      if (op.target == target) return &op;
    }
    return nullptr;
  }
  std::optional<TempDir> dir_, etc_;
  Spec spec_;
};

TEST_F(SetupPlanTest, DefaultsAndOrder) {
  auto p = BuildSetupPlan(spec_, etc_->path());
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->hostname, "bld");
  EXPECT_EQ(p->ops.front().target, "/proc");
  EXPECT_EQ(p->ops.back().target, "/");  // cwd
  ASSERT_NE(Find(*p, "/dev/null"), nullptr);
  ASSERT_NE(Find(*p, "/etc/hosts"), nullptr);
  ASSERT_NE(Find(*p, "/proc/kcore"), nullptr);
  EXPECT_EQ(Find(*p, "/proc/kcore")->kind, SetupOp::Kind::kMask);
  EXPECT_TRUE(Find(*p, "/proc/sys")->read_only);
  EXPECT_FALSE(p->seccomp_filter.empty());
  EXPECT_FALSE(p->capabilities & (CapabilitySet{1} << CAP_SYS_ADMIN));
  bool has_path = false;
  for (const auto& e : p->env) has_path |= e.rfind("PATH=", 0) == 0;
  EXPECT_TRUE(has_path);
  EXPECT_EQ(p->search_path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  auto hosts = ReadFile(etc_->path() + "/hostname");
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ(*hosts, "bld\n");
}

TEST_F(SetupPlanTest, UserAndMounts) {
  spec_.user = "app";
  spec_.env = {"PATH=/bin", "HOME=/x"};
  spec_.mounts.push_back({Mount::Type::kTmpfs, "", "/a/b/c", false, "size=1m"});
  spec_.mounts.push_back({Mount::Type::kBind, dir_->path(), "/a", true, ""});
  auto p = BuildSetupPlan(spec_, etc_->path());
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->uid, 1000u);
  EXPECT_EQ(p->gid, 1000u);
  if (geteuid() == 0) {
    EXPECT_EQ(p->groups, std::vector<gid_t>({1000, 10}));
  }
  EXPECT_EQ(p->search_path, "/bin");
  // Shallower destinations are mounted first.
  size_t a = 0, abc = 0;
  for (size_t i = 0; i < p->ops.size(); ++i) {
    if (p->ops[i].target == "/a") a = i;
    if (p->ops[i].target == "/a/b/c") abc = i;
  }
  EXPECT_LT(a, abc);
  EXPECT_TRUE(p->ops[a].read_only);
  EXPECT_EQ(p->ops[abc].data, "size=1m");
}

TEST_F(SetupPlanTest, Errors) {
  Spec s = spec_;
  s.args.clear();
  EXPECT_TRUE(BuildSetupPlan(s, etc_->path()).error().Is(ErrorCode::kInvalidArgument));
  s = spec_;
  s.rootfs = "/nonexistent/rootfs";
  EXPECT_NE(BuildSetupPlan(s, etc_->path()).error().message().find("/nonexistent/rootfs"),
            std::string::npos);
  s = spec_;
  s.user = "ghost";
  EXPECT_NE(BuildSetupPlan(s, etc_->path()).error().message().find("ghost"), std::string::npos);
  s = spec_;
  s.cwd = "relative";
  EXPECT_FALSE(BuildSetupPlan(s, etc_->path()).ok());
  s = spec_;
  s.mounts.push_back({Mount::Type::kBind, "/nonexistent/src", "/x", false, ""});
  EXPECT_NE(BuildSetupPlan(s, etc_->path()).error().message().find("/nonexistent/src"),
            std::string::npos);
  s = spec_;
  s.env = {"NOEQUALS"};
  EXPECT_FALSE(BuildSetupPlan(s, etc_->path()).ok());
  s = spec_;
  s.limits.memory_bytes = 1024;
  EXPECT_NE(BuildSetupPlan(s, etc_->path()).error().message().find("memory limit"),
            std::string::npos);
  s = spec_;
  s.limits.cpus = 0;
  EXPECT_FALSE(BuildSetupPlan(s, etc_->path()).ok());
  s = spec_;
  s.limits.pids = 0;
  EXPECT_FALSE(BuildSetupPlan(s, etc_->path()).ok());
  s = spec_;
  s.cap_add = {"CAP_BOGUS"};
  EXPECT_FALSE(BuildSetupPlan(s, etc_->path()).ok());
}

TEST_F(SetupPlanTest, OwnMountTargetsRefuseSymlinksAndMasksAreDockers) {
  auto plan = BuildSetupPlan(spec_, etc_->path());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  for (const char* t : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys", "/dev/null"}) {
    const SetupOp* op = Find(*plan, t);
    ASSERT_NE(op, nullptr) << t;
    EXPECT_EQ(op->links, SetupOp::Links::kRefuseAll) << t;
    EXPECT_FALSE(op->optional) << t;
  }
  for (const char* t : {"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore",
                        "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                        "/sys/devices/virtual/powercap"}) {
    const SetupOp* op = Find(*plan, t);
    ASSERT_NE(op, nullptr) << t;
    EXPECT_EQ(op->kind, SetupOp::Kind::kMask) << t;
    EXPECT_EQ(op->links, SetupOp::Links::kRefuseAll) << t;
    // Absent only from a verified procfs/sysfs.
    EXPECT_NE(op->fs_magic, 0u) << t;
  }
  for (const char* t : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
    const SetupOp* op = Find(*plan, t);
    ASSERT_NE(op, nullptr) << t;
    EXPECT_TRUE(op->read_only) << t;
    EXPECT_NE(op->fs_magic, 0u) << t;
  }
  // Caller mounts: links on the way followed inside the root, never at the target.
  spec_.mounts.push_back({Mount::Type::kTmpfs, "", "/data", false, ""});
  auto with = BuildSetupPlan(spec_, etc_->path());
  ASSERT_TRUE(with.ok());
  ASSERT_NE(Find(*with, "/data"), nullptr);
  EXPECT_EQ(Find(*with, "/data")->links, SetupOp::Links::kRefuseLast);
}

TEST_F(SetupPlanTest, NoNewPrivilegesOffByDefaultAndInitArgv) {
  auto plan = BuildSetupPlan(spec_, etc_->path());
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->no_new_privileges);
  plan->Finalize();
  ASSERT_EQ(plan->init_argv.size(), 4u);
  EXPECT_STREQ(plan->init_argv[0], "bld-init");
  EXPECT_STREQ(plan->init_argv[1], "--");
  EXPECT_STREQ(plan->init_argv[2], "true");
  EXPECT_EQ(plan->init_argv[3], nullptr);
}

}  // namespace
}  // namespace bld::runner
