// Typed Dockerfile instructions and build stages: the second of the parser's
// layers (parser.h gives syntax, this gives meaning; the builder lowers it).
//
//   auto df = bld::parser::ParseDockerfile(text, {.file_name = "Dockerfile"});
//   for (const Stage& s : df->stages)
//     for (const Instruction& i : s.instructions)
//       if (auto* run = std::get_if<RunInstruction>(&i.value)) ...
//
// Values are as written: variables ($X, ${X:-y}) and quotes in ENV/LABEL/ARG
// values, COPY sources, FROM names etc. are NOT expanded here because their
// values depend on build args and the stage's environment. The builder expands
// them with StageVariables (variables.h), field by field, as documented on
// each struct ("expand: yes"). Fields marked "expand: no" are used verbatim.
//
// Every error reads "<file>:<line>: <problem>", e.g.
//   Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)
//   Dockerfile:7: flag --from is not valid for RUN (valid flags: --mount, --network, --security)
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "parser/parser.h"

namespace bld::parser {

// A key and its raw value (quotes kept; expand: yes, both).
struct KeyValue {
  std::string key;
  std::string value;
};

// One name of an ARG instruction and its raw default (expand: yes).
struct ArgDecl {
  std::string key;
  std::optional<std::string> value;  // nullopt: `ARG NAME` without default
};

// The command of RUN / CMD / ENTRYPOINT (expand: no; the shell expands).
struct CommandLine {
  // Exec form: the JSON elements. Shell form: one string, the whole command.
  std::vector<std::string> args;
  // True for shell form: run as SHELL + args (default ["/bin/sh", "-c"]).
  bool prepend_shell = false;
};

// ---- RUN --------------------------------------------------------------------

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
enum class CacheSharing { kShared, kPrivate, kLocked };
enum class NetworkMode { kDefault, kNone, kHost };
enum class SecurityMode { kSandbox, kInsecure };

std::string_view MountTypeName(MountType t);        // "bind", "cache", ...
std::string_view CacheSharingName(CacheSharing s);  // "shared", ...
std::string_view NetworkModeName(NetworkMode m);    // "default", "none", "host"
std::string_view SecurityModeName(SecurityMode m);  // "sandbox", "insecure"

// RUN --mount=type=...,... (BuildKit's keys: type, from, source|src,
// target|dst|destination, readonly|ro, readwrite|rw, id, sharing, required,
// mode, uid, gid, size (tmpfs), env (secret)).
struct Mount {
  MountType type = MountType::kBind;
  std::string from;       // stage name/index or image; "" = the build context
  std::string source;     // path in `from` (bind/cache), secret/ssh id source
  std::string target;     // mount point in the container (secret: file path)
  bool read_only = true;  // default: true for bind/secret/ssh, false for cache/tmpfs
  std::string id;         // cache id / secret id / ssh id
  CacheSharing sharing = CacheSharing::kShared;
  bool required = false;                   // secret/ssh: fail if not provided
  std::optional<uint32_t> mode, uid, gid;  // cache/secret/ssh
  std::optional<uint64_t> size_bytes;      // tmpfs size=
  std::string env;                         // secret: expose as this env variable
};

// Parses one --mount value (CSV of key=value). `spec` must already be expanded
// (the builder expands it with the stage's variables first).
Result<Mount> ParseMount(std::string_view spec);

// The values of every from= field of a --mount value (key case-insensitive, CSV quotes
// removed), as written: before expansion this shows variables, and an empty value (which
// ParseMount cannot tell from no from= at all). Empty when the spec is not valid CSV
// (ParseMount reports that).
std::vector<std::string> MountFromValues(std::string_view spec);

struct RunInstruction {
  CommandLine command;
  // Heredocs of the line (`RUN <<EOF`): content already has leading tabs
  // removed for `<<-`. If command.args[0] is a lone "<<NAME", the first heredoc
  // is the script to run.
  std::vector<Heredoc> heredocs;
  // --mount values as written (expand: yes, then ParseMount) and, for
  // convenience, parsed as written (exact when they contain no '$').
  std::vector<std::string> mount_specs;
  std::vector<Mount> mounts;
  NetworkMode network = NetworkMode::kDefault;     // --network=default|none|host
  SecurityMode security = SecurityMode::kSandbox;  // --security=sandbox|insecure
};

struct CmdInstruction {
  CommandLine command;
};
struct EntrypointInstruction {
  CommandLine command;
};
// SHELL ["executable", "params"...] (JSON form only).
struct ShellInstruction {
  std::vector<std::string> shell;
};

// ---- files ------------------------------------------------------------------

// A heredoc used as a COPY/ADD source: a file named `path` with `data`.
struct InlineSource {
  std::string path;  // the heredoc's name
  std::string data;  // body (tabs stripped for <<-); expand with variables iff `expand`
  bool expand = true;
};

// COPY and ADD. `add` tells which; ADD-only fields are empty for COPY and
// COPY-only fields empty for ADD.
struct CopyInstruction {
  bool add = false;
  std::vector<std::string> sources;          // expand: yes (ADD: may be URLs / git refs)
  std::vector<InlineSource> inline_sources;  // heredoc sources (`COPY <<EOF /x`)
  std::string dest;                          // expand: yes
  std::string from;                          // COPY --from (stage name/index or image); expand: yes
  std::string chown;                         // --chown=user[:group]; expand: yes
  std::string chmod;                         // --chmod=0755 or symbolic; expand: yes
  bool link = false;                         // --link
  bool parents = false;                      // COPY --parents
  std::vector<std::string> exclude;          // --exclude=pattern (repeatable); expand: yes
  std::string checksum;                      // ADD --checksum=sha256:...; expand: yes
  bool keep_git_dir = false;                 // ADD --keep-git-dir
};

// ---- metadata ---------------------------------------------------------------

struct EnvInstruction {
  std::vector<KeyValue> vars;
};
struct LabelInstruction {
  std::vector<KeyValue> labels;
};
struct MaintainerInstruction {
  std::string maintainer;  // expand: no
};
struct ExposeInstruction {
  std::vector<std::string> ports;  // "80", "53/udp", "8000-8010"; expand: yes, then split on spaces
};
struct VolumeInstruction {
  std::vector<std::string> paths;  // expand: yes
};
struct UserInstruction {
  std::string user;  // user[:group]; expand: yes
};
struct WorkdirInstruction {
  std::string path;  // expand: yes
};
struct StopSignalInstruction {
  std::string signal;  // "SIGTERM" or "15"; expand: yes
};
struct ArgInstruction {
  std::vector<ArgDecl> args;
};
// ONBUILD <trigger>: stored in the image config as text.
struct OnbuildInstruction {
  // e.g. "RUN make"; a heredoc trigger carries its body lines after a newline
  // ("RUN <<EOF\nmake\nEOF"). Expand: no.
  std::string expression;
};

// HEALTHCHECK. Durations in nanoseconds, 0 = not set (inherit/default).
struct HealthcheckInstruction {
  // ["NONE"], ["CMD", exec args...] or ["CMD-SHELL", "command"]: the image
  // config's Healthcheck.Test.
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

using InstructionValue =
    std::variant<RunInstruction, CmdInstruction, EntrypointInstruction, ShellInstruction,
                 CopyInstruction, EnvInstruction, LabelInstruction, MaintainerInstruction,
                 ExposeInstruction, VolumeInstruction, UserInstruction, WorkdirInstruction,
                 StopSignalInstruction, ArgInstruction, OnbuildInstruction, HealthcheckInstruction>;

struct Instruction {
  std::string name;  // upper-case keyword: "RUN", "COPY", "ADD", ...
  int start_line = 0;
  int end_line = 0;
  std::string original;  // the logical source line (see Node::original)
  InstructionValue value;
};

// A FROM and the instructions up to the next FROM.
struct Stage {
  int index = 0;              // 0-based position in the Dockerfile
  std::string base_name;      // image, "scratch", or an earlier stage's name; expand: meta ARGs
  std::string name;           // `AS name`, lower-cased; "" when unnamed
  std::string original_name;  // `AS name` as written
  std::string platform;       // --platform value; expand: meta ARGs
  int start_line = 0;         // the FROM line
  int end_line = 0;           // last line of the stage
  std::string original;       // the FROM line
  std::vector<Instruction> instructions;
};

struct Dockerfile {
  std::vector<Directive> directives;
  char escape_token = '\\';
  std::vector<Warning> warnings;
  // ARG instructions before the first FROM (each value is ArgInstruction).
  // Visible to FROM lines only, unless re-declared inside a stage.
  std::vector<Instruction> meta_args;
  std::vector<Stage> stages;  // never empty
};

struct InstructionOptions {
  std::string file_name = "Dockerfile";
};

// Text -> typed stages: Parse() then ParseInstructions().
Result<Dockerfile> ParseDockerfile(std::string_view text, const ParseOptions& options = {});
// AST -> typed stages, validating every instruction (see the file comment).
Result<Dockerfile> ParseInstructions(const AST& ast, const ParseOptions& options = {});
// One AST node -> typed instruction (FROM is not an instruction: rejected).
Result<Instruction> ParseInstruction(const Node& node, const ParseOptions& options = {});

// Finds a stage by name (case-insensitive) or decimal index; -1 if none.
int FindStage(const Dockerfile& df, std::string_view name_or_index);

// Go's time.ParseDuration ("1m30s", "500ms"), in nanoseconds.
Result<int64_t> ParseGoDuration(std::string_view s);

// A stable JSON rendering of the typed Dockerfile (the format of
// `bld parse --format json`): {"escape", "directives", "meta_args", "stages":
// [{"index", "name", "base", "platform", "line", "end_line", "instructions":
// [{"instruction": "RUN", "line", "end_line", "original", ...fields}]}],
// "warnings"}. Field names are the snake_case member names above.
std::string DockerfileToJson(const Dockerfile& df, int indent = 2);

}  // namespace bld::parser
