// bld rm [-f] NAME...: remove containers (their snapshot and record).
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/containers.h"
#include "runner/detach.h"

namespace bld::cli {

namespace {

int Rm(const GlobalOptions& g, const std::vector<std::string>& names, bool force) {
  std::string root = StoreRoot(g);
  int rc = kExitOk;
  for (const auto& name : names) {
    auto r = FindContainer(root, name);
    if (!r.ok()) {
      rc = ReportError(r.error().Wrap("rm"));
      continue;
    }
    if (GetStatus(*r).running()) {
      if (!force || !r->detached) {
        rc = ReportError(FailedPreconditionError(
            "rm " + name + ": the container is running; stop it first" +
            (r->detached ? " or use -f" : "")));
        continue;
      }
      auto st = runner::StopContainer(r->dir, std::chrono::seconds(0), 9);
      if (!st.ok()) {
        rc = ReportError(st.error().Wrap("rm " + name));
        continue;
      }
    }
    Status s = RemoveContainer(root, *r);
    if (!s.ok()) {
      rc = ReportError(s.error());
      continue;
    }
    std::printf("%s\n", name.c_str());
  }
  return rc;
}

}  // namespace

Command MakeRmCommand() {
  return {"rm", "Remove containers", [](CLI::App* app, const GlobalOptions* g) {
            auto names = std::make_shared<std::vector<std::string>>();
            auto force = std::make_shared<bool>(false);
            app->add_flag("-f,--force", *force, "Kill a running detached container first");
            app->add_option("NAME", *names, "Container names or IDs")->required();
            return [g, names, force]() { return Rm(*g, *names, *force); };
          }};
}

}  // namespace bld::cli
