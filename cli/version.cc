// bld version [--format TEMPLATE]: the version; --format '{{.Client.Version}}' as docker.
#include <sys/utsname.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/template.h"

namespace bld::cli {

namespace {

int Version(const std::string& format) {
  if (format.empty()) {
    std::printf("bld version %s\n", BldVersion());
    return kExitOk;
  }
  struct utsname u = {};
  ::uname(&u);
  std::string arch = u.machine;
  if (arch == "x86_64") arch = "amd64";
  else if (arch == "aarch64") arch = "arm64";
  nlohmann::ordered_json client;
  client["Version"] = BldVersion();
  client["Os"] = "linux";
  client["Arch"] = arch;
  client["KernelVersion"] = u.release;
  nlohmann::ordered_json v;
  v["Client"] = client;
  auto t = Template::Parse(format == "json" ? "{{json .}}" : format);
  if (!t.ok()) return ReportError(t.error());
  auto text = t->Render({v});
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Command MakeVersionCommand() {
  return {"version", "Show the bld version", [](CLI::App* app, const GlobalOptions*) {
            auto format = std::make_shared<std::string>();
            app->add_option("-f,--format", *format,
                            "json or a Go template, e.g. '{{.Client.Version}}'");
            return [format]() { return Version(*format); };
          }};
}

}  // namespace bld::cli
