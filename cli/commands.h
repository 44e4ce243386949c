// The subcommand table. Each Make*Command lives in its own file.
#pragma once

#include "cli/common.h"

namespace bld::cli {

Command MakeVersionCommand();

}  // namespace bld::cli
