#include <archive.h>
#include <cstdio>

#include "cli/commands.h"
#include "cli/flags.h"


namespace bld::cli {

Command MakeVersionCommand() {
  return {"version", "Show the bld version", [](CLI::App* app, const GlobalOptions*) {
            return []() {
              std::printf("bld version %s\n", BldVersion());
              return kExitOk;
            };
          }};
}

}  // namespace bld::cli
