#include "runner/device_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace bld::runner {

namespace {

constexpr bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

struct Rule {
  int type = 0;       // 0 = any ('a'), BPF_DEVCG_DEV_BLOCK or BPF_DEVCG_DEV_CHAR
  int64_t major = -1;  // -1 = '*'
  int64_t minor = -1;
  int access = 0;     // BPF_DEVCG_ACC_* bits
};

Result<int64_t> ParseNumber(const std::string& s, const std::string& rule) {
  if (s == "*") return -1;
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v > 0xffffffffUL) {
    return InvalidArgumentError("device rule \"" + rule + "\": bad number \"" + s + "\"");
  }
  return static_cast<int64_t>(v);
}

Result<Rule> ParseRule(const std::string& text) {
  Rule r;
  if (text == "a") {
    r.access = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    return r;
  }
  // "T MAJ:MIN ACC"
  size_t sp1 = text.find(' '), sp2 = text.rfind(' ');
  if (text.size() < 2 || sp1 != 1 || sp2 == sp1) {
    return InvalidArgumentError("device rule \"" + text + "\": want \"a\" or \"T MAJ:MIN rwm\"");
  }
  switch (text[0]) {
    case 'a': r.type = 0; break;
    case 'b': r.type = BPF_DEVCG_DEV_BLOCK; break;
    case 'c': r.type = BPF_DEVCG_DEV_CHAR; break;
    default:
      return InvalidArgumentError("device rule \"" + text + "\": type must be a, b or c");
  }
  std::string nums = text.substr(2, sp2 - 2), acc = text.substr(sp2 + 1);
  size_t colon = nums.find(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("device rule \"" + text + "\": want MAJ:MIN");
  }
  BLD_ASSIGN_OR_RETURN(r.major, ParseNumber(nums.substr(0, colon), text));
  BLD_ASSIGN_OR_RETURN(r.minor, ParseNumber(nums.substr(colon + 1), text));
  if (acc.empty()) return InvalidArgumentError("device rule \"" + text + "\": no access");
  for (char ch : acc) {
    if (ch == 'r') r.access |= BPF_DEVCG_ACC_READ;
    else if (ch == 'w') r.access |= BPF_DEVCG_ACC_WRITE;
    else if (ch == 'm') r.access |= BPF_DEVCG_ACC_MKNOD;
    else return InvalidArgumentError("device rule \"" + text + "\": access must be of r, w, m");
  }
  return r;
}

}  // namespace

const std::vector<std::string>& DefaultDeviceRules() {
  static const std::vector<std::string> rules = {
      "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
      "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
  };
  return rules;
}

Result<std::vector<bpf_insn>> BuildDeviceFilter(const std::vector<std::string>& rules) {
  std::vector<bpf_insn> p;
  // struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0));
  p.push_back(Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));  // r2 = type
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0));
  p.push_back(Insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));  // r3 = access
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0));  // r4 = major
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0));  // r5 = minor
  constexpr int kAll = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  for (const std::string& text : rules) {
    BLD_ASSIGN_OR_RETURN(Rule r, ParseRule(text));
    // One block per rule; a mismatch jumps past its end (to the next rule).
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;  // indexes of jumps to patch
    auto jne = [&](uint8_t reg, int32_t imm) {
      jumps.push_back(block.size());
      block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, imm));
    };
    if (r.type != 0) jne(BPF_REG_2, r.type);
    if (r.access != kAll) {
      // requested & allowed == requested
      block.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
      block.push_back(Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, r.access));
      jumps.push_back(block.size());
      block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
    }
    if (r.major >= 0) jne(BPF_REG_4, static_cast<int32_t>(r.major));
    if (r.minor >= 0) jne(BPF_REG_5, static_cast<int32_t>(r.minor));
    block.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
    block.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
  }
  p.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
  p.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

Result<int> LoadDeviceFilter(const std::vector<bpf_insn>& prog) {
  static char license[] = "GPL";
  std::vector<char> log(16384);
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  int fd = static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
  if (fd < 0) {
    int err = errno;
    std::string text(log.data(), strnlen(log.data(), log.size()));
    return PosixError("load the BPF_CGROUP_DEVICE program" +
                          (text.empty() ? std::string() : " (verifier: " + text + ")"),
                      err);
  }
  return fd;
}

}  // namespace bld::runner
