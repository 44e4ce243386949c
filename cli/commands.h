// The subcommand table. Each Make*Command lives in its own file.
#pragma once

#include "cli/common.h"

namespace bld::cli {

Command MakeVersionCommand();
Command MakeInfoCommand();
Command MakeParseCommand();
Command MakeBuildCommand();
Command MakeImagesCommand();
Command MakeInspectCommand();
Command MakeHistoryCommand();
Command MakeTagCommand();
Command MakeRmiCommand();
Command MakePruneCommand();
Command MakeImportCommand();
Command MakeSaveCommand();
Command MakeLoadCommand();
Command MakeRunCommand();
Command MakePsCommand();
Command MakeLogsCommand();
Command MakeStopCommand();
Command MakeRmCommand();
Command MakePullCommand();
Command MakePushCommand();
Command MakeLoginCommand();
Command MakeLogoutCommand();

}  // namespace bld::cli
