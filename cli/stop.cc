// bld stop [-t SECONDS] NAME...: SIGTERM (or the image's stop signal), then SIGKILL.
#include <signal.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/containers.h"
#include "runner/detach.h"

namespace bld::cli {

namespace {

int Stop(const GlobalOptions& g, const std::vector<std::string>& names, int timeout) {
  std::string root = StoreRoot(g);
  int rc = kExitOk;
  for (const auto& name : names) {
    auto r = FindContainer(root, name);
    if (!r.ok()) {
      rc = ReportError(r.error().Wrap("stop"));
      continue;
    }
    if (!r->detached) {
      ContainerStatus s = GetStatus(*r);
      if (s.running()) {
        // A foreground container: its bld run forwards SIGTERM to it.
        if (::kill(r->bld_pid, SIGTERM) < 0) {
          rc = ReportError(ErrnoError("stop " + name));
          continue;
        }
      }
      std::printf("%s\n", name.c_str());
      continue;
    }
    auto st = runner::StopContainer(r->dir, std::chrono::seconds(timeout));
    if (!st.ok()) {
      rc = ReportError(st.error().Wrap("stop " + name));
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
