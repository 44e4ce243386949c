#include "cli/template.h"

#include <gtest/gtest.h>

namespace bld::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string Render(const std::string& format, const std::vector<Json>& rows,
                   std::map<std::string, std::string> headers = {}) {
  auto t = Template::Parse(format, std::move(headers));
  if (!t.ok()) return "error: " + t.error().message();
  auto out = t->Render(rows);
  if (!out.ok()) return "error: " + out.error().message();
  return *out;
}

const std::vector<Json>& Rows() {
  static const auto* const rows = new std::vector<Json>{
      Json{{"ID", "abc"}, {"Repository", "busybox"}, {"Tag", "latest"},
           {"Config", {{"Env", {"A=1", "B=2"}}, {"User", ""}}}},
      Json{{"ID", "def0123"}, {"Repository", "<none>"}, {"Tag", "<none>"},
           {"Config", {{"Env", Json::array()}, {"User", "nobody"}}}},
  };
  return *rows;
}

TEST(TemplateTest, FieldsNestedAndLiteralEscapes) {
  EXPECT_EQ(Render("{{.Repository}}:{{.Tag}}", Rows()), "busybox:latest\n<none>:<none>\n");
  EXPECT_EQ(Render("{{.ID}}\\t{{.Config.User}}", Rows()), "abc\t\ndef0123\tnobody\n");
  EXPECT_EQ(Render("{{ .ID }}", Rows()), "abc\ndef0123\n");
  EXPECT_EQ(Render("{{.Config.Env}}", Rows()), "[A=1 B=2]\n[]\n");
}

TEST(TemplateTest, JsonAndRange) {
  EXPECT_EQ(Render("{{json .Config.Env}}", {Rows()[0]}), "[\"A=1\",\"B=2\"]\n");
  EXPECT_EQ(Render("{{range .Config.Env}}<{{.}}>{{end}}", Rows()), "<A=1><B=2>\n\n");
  // "json" alone: one compact object per line, as docker prints.
  EXPECT_EQ(Render("json", {Json{{"ID", "x"}, {"Size", 3}}}), "{\"ID\":\"x\",\"Size\":3}\n");
  EXPECT_EQ(Render("{{json .}}", {Json{{"ID", "x"}}}), "{\"ID\":\"x\"}\n");
}

TEST(TemplateTest, TableHasHeadersAndAlignedColumns) {
  EXPECT_EQ(Render("table {{.ID}}\\t{{.Repository}}", Rows(), {{"ID", "IMAGE ID"}}),
            "IMAGE ID   REPOSITORY\n"
            "abc        busybox\n"
            "def0123    <none>\n");
}

TEST(TemplateTest, ErrorsNameTheProblem) {
  EXPECT_EQ(Render("{{.Nope}}", Rows()), "error: --format: can't evaluate field Nope");
  EXPECT_NE(Render("{{.ID", Rows()).find("unclosed"), std::string::npos);
  EXPECT_NE(Render("{{range .Config.Env}}x", Rows()).find("without {{end}}"), std::string::npos);
  EXPECT_NE(Render("{{end}}", Rows()).find("without {{range}}"), std::string::npos);
  EXPECT_NE(Render("{{upper .ID}}", Rows()).find("not supported"), std::string::npos);
  EXPECT_NE(Render("{{range .ID}}{{end}}", Rows()).find("not a list"), std::string::npos);
}

}  // namespace
}  // namespace bld::cli
