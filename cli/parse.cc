// bld parse [-f FILE] [--format json|ast]: parses a Dockerfile and prints it,
// without a store or a build. `ast` is BuildKit's AST dump (syntax only);
// `json` (default) validates the instructions and prints the typed stages.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "parser/instructions.h"
#include "parser/parser.h"

namespace bld::cli {

Command MakeParseCommand() {
  return {"parse", "Parse a Dockerfile and print its syntax tree or typed stages",
          [](CLI::App* app, const GlobalOptions*) {
            struct Opts {
              std::string file = "Dockerfile";
              std::string format = "json";
            };
            auto o = std::make_shared<Opts>();
            app->add_option("-f,--file", o->file, "Dockerfile to parse ('-' reads stdin)")
                ->capture_default_str();
            app->add_option("--format", o->format,
                            "json: typed stages and instructions; ast: BuildKit's AST dump")
                ->check(CLI::IsMember({"json", "ast"}))
                ->capture_default_str();
            return [o]() {
              Result<std::string> text = o->file == "-" ? ReadFd(STDIN_FILENO) : ReadFile(o->file);
              if (!text.ok()) return ReportError(text.error(), kExitFailure);
              parser::ParseOptions popts;
              popts.file_name = o->file == "-" ? "Dockerfile" : o->file;
              std::string out;
              if (o->format == "ast") {
                auto ast = parser::Parse(*text, popts);
                if (!ast.ok()) return ReportError(ast.error(), kExitFailure);
                out = parser::Dump(*ast);
              } else {
                auto df = parser::ParseDockerfile(*text, popts);
                if (!df.ok()) return ReportError(df.error(), kExitFailure);
                out = parser::DockerfileToJson(*df);
              }
              Status w = WriteAll(STDOUT_FILENO, out, "stdout");
              if (!w.ok()) return ReportError(w.error(), kExitFailure);
              return kExitOk;
            };
          }};
}

}  // namespace bld::cli
