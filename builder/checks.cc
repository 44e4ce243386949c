#include "builder/checks.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace bld::builder {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(Trim(s.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

// The first word of an instruction as written ("run", "FROM").
std::string Keyword(std::string_view original) {
  size_t i = 0;
  while (i < original.size() && std::isspace(static_cast<unsigned char>(original[i]))) ++i;
  size_t j = i;
  while (j < original.size() && !std::isspace(static_cast<unsigned char>(original[j]))) ++j;
  return std::string(original.substr(i, j - i));
}

bool IsLower(const std::string& s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
}
bool IsUpper(const std::string& s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return std::islower(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<CheckResult> RunChecks(const parser::Dockerfile& df, const std::string& file_name) {
  CheckResult r;
  std::set<std::string> skip;
  bool skip_all = false;
  for (const auto& d : df.directives) {
    if (d.name != "check") continue;
    for (const auto& part : Split(d.value, ';')) {
      if (part.empty()) continue;
      size_t eq = part.find('=');
      std::string k = Trim(part.substr(0, eq));
      std::string v = eq == std::string::npos ? "" : Trim(part.substr(eq + 1));
      if (k == "skip") {
        for (const auto& rule : Split(v, ',')) {
          if (rule == "all") skip_all = true;
          if (!rule.empty()) skip.insert(rule);
        }
      } else if (k == "error") {
        if (v != "true" && v != "false") {
          return InvalidArgumentError(file_name + ":" + std::to_string(d.line) +
                                      ": # check=error=" + v + ": expected true or false");
        }
        r.error = v == "true";
      } else {
        return InvalidArgumentError(file_name + ":" + std::to_string(d.line) + ": # check=" + part +
                                    ": unknown option (skip=..., error=true|false)");
      }
    }
  }
  std::vector<CheckFinding> all;
  for (const auto& w : df.warnings) {
    all.push_back({"NoEmptyContinuation", "Empty continuation line", w.line});
  }
  for (const auto& st : df.stages) {
    // FROM x AS y: the keywords' casing must agree; the stage name lower-case.
    std::string from_kw = Keyword(st.original);
    size_t as = std::string::npos;
    {
      std::string lower = st.original;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      as = lower.rfind(" as ");
    }
    if (!st.original_name.empty()) {
      if (as != std::string::npos) {
        std::string as_kw = st.original.substr(as + 1, 2);
        if ((IsUpper(from_kw) && !IsUpper(as_kw)) || (IsLower(from_kw) && !IsLower(as_kw))) {
          all.push_back({"FromAsCasing",
                         "'" + as_kw + "' and '" + from_kw + "' keywords' casing do not match",
                         st.start_line});
        }
      }
      if (!IsLower(st.original_name)) {
        all.push_back({"StageNameCasing",
                       "Stage name '" + st.original_name + "' should be lowercase", st.start_line});
      }
    }
    bool absolute_workdir = false;
    int cmds = 0, entrypoints = 0, healthchecks = 0;
    for (const auto& ins : st.instructions) {
      if (std::holds_alternative<parser::MaintainerInstruction>(ins.value)) {
        all.push_back({"MaintainerDeprecated",
                       "Maintainer instruction is deprecated in favor of using label",
                       ins.start_line});
      }
      const parser::CommandLine* cmd = nullptr;
      std::string name;
      if (auto* c = std::get_if<parser::CmdInstruction>(&ins.value)) {
        cmd = &c->command;
        name = "CMD";
        ++cmds;
      } else if (auto* e = std::get_if<parser::EntrypointInstruction>(&ins.value)) {
        cmd = &e->command;
        name = "ENTRYPOINT";
        ++entrypoints;
      } else if (std::holds_alternative<parser::HealthcheckInstruction>(ins.value)) {
        ++healthchecks;
      }
      if (cmd != nullptr && cmd->prepend_shell) {
        all.push_back({"JSONArgsRecommended",
                       "JSON arguments recommended for " + name +
                           " to prevent unintended behavior related to OS signals",
                       ins.start_line});
      }
      if (auto* w = std::get_if<parser::WorkdirInstruction>(&ins.value)) {
        if (!w->path.empty() && w->path[0] == '/') {
          absolute_workdir = true;
        } else if (!absolute_workdir && !w->path.starts_with("$")) {
          all.push_back({"WorkdirRelativePath",
                         "Relative workdir \"" + w->path +
                             "\" can have unexpected results if the base image changes",
                         ins.start_line});
        }
      }
    }
    for (auto [count, what] : {std::pair{cmds, "CMD"}, std::pair{entrypoints, "ENTRYPOINT"},
                               std::pair{healthchecks, "HEALTHCHECK"}}) {
      if (count > 1) {
        all.push_back({"MultipleInstructionsDisallowed",
                       std::string("Multiple ") + what +
                           " instructions should not be used in the same stage because only "
                           "the last one will be used",
                       st.end_line});
      }
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const CheckFinding& a, const CheckFinding& b) { return a.line < b.line; });
  for (auto& f : all) {
    if (skip_all || skip.count(f.rule)) continue;
    r.findings.push_back(std::move(f));
  }
  return r;
}

Status ReportChecks(const parser::Dockerfile& df, const std::string& file_name,
                    Progress& progress) {
  BLD_ASSIGN_OR_RETURN(CheckResult r, RunChecks(df, file_name));
  if (r.findings.empty()) return Ok();
  progress.Info(0, std::to_string(r.findings.size()) +
                       (r.findings.size() == 1 ? " warning" : " warnings") + " found:");
  for (const auto& f : r.findings) {
    progress.Info(0, "warning: " + file_name + ":" + std::to_string(f.line) + ": " + f.rule + ": " +
                         f.message);
  }
  if (r.error) {
    const auto& f = r.findings.front();
    return InvalidArgumentError(file_name + ":" + std::to_string(f.line) +
                                ": lint violation found for rules: " + f.rule + ": " + f.message +
                                " (# check=error=true)");
  }
  return Ok();
}

}  // namespace bld::builder
