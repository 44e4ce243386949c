// The command-line layer around CLI11: docker's messages for unknown commands and
// flags, the command aliases docker users type, and a help layout without parser
// leftovers.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace bld::cli {

// Help text in docker's shape: "-t, --tag string", "-q, --quiet"; no CLI11 type checks
// ("INT:NONNEGATIVE") or flag defaults ("{true}=1").
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
};

struct PreParse {
  std::string command;  // the subcommand after aliasing ("" when none)
  int exit_code = -1;   // >= 0: stop with this code (the message is printed)
};

// Checks `args` (argv without argv[0]) against `app` before CLI11 parses them, and rewrites
// them in place:
//   - `bld --version` / `-v` prints the version (exit 0);
//   - an unknown command or flag prints `bld: ...` and `See 'bld CMD --help'.` (exit 2,
//     125 for `run`);
//   - `bld help [CMD]` becomes `bld [CMD] --help`; `bld image ls` becomes `bld images`, and
//     so on for docker's `image`/`container`/`system` verbs;
//   - for `run`, a `--` goes before the image, so everything after it is the command.
PreParse PrepareArgs(const CLI::App& app, std::vector<std::string>* args);

// The version string `bld version` and `bld --version` print.
const char* BldVersion();

}  // namespace bld::cli
