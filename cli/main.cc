// bld: a daemonless container image builder and runner.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "runner/userns.h"

int main(int argc, char** argv) {
  using namespace bld::cli;
  const std::vector<Command> commands = {
      MakeVersionCommand(),
      MakeParseCommand(),
      MakeBuildCommand(),
      MakePullCommand(),
      MakePushCommand(),
      MakeLoginCommand(),
      MakeLogoutCommand(),
      MakeImagesCommand(),
      MakeInspectCommand(),
      MakeTagCommand(),
      MakeRmiCommand(),
      MakePruneCommand(),
      MakeImportCommand(),
      MakeSaveCommand(),
      MakeLoadCommand(),
      MakeRunCommand(),
      MakePsCommand(),
      MakeLogsCommand(),
      MakeStopCommand(),
      MakeRmCommand(),
  };

  CLI::App app{"bld: build, push and run OCI container images without a daemon"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions globals;
  const uid_t globals_euid = ::geteuid();
  app.add_option("--root", globals.root,
                 "Store directory (default /var/lib/bld; rootless ~/.local/share/bld; env BLD_ROOT)");
  app.add_option("--log-level", globals.log_level, "error|warn|info|debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  std::function<int()> run;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    auto fn = c.setup(sub, &globals);
    // Like docker: a repeatable flag takes one value per occurrence (`-t a -t b CONTEXT`),
    // never the positionals after it.
    for (CLI::Option* opt : sub->get_options()) {
      if (!opt->get_lnames().empty() || !opt->get_snames().empty()) opt->allow_extra_args(false);
    }
    sub->callback([&run, fn]() { run = fn; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (!globals.log_level.empty()) {
    bld::LogLevel level;
    if (bld::ParseLogLevel(globals.log_level, &level)) bld::SetLogLevel(level);
  }
  if (!run) return kExitUsage;
  // Rootless: commands that touch the store or run containers continue as root of the
  // user's own user namespace (runner/userns.h); the ones that do not stay as they are.
  const std::string name = app.get_subcommands().front()->get_name();
  if (name != "version" && name != "parse" && name != "login" && name != "logout") {
    auto entry = bld::runner::EnterUserNamespace();
    if (!entry.ok()) return ReportError(entry.error(), kExitBldFailed);
    if (!entry->inside) return entry->exit_code;
    globals.rootless = globals_euid != 0;
    if (!entry->warning.empty()) BLD_LOG(kWarn) << entry->warning;
  }
  return run();
}
