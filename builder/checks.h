// Build checks: the Dockerfile lint rules BuildKit runs during a build (a subset, with
// BuildKit's rule names and messages) and the parser's warnings, shown by `bld build`.
// `# check=skip=Rule1,Rule2` (or skip=all) skips rules, `# check=error=true` turns any
// finding into a build failure. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "builder/progress.h"
#include "parser/instructions.h"

namespace bld::builder {

struct CheckFinding {
  std::string rule;  // "JSONArgsRecommended"
  std::string message;
  int line = 0;
};

struct CheckResult {
  std::vector<CheckFinding> findings;  // after skip=
  bool error = false;                  // check=error=true
};

// Runs the checks on `df`. InvalidArgument for a malformed `# check=` directive.
Result<CheckResult> RunChecks(const parser::Dockerfile& df, const std::string& file_name);

// RunChecks, each finding printed as a warning ("FILE:LINE: Rule: message"); with
// check=error=true a finding fails: InvalidArgument naming the first one.
Status ReportChecks(const parser::Dockerfile& df, const std::string& file_name, Progress& progress);

}  // namespace bld::builder
