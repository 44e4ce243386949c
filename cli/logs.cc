// bld logs NAME: the output of a detached container.
#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/containers.h"

namespace bld::cli {

namespace {

int Logs(const GlobalOptions& g, const std::string& name) {
  auto r = FindContainer(StoreRoot(g), name);
  if (!r.ok()) return ReportError(r.error().Wrap("logs"));
  if (!r->detached) {
    return ReportError(FailedPreconditionError(
        "logs " + name + ": the container ran in the foreground; its output went to the terminal"));
  }
  auto fd = OpenFile(r->dir + "/log", O_RDONLY);
  if (!fd.ok()) return ReportError(fd.error().Wrap("logs " + name));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    Status s = WriteAll(1, std::string_view(buf, static_cast<size_t>(n)), "stdout");
    if (!s.ok()) return ReportError(s.error());
  }
  return kExitOk;
}

}  // namespace

Command MakeLogsCommand() {
  return {"logs", "Show a detached container's output", [](CLI::App* app, const GlobalOptions* g) {
            auto name = std::make_shared<std::string>();
            app->add_option("NAME", *name, "Container name or ID")->required();
            return [g, name]() { return Logs(*g, *name); };
          }};
}

}  // namespace bld::cli
