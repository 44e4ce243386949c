// bld ps [-a]: list containers (running ones; -a all).
#include <cstdio>
#include <ctime>

#include "cli/commands.h"
#include "cli/containers.h"

namespace bld::cli {

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s.size() > 30 ? s.substr(0, 27) + "..." : s;
}

int Ps(const GlobalOptions& g, bool all) {
  std::string root = StoreRoot(g);
  SweepAutoRemoved(root);
  auto list = ListContainers(root);
  if (!list.ok()) return ReportError(list.error());
  std::printf("%-12s  %-24s  %-30s  %-22s  %-24s  %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
              "CREATED", "STATUS", "NAMES");
  for (const auto& r : *list) {
    ContainerStatus s = GetStatus(r);
    if (!all && !s.running()) continue;
    std::string status = s.status;
    if (s.status == "exited") status = "Exited (" + std::to_string(s.exit_code) + ")";
    else if (s.status == "running") status = "Up";
    else if (s.status == "failed") status = "Failed";
    else if (s.status == "lost") status = "Lost (bld was killed)";
    struct tm tm;
    time_t t = r.created;
    gmtime_r(&t, &tm);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::printf("%-12s  %-24s  %-30s  %-22s  %-24s  %s\n", r.id.substr(0, 12).c_str(),
                r.image.c_str(), Join(r.command).c_str(), HumanAgo(created).c_str(),
                status.c_str(), r.name.c_str());
  }
  return kExitOk;
}

}  // namespace

Command MakePsCommand() {
  return {"ps", "List containers", [](CLI::App* app, const GlobalOptions* g) {
            auto all = std::make_shared<bool>(false);
            app->add_flag("-a,--all", *all, "Show all containers, not only running ones");
            return [g, all]() { return Ps(*g, *all); };
          }};
}

}  // namespace bld::cli
