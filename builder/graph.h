// The build graph: typed stages -> which stage needs which, validated before
// anything runs. Pure: no I/O.
//
// A stage depends on the stage it is built FROM and on every stage named by
// COPY --from or RUN --mount=from=. A --from value that names no stage (and is
// not a stage index) is an image. Rejected, as "Dockerfile:LINE: ...": an
// unknown --target, a stage index out of range, a stage referring to itself or
// to a stage defined after it (Docker's rule; so there are no cycles), duplicate
// stage names. Stages the target does not need are skipped.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "parser/instructions.h"
#include "parser/shell_word.h"

namespace bld::builder {

// What a --from (or FROM) names.
struct SourceRef {
  int stage = -1;     // a stage index, or -1
  std::string image;  // else an image reference ("scratch" for FROM scratch)
};

struct StageNode {
  int index = 0;
  std::string name;       // lower-cased `AS` name, "" if none
  std::string base;       // FROM after meta ARG expansion
  std::string platform;   // FROM --platform after expansion ("" if none)
  SourceRef from;         // what `base` is
  std::vector<int> deps;  // stages this one needs (sorted, unique)
  // (instruction index) -> what its --from / each --mount from= names.
  std::map<int, SourceRef> copy_from;
  std::map<std::pair<int, int>, SourceRef> mount_from;  // (instruction, mount) -> source
  bool needed = false;
};

struct Graph {
  std::vector<StageNode> stages;
  int target = 0;
  // Needed stages, dependencies first.
  std::vector<int> order;
};

struct GraphOptions {
  std::string file_name = "Dockerfile";
  std::string target;  // "" = the last stage
  // Meta ARG values (parser::ResolveMetaArgs), for FROM lines.
  parser::EnvMap meta_values;
  // --build-arg values and predefined ARGs: a COPY --from=$X or --mount from=$X
  // expands with the stage's ARGs as declared up to that instruction.
  parser::EnvMap build_args;
  parser::EnvMap predefined;
};

Result<Graph> BuildGraph(const parser::Dockerfile& df, const GraphOptions& options);

// Resolves a --from / FROM value among the stages before-or-at `limit`
// (name, case-insensitive, or decimal index). Used by BuildGraph.
SourceRef ResolveSource(const parser::Dockerfile& df, std::string_view value);

}  // namespace bld::builder
