// The subset of Go's text/template that docker's --format uses, over JSON values:
//   {{.Field}}, {{.A.B}}, {{.}}, {{json .}}, {{json .Field}}, {{range .List}}...{{end}},
//   literal "\t" and "\n" as tab and newline, and a leading "table" for aligned columns
//   with a header row.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"

namespace bld::cli {

class Template {
 public:
  // `headers` names the table columns by field ("ID" -> "IMAGE ID"); a field not in it is
  // shown upper-cased. InvalidArgument naming the problem for a template bld cannot run.
  static Result<Template> Parse(const std::string& format,
                                std::map<std::string, std::string> headers = {});

  // Prints the rows: "json" one compact object per line; otherwise the template for each
  // row followed by a newline ("table": aligned, after a header line).
  Result<std::string> Render(const std::vector<nlohmann::ordered_json>& rows) const;

  struct Node {
    enum class Kind { kText, kValue, kJson, kRange } kind = Kind::kText;
    std::string text;                // kText
    std::vector<std::string> path;   // the field path (empty: ".")
    std::vector<Node> body;          // kRange
  };

 private:
  bool json_lines_ = false;
  bool table_ = false;
  std::vector<Node> nodes_;
  std::map<std::string, std::string> headers_;
};

}  // namespace bld::cli
