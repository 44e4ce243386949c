// builder: `bld build` — Dockerfile + context -> image in the local store.
//
// Three layers, as in BuildKit: the parser gives typed stages; graph.h lowers
// them into a validated Graph (before anything runs); the executor walks the
// graph, one stage per thread (up to `jobs` at once), each instruction
// through its family's executor (run.cc, copy.cc, metadata.cc). Steps that
// produce a layer (RUN, COPY, ADD) have a cache key (cache_key.h) and reuse a
// recorded layer on a hit (cache.h).
//
//   BuildOptions o;
//   o.store_root = "/var/lib/bld"; o.context_dir = "."; o.tags = {"app"};
//   auto r = builder::Build(o);   // progress on stderr
//   printf("%s\n", r->image_id.str().c_str());
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "runner/spec.h"

namespace bld::builder {

enum class ProgressMode { kAuto, kTty, kPlain, kJson, kQuiet };
// "auto" | "tty" | "plain" | "json" (quiet comes from -q). InvalidArgument otherwise.
Result<ProgressMode> ParseProgressMode(std::string_view s);

// --output type=oci|docker|local|registry[,dest=PATH][,name=REF]
struct OutputSpec {
  enum class Type { kOci, kDocker, kLocal, kRegistry };
  Type type = Type::kOci;
  std::string dest;  // oci/docker: archive file ("-" = stdout); local: directory
  std::string name;  // registry: the reference pushed to; oci/docker: the name in the archive
  bool tls_verify = true;
};
// Parses the CSV form. InvalidArgument naming the problem.
Result<OutputSpec> ParseOutputSpec(std::string_view s);

// --secret id=ID[,type=file|env][,src|source=VALUE][,env=VAR], as buildx reads it:
//   type=file,src=PATH   the file's content
//   type=env,src=VAR     the environment variable VAR (env=VAR is the same)
//   id=ID alone          the environment variable ID if set, else the file ID
struct SecretSpec {
  std::string id;
  std::string src;  // file with the secret
  std::string env;  // or the value of this environment variable
};
// InvalidArgument naming the problem (no id, unknown key or type).
Result<SecretSpec> ParseSecretSpec(std::string_view s);

enum class BuildNetwork { kDefault, kHost, kNone };

struct BuildOptions {
  std::string store_root;
  // The context directory. (The CLI unpacks a context given as a tar on stdin
  // into a temporary directory first.)
  std::string context_dir;
  // The Dockerfile: `dockerfile_text` if set (for -f -), else the file at
  // `dockerfile_path` ("" = <context>/Dockerfile, else Containerfile, else dockerfile).
  std::string dockerfile_path;
  std::optional<std::string> dockerfile_text;
  std::vector<std::string> tags;
  // --build-arg K=V; K alone takes the value from the environment (skipped when unset).
  std::map<std::string, std::string> build_args;
  std::string target;
  bool no_cache = false;
  bool pull = false;     // pull base images even when they are in the store
  std::string platform;  // "" = host; anything else must match the host
  std::map<std::string, std::string> labels;
  // --compression: every layer of the image gets it (converted at export when the
  // store holds another). Unset: new layers gzip, base layers as stored.
  std::optional<oci::Compression> compression;
  // --source-date-epoch / SOURCE_DATE_EPOCH (env or build arg): `created` and every
  // history time, and the mtimes of this build's layers clamped, at export.
  std::optional<int64_t> source_date_epoch;
  std::vector<SecretSpec> secrets;
  BuildNetwork network = BuildNetwork::kDefault;
  // --allow entitlements: "network.host" lets RUN --network=host run.
  std::set<std::string> allow;
  int jobs = 0;  // 0 = number of cores
  bool explain = false;
  ProgressMode progress = ProgressMode::kAuto;
  std::vector<OutputSpec> outputs;
  // --ulimit NAME=SOFT[:HARD] and --add-host HOST:IP for every RUN step (not in the
  // cache key, as in docker).
  std::vector<runner::Rlimit> ulimits;
  std::vector<std::pair<std::string, std::string>> add_hosts;  // {host, ip}
  // --squash: the layers above the base image merged into one (history kept, the merged
  // steps marked empty_layer but the last).
  bool squash = false;
  // --format docker: a Docker v2s2 manifest and config (and Docker layer media types)
  // instead of OCI.
  bool docker_format = false;
  bool push = false;
  bool tls_verify = true;  // for pulls and pushes
  // Where progress is written (stderr by default).
  int progress_fd = 2;
};

struct BuildResult {
  oci::Digest image_id;      // the config digest
  oci::Descriptor manifest;  // the image manifest in the store
  int steps_run = 0;         // layer steps executed
  int steps_cached = 0;      // layer steps satisfied from the cache
};

// Builds. Holds the store's shared lock for the duration. Errors about the
// Dockerfile read "Dockerfile:LINE: ..."; a failing RUN reports its exit code
// and the tail of its output.
Result<BuildResult> Build(const BuildOptions& options);

}  // namespace bld::builder
