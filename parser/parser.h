// Dockerfile syntax: text -> AST. The first of the parser's three layers
// (syntax here; shell_word.h expands words; instructions.h gives meaning).
//
// Follows BuildKit's frontend/dockerfile/parser byte for byte, so that
// Dump() reproduces BuildKit's AST dumps (checked against BuildKit's own
// testfiles in tests/parser_buildkit_test.cc):
//  - parser directives (`# syntax=`, `# escape=`, `# check=`) only in the
//    leading comment block; each at most once; escape is '\\' or '`';
//  - a UTF-8 byte order mark on the first line is dropped; CRLF and LF both end
//    lines;
//  - the escape character at the end of a line continues it; comment lines and
//    blank lines inside a continuation are skipped (blank ones with a warning);
//  - instruction names are case-insensitive; leading `--flag[=value]` words
//    become flags;
//  - RUN/CMD/ENTRYPOINT/SHELL/ADD/COPY/VOLUME/HEALTHCHECK accept a JSON array of
//    strings (exec form); anything else (invalid JSON, non-string elements)
//    falls back to the shell/plain form;
//  - ENV and LABEL give (key, raw value, separator) triples; the value keeps
//    its quotes: quote removal and variable expansion come later
//    (shell_word.h) because they depend on the build-time environment;
//  - RUN, COPY and ADD (also under ONBUILD) take heredocs (`<<EOF`, `<<-EOF`,
//    `<<"EOF"`, several per line); their bodies follow the instruction line;
//  - unknown instructions parse (with one empty argument, as in BuildKit) and
//    are rejected by the typed layer, which can suggest the intended name.
// Pure: no I/O.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::parser {

// A here-document attached to a RUN, COPY or ADD instruction.
struct Heredoc {
  std::string name;              // delimiter word with quotes removed ("EOF")
  unsigned file_descriptor = 0;  // the N in N<<EOF; 0 when not given
  bool expand = true;            // false when any part of the delimiter was quoted
  bool chomp = false;            // `<<-`: leading tabs are stripped (see ChompHeredoc)
  std::string content;           // body lines, each with its original line ending
};

// One instruction of the Dockerfile.
struct Node {
  // Lower-case instruction name ("run", "copy", an unknown "foo").
  std::string instruction;
  // Leading `--name[=value]` words, quotes removed, in order ("--from=build").
  std::vector<std::string> flags;
  // Arguments as BuildKit's line parsers produce them: one string for shell
  // form, the elements for JSON form, (key, value, sep) triples for ENV/LABEL,
  // "CMD"/"NONE" then the command for HEALTHCHECK. Empty for ONBUILD, whose
  // instruction is `nested`.
  std::vector<std::string> args;
  std::unique_ptr<Node> nested;  // ONBUILD's trigger instruction; else null
  bool json = false;             // arguments came from a JSON array (exec form)
  std::vector<Heredoc> heredocs;
  // The logical line after joining continuations and dropping comments
  // (without heredoc bodies), e.g. "RUN --mount=type=cache,target=/x make".
  std::string original;
  int start_line = 0;  // 1-based line where the instruction starts
  int end_line = 0;    // last line, including continuation lines and heredoc bodies
  // Comment lines directly above the instruction, '#' and spaces removed.
  std::vector<std::string> comments;

  Node() = default;
  Node(Node&&) = default;
  Node& operator=(Node&&) = default;
  Node(const Node& other) { *this = other; }
  Node& operator=(const Node& other);
};

struct Directive {
  std::string name;   // lower-case: "syntax", "escape" or "check"
  std::string value;  // as written, surrounding spaces trimmed
  int line = 0;
};

struct Warning {
  std::string message;
  int line = 0;
};

struct ParseOptions {
  // Used in error messages: "<file_name>:LINE: problem".
  std::string file_name = "Dockerfile";
};

struct AST {
  std::vector<Node> children;  // instructions in file order (never empty)
  char escape_token = '\\';
  std::vector<Directive> directives;
  std::vector<Warning> warnings;
};

// Parses a Dockerfile. Fails with InvalidArgument "Dockerfile:LINE: problem"
// for: a repeated or invalid directive, ENV/LABEL without a value, a LABEL/ENV
// word without '=', an unterminated heredoc, or a file with no instructions.
Result<AST> Parse(std::string_view text, const ParseOptions& options = {});

// BuildKit's AST dump: one "(instr [flags] "arg"...)" line per instruction,
// each line ending in '\n'. Directives, comments and heredoc bodies are not shown.
std::string Dump(const AST& ast);
// One instruction without the surrounding parentheses: copy ["--from=a"] "x" "/y".
std::string DumpNode(const Node& node);

// Parses a heredoc redirection word such as "<<EOF", "<<-'EOF'" or "3<<EOF".
// Returns false when `word` is not one.
bool ParseHeredocWord(std::string_view word, Heredoc* out);
// Strips leading tabs from every line (the `<<-` form).
std::string ChompHeredoc(std::string_view content);

}  // namespace bld::parser
