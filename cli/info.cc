// bld info [--format F]: the store, its snapshotter and what it holds, as docker info.
#include <sys/utsname.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/containers.h"
#include "cli/flags.h"
#include "cli/template.h"
#include "snapshot/snapshotter.h"

namespace bld::cli {

namespace {

int Info(const GlobalOptions& g, const std::string& format) {
  std::string root = StoreRoot(g);
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto tags = (*store)->ListTags();
  if (!tags.ok()) return ReportError(tags.error());
  auto containers = ListContainers(root);
  if (!containers.ok()) return ReportError(containers.error());
  int running = 0;
  for (const auto& c : *containers) running += GetStatus(c).running();
  auto sn = snapshot::OpenSnapshotter(root);
  if (!sn.ok()) return ReportError(sn.error());
  struct utsname u = {};
  ::uname(&u);
  nlohmann::ordered_json j;
  j["ServerVersion"] = BldVersion();
  j["StoreRoot"] = root;
  j["Driver"] = std::string((*sn)->type());
  j["Images"] = tags->size();
  j["Containers"] = containers->size();
  j["ContainersRunning"] = running;
  j["ContainersStopped"] = static_cast<int>(containers->size()) - running;
  j["KernelVersion"] = u.release;
  j["OSType"] = "linux";
  j["Architecture"] = u.machine;
  if (format.empty()) {
    for (const auto& [k, v] : j.items()) {
      std::printf("%s: %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str()
                                                       : v.dump().c_str());
    }
    return kExitOk;
  }
  auto t = Template::Parse(format == "json" ? "{{json .}}" : format);
  if (!t.ok()) return ReportError(t.error());
  auto text = t->Render({j});
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Command MakeInfoCommand() {
  return {"info", "Show the store, its snapshotter and what it holds",
          [](CLI::App* app, const GlobalOptions* g) {
            auto format = std::make_shared<std::string>();
            app->add_option("-f,--format", *format, "json or a Go template, e.g. '{{.Driver}}'");
            return [g, format]() { return Info(*g, *format); };
          }};
}

}  // namespace bld::cli
