#include "runner/device_bpf.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace bld::runner {
namespace {

// A tiny interpreter for the instructions BuildDeviceFilter emits (ldx w, alu and/rsh/mov,
// jne k/x, exit): the program's decisions, checked without loading it anywhere.
int Eval(const std::vector<bpf_insn>& p, uint32_t type, uint32_t access, uint32_t major,
         uint32_t minor) {
  uint32_t ctx[3] = {(access << 16) | type, major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0, steps = 0; pc < p.size() && steps < 10000; ++pc, ++steps) {
    const bpf_insn& i = p[pc];
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        EXPECT_EQ(i.src_reg, BPF_REG_1);
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & i.imm); break;
      case BPF_ALU | BPF_RSH | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm; break;
      case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
      case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = static_cast<uint64_t>(i.imm); break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        if (r[i.dst_reg] != r[i.src_reg]) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(r[0]);
      default: ADD_FAILURE() << "unexpected opcode " << int(i.code); return -1;
    }
  }
  ADD_FAILURE() << "fell off the program";
  return -1;
}

constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

TEST(DeviceBpfTest, DockerDefaultDecisions) {
  auto p = BuildDeviceFilter(DefaultDeviceRules());
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(Eval(*p, C, R | W, 1, 3), 1);     // /dev/null
  EXPECT_EQ(Eval(*p, C, R, 1, 9), 1);         // urandom
  EXPECT_EQ(Eval(*p, C, R | W, 136, 7), 1);   // a pts
  EXPECT_EQ(Eval(*p, C, R | W, 5, 2), 1);     // ptmx
  EXPECT_EQ(Eval(*p, C, M, 10, 232), 1);      // mknod of anything
  EXPECT_EQ(Eval(*p, B, M, 253, 0), 1);
  EXPECT_EQ(Eval(*p, C, R, 1, 1), 0);         // /dev/mem
  EXPECT_EQ(Eval(*p, C, R | W, 10, 232), 0);  // kvm
  EXPECT_EQ(Eval(*p, B, R, 253, 0), 0);       // a host disk
  EXPECT_EQ(Eval(*p, B, R, 1, 3), 0);         // block 1:3 is not char 1:3
  EXPECT_EQ(Eval(*p, C, R | M, 1, 1), 0);     // m alone does not open
}

TEST(DeviceBpfTest, ExtraRulesAndAccessSubsets) {
  auto p = BuildDeviceFilter({"b 7:0 rw", "c 10:* w", "a 4:* r"});
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(Eval(*p, B, R | W, 7, 0), 1);
  EXPECT_EQ(Eval(*p, B, M, 7, 0), 0);
  EXPECT_EQ(Eval(*p, B, R, 7, 1), 0);
  EXPECT_EQ(Eval(*p, C, W, 10, 200), 1);
  EXPECT_EQ(Eval(*p, C, R, 10, 200), 0);
  EXPECT_EQ(Eval(*p, B, R, 4, 1), 1);
  EXPECT_EQ(Eval(*p, C, R, 4, 9), 1);
  auto all = BuildDeviceFilter({"a"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Eval(*all, B, R | W | M, 8, 0), 1);
  auto none = BuildDeviceFilter({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(Eval(*none, C, R, 1, 3), 0);
  // The shape: 6 prologue loads/shifts, 2 epilogue instructions, exits return 0 or 1.
  EXPECT_EQ(none->size(), 8u);
  EXPECT_EQ((*none)[7].code, BPF_JMP | BPF_EXIT);
}

TEST(DeviceBpfTest, BadRulesNamed) {
  for (const char* bad : {"x 1:3 rwm", "c 1 rwm", "c 1:3 rwz", "c a:3 r", "c 1:3", ""}) {
    auto p = BuildDeviceFilter({bad});
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << p.error().message();
  }
}

// The kernel's verifier accepts the program (loading needs no cgroup v2; attaching does).
TEST(DeviceBpfTest, VerifierAcceptsTheProgram) {
  if (geteuid() != 0) GTEST_SKIP() << "BPF_PROG_LOAD needs root";
  std::vector<std::string> rules = DefaultDeviceRules();
  rules.push_back("b 7:0 rw");
  auto p = BuildDeviceFilter(rules);
  ASSERT_TRUE(p.ok());
  auto fd = LoadDeviceFilter(*p);
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  close(*fd);
}

}  // namespace
}  // namespace bld::runner
