// Build-time variables: ARG and ENV scoping as Docker defines it, for the
// builder to expand instruction fields (see "expand:" in instructions.h).
//
//  - Meta ARGs (before the first FROM) are visible only to FROM lines (base
//    name and --platform): ResolveMetaArgs().
//  - Inside a stage nothing is visible until declared: `ARG NAME[=default]`
//    takes the --build-arg value if one was given, else its default
//    (expanded), else the meta ARG of the same name's value.
//  - ENV values (the base image's and the stage's) override ARGs of the same
//    name, whatever the order.
//  - RUN sees the image environment plus the declared ARGs not overridden.
// Pure: no I/O.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "parser/instructions.h"
#include "parser/shell_word.h"

namespace bld::parser {

// Values of the meta ARGs, in declaration order: a --build-arg wins over the
// default; defaults expand with the meta ARGs before them and `predefined`
// (e.g. BUILDPLATFORM, TARGETPLATFORM, which the builder supplies). An ARG
// without default and without build arg is left out (it expands to "").
Result<EnvMap> ResolveMetaArgs(const std::vector<Instruction>& meta_args, const EnvMap& build_args,
                               const EnvMap& predefined = {}, char escape_token = '\\');

// Expands FROM's base name and --platform with the meta ARG values.
Result<std::string> ExpandWithMetaArgs(std::string_view word, const EnvMap& meta_values,
                                       char escape_token = '\\');

// The variables of one stage while its instructions are dispatched in order.
class StageVariables final {
 public:
  // image_env: the base image's Env ("K=V"); meta_values: ResolveMetaArgs();
  // build_args: --build-arg values; predefined: ARGs such as TARGETPLATFORM
  // that a stage may declare without value to read.
  StageVariables(const std::vector<std::string>& image_env, EnvMap meta_values, EnvMap build_args,
                 EnvMap predefined = {}, char escape_token = '\\');

  // ARG inside the stage (declares, in order). Returns each name with the value it got
  // (build arg, expanded default or global value; nullopt for none): BuildKit's history
  // entry "ARG foo=bar unset".
  Result<std::vector<ArgDecl>> Declare(const ArgInstruction& arg);
  // ENV: every key and value expands with the variables as they were before
  // this instruction (Docker's rule), then they are set in order. Returns the pairs as
  // set (for the history entry: "ENV x=1:2", not the pairs re-expanded afterwards).
  Result<std::vector<KeyValue>> SetEnv(const EnvInstruction& env);

  // Expands one word (quotes removed, variables substituted), e.g. a COPY source.
  Result<std::string> Expand(std::string_view word) const;
  // Expands the body of a here-document whose delimiter was unquoted (COPY/ADD <<EOF):
  // here-document rules, as BuildKit's lexer with SkipProcessQuotes — quotes are ordinary
  // characters, `$VAR`/`${VAR...}` expand, the escape character escapes the next one.
  Result<std::string> ExpandHeredoc(std::string_view body) const;
  // Expands and splits at unquoted whitespace (EXPOSE).
  Result<std::vector<std::string>> ExpandSplit(std::string_view word) const;
  // Expands every key and value of ENV/LABEL-like pairs.
  Result<std::vector<KeyValue>> ExpandPairs(const std::vector<KeyValue>& pairs) const;

  // What expansions see: ARGs overlaid by ENV. Kept up to date by Declare and SetEnv, so that
  // each instruction costs O(log n), not a rebuild of the whole map (a Dockerfile of 10,000
  // ENV lines is linear).
  const EnvMap& Visible() const { return visible_; }
  // The image config Env ("K=V"), base image first, updated by SetEnv.
  const std::vector<std::string>& Env() const { return env_; }
  // The environment of a RUN: Env() plus declared ARGs that ENV does not override.
  std::vector<std::string> RunEnv() const;
  // "k=v" for every ARG declared so far, with or without a value, in the order of first
  // declaration (a re-declaration keeps the place, takes the new value); the value as the
  // stage sees it (ENV wins), "" for none. The build args of RUN's history entry, as
  // BuildKit's runCommandString writes them: "RUN |2 foo=bar2 bar=123 ...".
  std::vector<std::string> HistoryArgs() const;
  // Declared ARGs with a value, in declaration order (for cache keys).
  const std::vector<std::pair<std::string, std::string>>& Args() const { return args_; }
  // --build-arg names some ARG of this stage (or a meta ARG) consumed.
  const std::set<std::string>& ConsumedBuildArgs() const { return consumed_; }

 private:
  void SetEnvVar(const std::string& key, const std::string& value);
  ShellWordOptions Options() const;

  std::vector<std::string> env_;
  EnvMap env_map_;  // env_ as a map (a later duplicate key wins, as BuildEnvMap)
  std::map<std::string, size_t, std::less<>> env_index_;  // key -> its first entry in env_
  EnvMap visible_;  // args_ overlaid by env_map_
  std::vector<std::pair<std::string, std::string>> args_;
  std::vector<std::string> declared_;  // every ARG name, in order of first declaration
  EnvMap meta_values_;
  EnvMap build_args_;
  EnvMap predefined_;
  std::set<std::string> consumed_;
  char escape_token_;
};

}  // namespace bld::parser
