#include <archive.h>
#include <cstdio>

#include "cli/commands.h"

#ifndef BLD_VERSION
#define BLD_VERSION "0.1.0"
#endif

namespace bld::cli {

Command MakeVersionCommand() {
  return {"version", "Show the bld version", [](CLI::App* app, const GlobalOptions*) {
            return []() {
              std::printf("bld version %s\n", BLD_VERSION);
              return kExitOk;
            };
          }};
}

}  // namespace bld::cli
