#include "runner/capabilities.h"

#include <linux/capability.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace bld::runner {

namespace {

constexpr std::array<std::string_view, 41> kNames = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

CapabilitySet All(int last_cap) {
  if (last_cap >= 63) return ~CapabilitySet{0};
  return (CapabilitySet{1} << (last_cap + 1)) - 1;
}

}  // namespace

CapabilitySet DefaultCapabilities() {
  CapabilitySet s = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                  CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                  CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE}) {
    s |= CapabilitySet{1} << cap;
  }
  return s;
}

Result<int> CapabilityFromName(std::string_view name) {
  std::string n = Upper(name);
  std::string_view v = n;
  if (v.starts_with("CAP_")) v.remove_prefix(4);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == v) return static_cast<int>(i);
  }
  return InvalidArgumentError("unknown capability \"" + std::string(name) + "\"");
}

std::string CapabilityName(int cap) {
  if (cap >= 0 && static_cast<size_t>(cap) < kNames.size()) {
    return "CAP_" + std::string(kNames[cap]);
  }
  return "CAP_" + std::to_string(cap);
}

Result<CapabilitySet> ComputeCapabilities(const std::vector<std::string>& add,
                                          const std::vector<std::string>& drop, int last_cap) {
  CapabilitySet set = DefaultCapabilities() & All(last_cap);
  for (const std::string& name : add) {
    if (Upper(name) == "ALL") {
      set = All(last_cap);
      continue;
    }
    BLD_ASSIGN_OR_RETURN(int cap, CapabilityFromName(name));
    if (cap > last_cap) {
      return InvalidArgumentError("capability " + CapabilityName(cap) +
                                  " is not supported by this kernel");
    }
    set |= CapabilitySet{1} << cap;
  }
  for (const std::string& name : drop) {
    if (Upper(name) == "ALL") {
      set = 0;
      continue;
    }
    BLD_ASSIGN_OR_RETURN(int cap, CapabilityFromName(name));
    if (cap <= 63) set &= ~(CapabilitySet{1} << cap);
  }
  // `--cap-drop ALL --cap-add X` keeps X (Docker applies adds after a drop of ALL).
  bool drop_all =
      std::any_of(drop.begin(), drop.end(), [](const std::string& d) { return Upper(d) == "ALL"; });
  if (drop_all) {
    for (const std::string& name : add) {
      if (Upper(name) == "ALL") continue;
      BLD_ASSIGN_OR_RETURN(int cap, CapabilityFromName(name));
      set |= CapabilitySet{1} << cap;
    }
  }
  return set;
}

}  // namespace bld::runner
