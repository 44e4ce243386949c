// What every subcommand shares: global options, the store, error reporting.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "oci/store.h"

namespace bld::cli {

// Exit codes (DESIGN.md "Errors").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // build or run failure
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBldFailed = 125;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitNotFound = 127;

struct GlobalOptions {
  std::string root;       // --root / BLD_ROOT / default
  std::string log_level;  // --log-level
  // Set by main when an unprivileged caller continues as root of its own user namespace
  // (runner/userns.h): the store defaults to the user's, not /var/lib/bld.
  bool rootless = false;
};

// The store root from --root, BLD_ROOT, or the default (root: /var/lib/bld,
// rootless: $XDG_DATA_HOME/bld or ~/.local/share/bld).
std::string StoreRoot(const GlobalOptions& g);
Result<std::unique_ptr<oci::Store>> OpenStore(const GlobalOptions& g);

// Prints "bld: <message>" on stderr and returns the exit code for it:
// `exit_code` when given, else usage errors (InvalidArgument) -> 2 and
// everything else -> 1. (`bld run` passes 125 for failures before the
// container started.)
int ReportError(const Error& e, int exit_code = -1);

// "2.1MB", "512kB" (decimal units, as docker prints sizes).
std::string HumanSize(int64_t bytes);
// "3 hours ago" for an RFC 3339 time; "N/A" when empty or unparsable.
std::string HumanAgo(const std::string& rfc3339);
// The current time, RFC 3339 in UTC with seconds ("2024-01-01T00:00:00Z").
std::string NowRfc3339();

// A subcommand: Setup adds its options to `app` and returns the function to
// run once parsing succeeded (returning the process exit code).
struct Command {
  const char* name;
  const char* summary;
  std::function<std::function<int()>(CLI::App* app, const GlobalOptions* g)> setup;
};

}  // namespace bld::cli
