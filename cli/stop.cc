// bld stop [-t SECONDS] NAME...: the image's STOPSIGNAL (SIGTERM without one), then SIGKILL
// after -t seconds; detached and foreground containers alike.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/containers.h"
#include "runner/detach.h"

namespace bld::cli {

namespace {

// A foreground container: its bld run forwards the stop signal (SIGINT, SIGTERM, SIGHUP,
// SIGQUIT, SIGUSR1, SIGUSR2) to it; after `timeout` the bld run is SIGKILLed, and its
// container dies with it (PR_SET_PDEATHSIG).
Status StopForeground(const ContainerRecord& r, int sig, std::chrono::seconds timeout) {
  if (!GetStatus(r).running()) return Ok();
  constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  if (std::find(std::begin(kForwarded), std::end(kForwarded), sig) == std::end(kForwarded)) {
    return FailedPreconditionError("stop signal " + r.stop_signal +
                                   " cannot reach a foreground container (its bld run forwards "
                                   "INT, TERM, HUP, QUIT, USR1 and USR2)");
  }
  if (::kill(r.bld_pid, sig) < 0 && errno != ESRCH) return ErrnoError("signal bld run");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (GetStatus(r).running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!GetStatus(r).running()) return Ok();
  if (::kill(r.bld_pid, SIGKILL) < 0 && errno != ESRCH) return ErrnoError("kill bld run");
  for (int i = 0; i < 500 && GetStatus(r).running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Ok();
}

int Stop(const GlobalOptions& g, const std::vector<std::string>& names, int timeout) {
  std::string root = StoreRoot(g);
  int rc = kExitOk;
  for (const auto& name : names) {
    auto r = FindContainer(root, name);
    if (!r.ok()) {
      rc = ReportError(r.error().Wrap("stop"));
      continue;
    }
    // The image's STOPSIGNAL, as recorded when the container was made; SIGTERM without.
    int sig = SIGTERM;
    if (!r->stop_signal.empty()) {
      auto parsed = runner::ParseSignal(r->stop_signal);
      if (!parsed.ok()) {
        rc = ReportError(parsed.error().Wrap("stop " + name + ": the image's STOPSIGNAL"),
                         kExitFailure);
        continue;
      }
      sig = *parsed;
    }
    Status st = Ok();
    if (r->detached) {
      auto stopped = runner::StopContainer(r->dir, std::chrono::seconds(timeout), sig);
      if (!stopped.ok()) st = stopped.error();
    } else {
      st = StopForeground(*r, sig, std::chrono::seconds(timeout));
    }
    if (!st.ok()) {
      rc = ReportError(st.error().Wrap("stop " + name), kExitFailure);
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  SweepAutoRemoved(root);
  return rc;
}

}  // namespace

Command MakeStopCommand() {
  return {"stop", "Stop running containers", [](CLI::App* app, const GlobalOptions* g) {
            auto names = std::make_shared<std::vector<std::string>>();
            auto timeout = std::make_shared<int>(10);
            app->add_option("-t,--time", *timeout, "Seconds to wait before SIGKILL (default 10)")
                ->check(CLI::NonNegativeNumber);
            app->add_option("NAME", *names, "Container names or IDs")->required();
            return [g, names, timeout]() { return Stop(*g, *names, *timeout); };
          }};
}

}  // namespace bld::cli
