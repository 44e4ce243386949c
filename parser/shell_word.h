// Shell-word processing as Docker defines it for Dockerfiles: quote removal,
// escapes, `$VAR`/`${VAR}` expansion with the modifiers
//   ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?msg} ${v?msg}
//   ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}
// and word splitting. Behaves like BuildKit's frontend/dockerfile/shell.Lex
// (checked against BuildKit's envVarTest in shell_word_test.cc). Pure: no I/O.
//
// Which instructions expand and which split is the builder's business; the
// usual BuildKit rules: ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
// VOLUME, WORKDIR and ARG values expand one word at a time with
// ExpandWord (no splitting); RUN/CMD/ENTRYPOINT/SHELL are never expanded by
// the builder (the shell does it). Heredoc bodies expand only when their
// delimiter was unquoted (Heredoc::expand).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::parser {

// Variables visible to an expansion, by exact (case-sensitive) name.
using EnvMap = std::map<std::string, std::string, std::less<>>;

// Builds an EnvMap from "KEY=VALUE" strings ("KEY" alone maps to ""); later
// entries win.
EnvMap BuildEnvMap(const std::vector<std::string>& env);

struct ShellWordOptions {
  // The Dockerfile's escape character: '\\' (default) or '`'.
  char escape_token = '\\';
  // Keep quote characters in the output (quotes still group words).
  bool raw_quotes = false;
  // Keep escape characters in the output.
  bool raw_escapes = false;
  // Treat quotes as ordinary characters.
  bool skip_process_quotes = false;
  // Leave references to unset variables as written (`$X`, `${X:-y}`).
  bool skip_unset_env = false;
};

struct ShellWordResult {
  // The processed text with whitespace kept (what ExpandWord returns).
  std::string word;
  // The processed text split into words at unquoted whitespace; whitespace that
  // came from a variable's value splits too, as in the shell.
  std::vector<std::string> words;
  // Variable names that were referenced and set / referenced and unset.
  std::set<std::string> matched;
  std::set<std::string> unmatched;
};

// Processes `word`. Errors (unterminated quotes, bad substitution, `${v?}`
// with v unset, unsupported modifier) read like
// `failed to process "he${}": syntax error: bad substitution`.
Result<ShellWordResult> ProcessShellWord(std::string_view word, const EnvMap& env,
                                         const ShellWordOptions& options = {});

// The processed text as one word (ProcessWord in BuildKit).
Result<std::string> ExpandWord(std::string_view word, const EnvMap& env,
                               const ShellWordOptions& options = {});
// The processed text split into words (ProcessWords in BuildKit).
Result<std::vector<std::string>> ExpandWords(std::string_view word, const EnvMap& env,
                                             const ShellWordOptions& options = {});

}  // namespace bld::parser
