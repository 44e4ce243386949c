// bld: a daemonless container image builder and runner.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "runner/userns.h"
#include "cli/flags.h"

int main(int argc, char** argv) {
  using namespace bld::cli;
  const std::vector<Command> commands = {
      MakeVersionCommand(),
      MakeInfoCommand(),
      MakeParseCommand(),
      MakeBuildCommand(),
      MakePullCommand(),
      MakePushCommand(),
      MakeLoginCommand(),
      MakeLogoutCommand(),
      MakeImagesCommand(),
      MakeInspectCommand(),
      MakeHistoryCommand(),
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

  CLI::App app{"bld: build, push and run OCI container images without a daemon", "bld"};
  app.formatter(std::make_shared<HelpFormatter>());
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions globals;
  const uid_t globals_euid = ::geteuid();
  app.add_option("--root", globals.root,
                 "Store directory (default /var/lib/bld; rootless ~/.local/share/bld; env BLD_ROOT)");
  app.add_option("--log-level", globals.log_level, "error|warn|info|debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  bool version_flag = false;  // handled by PrepareArgs; listed here for --help
  app.add_flag("-v,--version", version_flag, "Print the version and exit");
  std::function<int()> run;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    sub->formatter(app.get_formatter());
    auto fn = c.setup(sub, &globals);
    // Like docker: a repeatable flag takes one value per occurrence (`-t a -t b CONTEXT`),
    // never the positionals after it.
    for (CLI::Option* opt : sub->get_options()) {
      if (!opt->get_lnames().empty() || !opt->get_snames().empty()) opt->allow_extra_args(false);
    }
    sub->callback([&run, fn]() { run = fn; });
  }
  // Our own pass first: docker's messages for unknown commands and flags, aliases,
  // `bld help CMD`, and `bld run` stopping at the image.
  std::vector<std::string> args(argv + 1, argv + argc);
  PreParse pre = PrepareArgs(app, &args);
  if (pre.exit_code >= 0) return pre.exit_code;
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "bld: %s\nSee 'bld %s--help'.\n", e.what(),
                 pre.command.empty() ? "" : (pre.command + " ").c_str());
    return pre.command == "run" ? kExitBldFailed : kExitUsage;
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
