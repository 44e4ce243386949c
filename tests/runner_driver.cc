// bld_runner_driver: a thin command line over runner:: for the runner's integration tests
// (the real front end is `bld run`).
//
//   bld_runner_driver --rootfs DIR [options] -- CMD [ARG...]
//   bld_runner_driver --detach STATE_DIR LOG --rootfs DIR [options] -- CMD [ARG...]
//   bld_runner_driver --stop STATE_DIR TIMEOUT_MS | --state STATE_DIR
//
// Exit status: the container's; 125 (message on stderr) if it could not be started.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runner/detach.h"
#include "runner/runner.h"

namespace {

using bld::runner::ContainerState;
using bld::runner::Mount;
using bld::runner::Spec;

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "bld_runner_driver: %s\n", msg.c_str());
  std::exit(125);
}

void PrintState(const ContainerState& s) {
  std::printf("status=%s pid=%d exit_code=%d signal=%d oom_killed=%d error=%s\n",
              std::string(bld::runner::StatusName(s.status)).c_str(), s.pid, s.exit_code, s.signal,
              s.oom_killed ? 1 : 0, s.error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Spec spec;
  spec.init = true;  // the runner tests' default; --no-init for the command as PID 1
  bool stats = false;
  std::string detach_dir, detach_log;
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  auto next = [&](const std::string& flag) -> std::string {
    if (i + 1 >= args.size()) Die(flag + " needs a value");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--rootfs") {
      spec.rootfs = next(a);
    } else if (a == "-u") {
      spec.user = next(a);
    } else if (a == "--hostname") {
      spec.hostname = next(a);
    } else if (a == "--network") {
      std::string n = next(a);
      if (n == "none")
        spec.network = bld::runner::NetworkMode::kNone;
      else if (n == "host")
        spec.network = bld::runner::NetworkMode::kHost;
      else
        Die("--network " + n + " is not supported");
    } else if (a == "--memory") {
      spec.limits.memory_bytes = std::strtoll(next(a).c_str(), nullptr, 10);
    } else if (a == "--cpus") {
      spec.limits.cpus = std::strtod(next(a).c_str(), nullptr);
    } else if (a == "--pids-limit") {
      spec.limits.pids = std::strtoll(next(a).c_str(), nullptr, 10);
    } else if (a == "--read-only") {
      spec.read_only_rootfs = true;
    } else if (a == "--cap-add") {
      spec.cap_add.push_back(next(a));
    } else if (a == "--cap-drop") {
      spec.cap_drop.push_back(next(a));
    } else if (a == "-v") {
      std::string v = next(a);
      Mount m;
      size_t c1 = v.find(':');
      if (c1 == std::string::npos) Die("-v wants SRC:DST[:ro]");
      m.source = v.substr(0, c1);
      std::string rest = v.substr(c1 + 1);
      if (rest.size() > 3 && rest.compare(rest.size() - 3, 3, ":ro") == 0) {
        m.read_only = true;
        rest.resize(rest.size() - 3);
      }
      m.destination = rest;
      spec.mounts.push_back(m);
    } else if (a == "--tmpfs") {
      Mount m;
      m.type = Mount::Type::kTmpfs;
      m.destination = next(a);
      spec.mounts.push_back(m);
    } else if (a == "-w") {
      spec.cwd = next(a);
    } else if (a == "-e") {
      spec.env.push_back(next(a));
    } else if (a == "-t") {
      spec.tty = true;
    } else if (a == "--no-init") {
      spec.init = false;
    } else if (a == "--no-seccomp") {
      spec.seccomp = false;
    } else if (a == "--single-id-map") {
      spec.user_namespace = bld::runner::UserNamespaceMode::kAlways;
      spec.uid_mappings = {{0, static_cast<uint32_t>(geteuid()), 1}};
      spec.gid_mappings = {{0, static_cast<uint32_t>(getegid()), 1}};
    } else if (a == "--rlimit") {
      // NAME=SOFT:HARD with NAME nofile|nproc, "unlimited" allowed.
      std::string v = next(a);
      size_t eq = v.find('='), colon = v.find(':');
      if (eq == std::string::npos || colon == std::string::npos) Die("--rlimit NAME=SOFT:HARD");
      std::string name = v.substr(0, eq);
      auto num = [](const std::string& s) {
        return s == "unlimited" ? RLIM_INFINITY : std::strtoull(s.c_str(), nullptr, 10);
      };
      bld::runner::Rlimit r;
      if (name == "nofile")
        r.resource = RLIMIT_NOFILE;
      else if (name == "nproc")
        r.resource = RLIMIT_NPROC;
      else
        Die("--rlimit " + name + " is not supported");
      r.soft = num(v.substr(eq + 1, colon - eq - 1));
      r.hard = num(v.substr(colon + 1));
      spec.rlimits.push_back(r);
    } else if (a == "--id") {
      spec.id = next(a);
    } else if (a == "--stats") {
      stats = true;
    } else if (a == "--detach") {
      detach_dir = next(a);
      detach_log = next(a);
    } else if (a == "--stop") {
      std::string dir = next(a);
      long ms = std::strtol(next(a).c_str(), nullptr, 10);
      auto s = bld::runner::StopContainer(dir, std::chrono::milliseconds(ms));
      if (!s.ok()) Die(s.error().message());
      PrintState(*s);
      return 0;
    } else if (a == "--state") {
      auto s = bld::runner::ReadState(next(a));
      if (!s.ok()) Die(s.error().message());
      PrintState(*s);
      return 0;
    } else {
      Die("unknown flag " + a);
    }
  }
  spec.args.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());

  if (!detach_dir.empty()) {
    auto s = bld::runner::RunDetached(spec, detach_dir, detach_log);
    if (!s.ok()) Die(s.error().message());
    PrintState(*s);
    return 0;
  }
  auto r = bld::runner::Run(spec);
  if (!r.ok()) Die(r.error().message());
  if (!r->exec_error.empty())
    std::fprintf(stderr, "bld_runner_driver: %s\n", r->exec_error.c_str());
  if (stats) {
    std::fprintf(stderr,
                 "stats: code=%d signal=%d oom_killed=%d cpu_usage_us=%llu nr_throttled=%llu "
                 "throttled_us=%llu\n",
                 r->code, r->signal, r->oom_killed ? 1 : 0,
                 static_cast<unsigned long long>(r->cpu_usage_us),
                 static_cast<unsigned long long>(r->cpu_nr_throttled),
                 static_cast<unsigned long long>(r->cpu_throttled_us));
  }
  return r->code;
}
