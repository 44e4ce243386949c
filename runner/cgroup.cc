#include "runner/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <map>
#include <sstream>
#include <thread>

#include "base/file.h"

namespace bld::runner {

namespace {

constexpr const char kRoot[] = "/sys/fs/cgroup";

Status WriteCgroupFile(const std::string& dir, const std::string& name, const std::string& value,
                       const std::string& what) {
  std::string path = dir + "/" + name;
  auto fd = OpenFile(path, O_WRONLY);
  if (!fd.ok()) return fd.error().Wrap("cannot enforce " + what);
  if (write(fd->get(), value.data(), value.size()) < 0) {
    return ErrnoError("cannot enforce " + what + ": write \"" + value + "\" to " + path);
  }
  return Ok();
}

// hierarchy key ("" for v2, "memory" / "cpu,cpuacct" for v1) -> path of our cgroup.
std::map<std::string, std::string> SelfCgroups() {
  std::map<std::string, std::string> out;
  auto data = ReadFile("/proc/self/cgroup");
  if (!data.ok()) return out;
  std::istringstream in(*data);
  std::string line;
  while (std::getline(in, line)) {
    size_t c1 = line.find(':');
    size_t c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    out[line.substr(c1 + 1, c2 - c1 - 1)] = line.substr(c2 + 1);
  }
  return out;
}

// v1: the mount directory and our path for `controller`.
Result<std::pair<std::string, std::string>> V1Hierarchy(
    const std::map<std::string, std::string>& self, const std::string& controller,
    const std::string& what) {
  for (const auto& [key, path] : self) {
    std::stringstream ss(key);
    std::string c;
    while (std::getline(ss, c, ',')) {
      if (c != controller) continue;
      // Mounted as /sys/fs/cgroup/<key> (e.g. "cpu,cpuacct"), or a symlink named after it.
      for (const std::string& dir :
           {std::string(kRoot) + "/" + key, std::string(kRoot) + "/" + controller}) {
        if (IsDirectory(dir)) return std::make_pair(dir, path);
      }
    }
  }
  return FailedPreconditionError("cannot enforce " + what + ": the " + controller +
                                 " cgroup controller is not mounted under " + kRoot);
}

std::string Join(const std::string& a, const std::string& b) {
  std::string out = a;
  if (!b.empty() && b != "/") {
    if (b[0] != '/') out += "/";
    out += b;
  }
  return out;
}

Status MakeDir(const std::string& path, const std::string& what) {
  Status st = MkdirAll(path, 0755);
  if (!st.ok()) return st.error().Wrap("cannot enforce " + what + ": create cgroup");
  return Ok();
}

uint64_t ReadKey(const std::string& file, const std::string& key) {
  auto data = ReadFile(file);
  if (!data.ok()) return 0;
  std::istringstream in(*data);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

}  // namespace

Result<Cgroup> Cgroup::Create(const std::string& parent, const std::string& id,
                              const CgroupLimits& limits, bool device_policy,
                              const std::vector<std::string>& extra_device_rules) {
  Cgroup cg;
  struct statfs sfs;
  if (statfs(kRoot, &sfs) != 0)
    return ErrnoError("cannot enforce cgroup limits: statfs " + std::string(kRoot));
  cg.v2_ = sfs.f_type == CGROUP2_SUPER_MAGIC;
  std::map<std::string, std::string> self = SelfCgroups();
  std::string name = "bld-" + id;

  if (cg.v2_) {
    if (limits.empty()) return cg;  // nothing to enforce through cgroup files
    std::string base = Join(kRoot, parent.empty() ? self[""] : parent);
    std::string dir = base + "/" + name;
    std::string controllers;
    if (limits.memory_bytes) controllers += " +memory";
    if (limits.cpus) controllers += " +cpu";
    if (limits.pids) controllers += " +pids";
    // Enable the controllers for children of `base` (needs `base` free of processes unless
    // it is the root: the "no internal processes" rule).
    auto have_file = ReadFile(base + "/cgroup.controllers");
    if (!have_file.ok()) return have_file.error().Wrap("cannot enforce cgroup limits");
    std::string have = " " + *have_file + " ";
    for (char& ch : have) {
      if (ch == '\n') ch = ' ';
    }
    struct {
      const char* name;
      bool wanted;
    } needed[] = {{"memory", limits.memory_bytes.has_value()},
                  {"cpu", limits.cpus.has_value()},
                  {"pids", limits.pids.has_value()}};
    for (const auto& n : needed) {
      if (n.wanted && have.find(std::string(" ") + n.name + " ") == std::string::npos) {
        return FailedPreconditionError(std::string("cannot enforce ") + n.name +
                                       " limit: controller not available in " + base);
      }
    }
    auto sub = OpenFile(base + "/cgroup.subtree_control", O_WRONLY);
    if (!sub.ok()) return sub.error().Wrap("cannot enforce cgroup limits");
    std::string req = controllers.substr(1);
    if (write(sub->get(), req.data(), req.size()) < 0) {
      return ErrnoError("cannot enforce cgroup limits: enable \"" + req + "\" in " + base +
                        "/cgroup.subtree_control (a cgroup with processes cannot delegate "
                        "controllers; run from a dedicated cgroup or set cgroup_parent)");
    }
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("cannot enforce cgroup limits: mkdir " + dir);
    }
    cg.dirs_.push_back(dir);
    cg.memory_dir_ = cg.cpu_dir_ = cg.cpuacct_dir_ = dir;
    if (limits.memory_bytes) {
      BLD_TRY(
          WriteCgroupFile(dir, "memory.max", std::to_string(*limits.memory_bytes), "memory limit"));
      if (PathExists(dir + "/memory.swap.max")) {
        BLD_TRY(WriteCgroupFile(dir, "memory.swap.max", "0", "memory limit"));
      }
    }
    if (limits.cpus) {
      int64_t quota = std::llround(*limits.cpus * 100000);
      BLD_TRY(WriteCgroupFile(dir, "cpu.max", std::to_string(quota) + " 100000", "cpu limit"));
    }
    if (limits.pids) {
      BLD_TRY(WriteCgroupFile(dir, "pids.max", std::to_string(*limits.pids), "pids limit"));
    }
    return cg;
  }

  // v1 / hybrid: one directory per controller.
  auto make = [&](const std::string& controller, const std::string& what) -> Result<std::string> {
    BLD_ASSIGN_OR_RETURN(auto h, V1Hierarchy(self, controller, what));
    std::string dir = Join(Join(h.first, parent.empty() ? h.second : parent), name);
    for (const std::string& d : cg.dirs_) {
      if (d == dir) return dir;  // co-mounted controllers (cpu,cpuacct)
    }
    BLD_TRY(MakeDir(dir, what));
    cg.dirs_.push_back(dir);
    return dir;
  };
  if (limits.memory_bytes) {
    BLD_ASSIGN_OR_RETURN(cg.memory_dir_, make("memory", "memory limit"));
    std::string v = std::to_string(*limits.memory_bytes);
    BLD_TRY(WriteCgroupFile(cg.memory_dir_, "memory.limit_in_bytes", v, "memory limit"));
    // No swap on top of the limit, so the limit is what the container gets.
    if (PathExists(cg.memory_dir_ + "/memory.memsw.limit_in_bytes")) {
      BLD_TRY(WriteCgroupFile(cg.memory_dir_, "memory.memsw.limit_in_bytes", v, "memory limit"));
    }
  }
  if (limits.cpus) {
    BLD_ASSIGN_OR_RETURN(cg.cpu_dir_, make("cpu", "cpu limit"));
    int64_t quota = std::llround(*limits.cpus * 100000);
    BLD_TRY(WriteCgroupFile(cg.cpu_dir_, "cpu.cfs_period_us", "100000", "cpu limit"));
    BLD_TRY(WriteCgroupFile(cg.cpu_dir_, "cpu.cfs_quota_us", std::to_string(quota), "cpu limit"));
    auto acct = make("cpuacct", "cpu accounting");
    if (acct.ok()) cg.cpuacct_dir_ = *acct;
  }
  if (limits.pids) {
    BLD_ASSIGN_OR_RETURN(std::string dir, make("pids", "pids limit"));
    BLD_TRY(WriteCgroupFile(dir, "pids.max", std::to_string(*limits.pids), "pids limit"));
  }
  if (device_policy) {
    // Docker's default (runc's AllowedDevices): deny everything, then allow these.
    static const char* const kAllow[] = {
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
    };
    BLD_ASSIGN_OR_RETURN(std::string dir, make("devices", "the device policy"));
    BLD_TRY(WriteCgroupFile(dir, "devices.deny", "a", "the device policy"));
    for (const char* rule : kAllow) {
      BLD_TRY(WriteCgroupFile(dir, "devices.allow", rule, "the device policy"));
    }
    for (const std::string& rule : extra_device_rules) {
      BLD_TRY(WriteCgroupFile(dir, "devices.allow", rule, "--device"));
    }
  }
  return cg;
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : v2_(other.v2_),
      dirs_(std::move(other.dirs_)),
      memory_dir_(std::move(other.memory_dir_)),
      cpu_dir_(std::move(other.cpu_dir_)),
      cpuacct_dir_(std::move(other.cpuacct_dir_)) {
  other.dirs_.clear();
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    Remove();
    v2_ = other.v2_;
    dirs_ = std::move(other.dirs_);
    other.dirs_.clear();
    memory_dir_ = std::move(other.memory_dir_);
    cpu_dir_ = std::move(other.cpu_dir_);
    cpuacct_dir_ = std::move(other.cpuacct_dir_);
  }
  return *this;
}

Cgroup::~Cgroup() { Remove(); }

void Cgroup::Remove() {
  for (const std::string& dir : dirs_) {
    // Exiting tasks can keep a cgroup busy for a moment after their parent reaped them.
    for (int i = 0; i < 100; ++i) {
      if (rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  dirs_.clear();
}

Status Cgroup::AddProcess(pid_t pid) const {
  std::string p = std::to_string(pid);
  for (const std::string& dir : dirs_) {
    BLD_TRY_WRAP(WriteCgroupFile(dir, "cgroup.procs", p, "cgroup limits"), "move process " + p);
  }
  return Ok();
}

Cgroup::Stats Cgroup::ReadStats() const {
  Stats s;
  if (v2_) {
    if (!dirs_.empty()) {
      s.oom_killed = ReadKey(memory_dir_ + "/memory.events", "oom_kill") > 0;
      s.cpu_usage_us = ReadKey(cpu_dir_ + "/cpu.stat", "usage_usec");
      s.nr_throttled = ReadKey(cpu_dir_ + "/cpu.stat", "nr_throttled");
      s.throttled_us = ReadKey(cpu_dir_ + "/cpu.stat", "throttled_usec");
    }
    return s;
  }
  if (!memory_dir_.empty()) {
    s.oom_killed = ReadKey(memory_dir_ + "/memory.oom_control", "oom_kill") > 0;
  }
  if (!cpu_dir_.empty()) {
    s.nr_throttled = ReadKey(cpu_dir_ + "/cpu.stat", "nr_throttled");
    s.throttled_us = ReadKey(cpu_dir_ + "/cpu.stat", "throttled_time") / 1000;
  }
  if (!cpuacct_dir_.empty()) {
    auto usage = ReadFile(cpuacct_dir_ + "/cpuacct.usage");
    if (usage.ok()) s.cpu_usage_us = std::strtoull(usage->c_str(), nullptr, 10) / 1000;
  }
  return s;
}

}  // namespace bld::runner
