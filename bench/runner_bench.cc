// Container start-up cost of the runner: `true` in a busybox rootfs, Start() + Wait().
//
//   runner_bench [ROOTFS]     20 runs in this process (warm) and 20 fresh processes (cold:
//                             each pays process start-up and the seccomp compile); medians.
// Without ROOTFS, one is made with testdata/busybox-rootfs.sh. Run as root (or rootless: a
// user namespace is used).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/temp_dir.h"
#include "runner/runner.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int RunOnce(const std::string& rootfs) {
  bld::runner::Spec spec;
  spec.rootfs = rootfs;
  spec.args = {"true"};
  auto r = bld::runner::Run(spec);
  if (!r.ok()) {
    std::fprintf(stderr, "runner_bench: %s\n", r.error().message().c_str());
    return 125;
  }
  return r->code;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--once") return RunOnce(argv[2]);
  std::string rootfs;
  std::optional<bld::TempDir> dir;
  if (argc >= 2) {
    rootfs = argv[1];
  } else {
    auto d = bld::TempDir::Create("", "runner-bench-");
    if (!d.ok()) return 1;
    dir.emplace(std::move(*d));
    rootfs = dir->path() + "/rootfs";
    auto r = bld::RunCommand({std::string(BLD_SOURCE_DIR) + "/testdata/busybox-rootfs.sh", rootfs});
    if (!r.ok() || r->exit_code != 0) {
      std::fprintf(stderr, "runner_bench: busybox-rootfs.sh failed\n");
      return 1;
    }
  }
  constexpr int kRuns = 20;
  std::vector<double> warm, cold;
  for (int i = 0; i < kRuns; ++i) {
    auto t = Clock::now();
    if (RunOnce(rootfs) != 0) return 1;
    warm.push_back(Ms(Clock::now() - t));
  }
  for (int i = 0; i < kRuns; ++i) {
    auto t = Clock::now();
    auto r = bld::RunCommand({"/proc/self/exe", "--once", rootfs});
    if (!r.ok() || r->exit_code != 0) {
      std::fprintf(stderr, "runner_bench: --once failed: %s\n", r.ok() ? r->err.c_str() : "");
      return 1;
    }
    cold.push_back(Ms(Clock::now() - t));
  }
  std::printf(
      "runner `true`: warm median %.2f ms (in-process), cold median %.2f ms (a fresh "
      "process per run), %d runs each\n",
      Median(warm), Median(cold), kRuns);
  return 0;
}
