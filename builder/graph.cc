#include "builder/graph.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "parser/variables.h"

namespace bld::builder {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsIndex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Error At(const GraphOptions& o, int line, const std::string& msg) {
  return InvalidArgumentError(o.file_name + ":" + std::to_string(line) + ": " + msg);
}

}  // namespace

SourceRef ResolveSource(const parser::Dockerfile& df, std::string_view value) {
  SourceRef ref;
  std::string lower = Lower(value);
  for (const auto& s : df.stages) {
    if (!s.name.empty() && s.name == lower) {
      ref.stage = s.index;
      return ref;
    }
  }
  if (IsIndex(value)) {
    ref.stage = value.size() > 6 ? 1 << 30 : std::stoi(std::string(value));
    return ref;
  }
  ref.image = std::string(value);
  return ref;
}

// A from= field of a --mount spec, as written, that holds a variable (BuildKit refuses it).
static bool MountFromHasVariable(std::string_view spec) {
  for (const std::string& v : parser::MountFromValues(spec)) {
    if (v.find('$') != std::string::npos) return true;
  }
  return false;
}

Result<Graph> BuildGraph(const parser::Dockerfile& df, const GraphOptions& options) {
  Graph g;
  std::set<std::string> names;
  const int n = static_cast<int>(df.stages.size());
  for (const auto& s : df.stages) {
    StageNode node;
    node.index = s.index;
    node.name = s.name;
    if (!s.name.empty() && !names.insert(s.name).second) {
      return At(options, s.start_line, "duplicate stage name \"" + s.original_name + "\"");
    }
    auto base = parser::ExpandWithMetaArgs(s.base_name, options.meta_values, df.escape_token);
    if (!base.ok()) return At(options, s.start_line, base.error().message());
    if (base->empty())
      return At(options, s.start_line, "FROM names no image (empty after expansion)");
    node.base = *base;
    if (!s.platform.empty()) {
      auto p = parser::ExpandWithMetaArgs(s.platform, options.meta_values, df.escape_token);
      if (!p.ok()) return At(options, s.start_line, p.error().message());
      node.platform = *p;
    }
    // FROM may only name an earlier stage; a later name is an image (Docker's rule).
    std::string lower = Lower(node.base);
    node.from.image = node.base;
    for (const auto& earlier : df.stages) {
      if (earlier.index >= s.index) break;
      if (!earlier.name.empty() && earlier.name == lower) {
        node.from.stage = earlier.index;
        node.from.image.clear();
      }
    }
    if (node.from.stage < 0 && lower == Lower(s.name) && !s.name.empty()) {
      return At(options, s.start_line, "stage \"" + s.original_name + "\" is built FROM itself");
    }
    std::set<int> deps;
    if (node.from.stage >= 0) deps.insert(node.from.stage);

    // Walk the stage's ARG/ENV declarations so that --from values expand as Docker does.
    parser::StageVariables vars({}, options.meta_values, options.build_args, options.predefined,
                                df.escape_token);
    auto add_source = [&](const std::string& raw, int line, const char* what) -> Result<SourceRef> {
      auto value = vars.Expand(raw);
      if (!value.ok()) return At(options, line, value.error().message());
      SourceRef ref = ResolveSource(df, *value);
      if (ref.stage >= 0) {
        if (ref.stage >= n) {
          return At(options, line,
                    std::string(what) + "=" + *value + ": no stage with index " + *value +
                        " (the Dockerfile has " + std::to_string(n) + " stages)");
        }
        if (ref.stage == s.index) {
          return At(options, line, std::string(what) + "=" + *value + " refers to its own stage");
        }
        if (ref.stage > s.index) {
          // Docker: a stage can only use the stages defined before it.
          return At(options, line,
                    std::string(what) + "=" + *value + ": stage \"" + *value +
                        "\" is defined later in the Dockerfile; only earlier stages can be used");
        }
        deps.insert(ref.stage);
      }
      return ref;
    };
    for (int i = 0; i < static_cast<int>(s.instructions.size()); ++i) {
      const auto& ins = s.instructions[i];
      if (auto* a = std::get_if<parser::ArgInstruction>(&ins.value)) {
        auto st = vars.Declare(*a);
        if (!st.ok()) return At(options, ins.start_line, st.error().message());
      } else if (auto* e = std::get_if<parser::EnvInstruction>(&ins.value)) {
        auto st = vars.SetEnv(*e);
        if (!st.ok()) return At(options, ins.start_line, st.error().message());
      } else if (auto* c = std::get_if<parser::CopyInstruction>(&ins.value)) {
        if (c->from.find('$') != std::string::npos) {
          // BuildKit: --from names a stage or image as written.
          return At(options, ins.start_line,
                    "variable expansion is not supported for --from, define a new stage with "
                    "FROM using ARG from global scope as a workaround");
        }
        if (!c->from.empty()) {
          BLD_ASSIGN_OR_RETURN(node.copy_from[i], add_source(c->from, ins.start_line, "--from"));
        }
      } else if (auto* r = std::get_if<parser::RunInstruction>(&ins.value)) {
        for (int m = 0; m < static_cast<int>(r->mount_specs.size()); ++m) {
          if (MountFromHasVariable(r->mount_specs[m])) {
            return At(options, ins.start_line,
                      "--mount=" + r->mount_specs[m] +
                          ": 'from' doesn't support variable expansion, define alias stage "
                          "instead");
          }
          auto spec = vars.Expand(r->mount_specs[m]);
          if (!spec.ok()) return At(options, ins.start_line, spec.error().message());
          auto mount = parser::ParseMount(*spec);
          // A spec that needs the base image's ENV to parse is checked (and its from=
          // resolved) when the stage is lowered with its real variables.
          if (!mount.ok()) continue;
          if (!mount->from.empty()) {
            auto src = add_source(mount->from, ins.start_line, "--mount from");
            if (!src.ok()) return src.error();
            node.mount_from[std::make_pair(i, m)] = *src;
          }
        }
      }
    }
    node.deps.assign(deps.begin(), deps.end());
    g.stages.push_back(std::move(node));
  }

  if (options.target.empty()) {
    g.target = n - 1;
  } else {
    std::string t = Lower(options.target);
    g.target = -1;
    for (const auto& s : g.stages) {
      if (s.name == t) g.target = s.index;
    }
    if (g.target < 0) {
      std::string known;
      for (const auto& s : g.stages) {
        if (s.name.empty()) continue;
        known += known.empty() ? "" : ", ";
        known += s.name;
      }
      return InvalidArgumentError(
          "--target " + options.target + ": no stage of that name in " + options.file_name +
          (known.empty() ? " (no stage has a name)" : " (stages: " + known + ")"));
    }
  }

  // Depth-first from the target: marks needed stages, orders them, finds cycles.
  std::vector<int> state(n, 0);  // 0 new, 1 on the stack, 2 done
  std::function<Status(int)> visit = [&](int i) -> Status {
    if (state[i] == 2) return Ok();
    if (state[i] == 1) {
      return At(options, df.stages[i].start_line,
                "stage " + (g.stages[i].name.empty() ? std::to_string(i) : g.stages[i].name) +
                    " depends on itself through a cycle of --from references");
    }
    state[i] = 1;
    for (int d : g.stages[i].deps) BLD_TRY(visit(d));
    state[i] = 2;
    g.stages[i].needed = true;
    g.order.push_back(i);
    return Ok();
  };
  BLD_TRY(visit(g.target));
  return g;
}

}  // namespace bld::builder
