// bld build [-t NAME]... [-f FILE|-] [...] CONTEXT|-: build an image from a
// Dockerfile (see builder/builder.h). Progress goes to stderr; the image ID is
// printed last on stdout.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/file.h"
#include "base/temp_dir.h"
#include "builder/builder.h"
#include "cli/commands.h"
#include "snapshot/apply.h"

namespace bld::cli {

namespace {

struct BuildFlags {
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  bool no_cache = false;
  bool pull = false;
  std::string platform;
  std::vector<std::string> labels;
  std::string iidfile;
  std::vector<std::string> outputs;
  bool push = false;
  std::string compression;
  std::vector<std::string> allow;
  std::string source_date_epoch;
  std::vector<std::string> secrets;
  std::string network;
  std::string progress = "auto";
  bool quiet = false;
  int jobs = 0;
  bool explain = false;
  bool tls_verify = true;
  bool rm = true, force_rm = true, layers = true;  // bld's fixed behaviour; =false is refused
  std::string context;
};

Result<int64_t> ParseEpoch(const std::string& s, const char* what) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18) {
    return InvalidArgumentError(std::string(what) + " " + s + ": expected seconds since the epoch");
  }
  return std::stoll(s);
}

Result<builder::BuildOptions> MakeOptions(const GlobalOptions& g, const BuildFlags& f) {
  builder::BuildOptions o;
  o.store_root = StoreRoot(g);
  o.tags = f.tags;
  for (const auto& a : f.build_args) {
    size_t eq = a.find('=');
    if (eq == 0) return InvalidArgumentError("--build-arg " + a + ": missing name");
    if (eq == std::string::npos) {
      const char* v = getenv(a.c_str());
      if (v != nullptr) o.build_args[a] = v;
    } else {
      o.build_args[a.substr(0, eq)] = a.substr(eq + 1);
    }
  }
  o.target = f.target;
  o.no_cache = f.no_cache;
  o.pull = f.pull;
  o.platform = f.platform;
  for (const auto& l : f.labels) {
    // `--label KEY` alone is KEY with an empty value, as docker and buildah.
    size_t eq = l.find('=');
    if (eq == 0 || l.empty()) return InvalidArgumentError("--label " + l + ": missing key");
    if (eq == std::string::npos) {
      o.labels[l] = "";
    } else {
      o.labels[l.substr(0, eq)] = l.substr(eq + 1);
    }
  }
  if (f.compression.empty()) {
    // Unset: base layers as stored, new layers gzip.
  } else if (f.compression == "gzip") {
    o.compression = oci::Compression::kGzip;
  } else if (f.compression == "zstd") {
    o.compression = oci::Compression::kZstd;
  } else if (f.compression == "none") {
    o.compression = oci::Compression::kNone;
  } else {
    return InvalidArgumentError("--compression " + f.compression + ": expected gzip, zstd or none");
  }
  if (!f.source_date_epoch.empty()) {
    BLD_ASSIGN_OR_RETURN(o.source_date_epoch,
                         ParseEpoch(f.source_date_epoch, "--source-date-epoch"));
  } else if (const char* e = getenv("SOURCE_DATE_EPOCH"); e != nullptr && *e != '\0') {
    BLD_ASSIGN_OR_RETURN(o.source_date_epoch, ParseEpoch(e, "SOURCE_DATE_EPOCH"));
  }
  for (const auto& a : f.allow) {
    if (a != "network.host") {
      return InvalidArgumentError("--allow " + a +
                                  ": unknown entitlement (bld knows network.host; "
                                  "security.insecure is not supported)");
    }
    o.allow.insert(a);
  }
  for (const auto& s : f.secrets) {
    BLD_ASSIGN_OR_RETURN(auto sec, builder::ParseSecretSpec(s));
    o.secrets.push_back(sec);
  }
  if (f.network.empty() || f.network == "default") {
    o.network = builder::BuildNetwork::kDefault;
  } else if (f.network == "host") {
    o.network = builder::BuildNetwork::kHost;
  } else if (f.network == "none") {
    o.network = builder::BuildNetwork::kNone;
  } else {
    return InvalidArgumentError("--network " + f.network + ": expected host or none");
  }
  if (f.quiet) {
    o.progress = builder::ProgressMode::kQuiet;
  } else {
    BLD_ASSIGN_OR_RETURN(o.progress, builder::ParseProgressMode(f.progress));
  }
  if (f.jobs < 0) return InvalidArgumentError("--jobs must be at least 1");
  o.jobs = f.jobs;
  o.explain = f.explain;
  for (const auto& s : f.outputs) {
    BLD_ASSIGN_OR_RETURN(auto out, builder::ParseOutputSpec(s));
    o.outputs.push_back(out);
  }
  o.push = f.push;
  o.tls_verify = f.tls_verify;
  // docker's --rm/--force-rm and buildah's --layers name what bld always does: every RUN's
  // container is removed whatever its outcome, and every step is cached as a layer.
  if (!f.rm || !f.force_rm) {
    return InvalidArgumentError(std::string(f.rm ? "--force-rm" : "--rm") +
                                "=false: bld cannot keep intermediate containers (it always removes "
                                "them)");
  }
  if (!f.layers) return InvalidArgumentError("--layers=false: bld always caches every step");
  if (o.push && o.tags.empty()) return InvalidArgumentError("--push needs at least one -t NAME");
  return o;
}

// Context "-": a tar on stdin (unpacked into `dir`), or a lone Dockerfile.
Result<std::optional<std::string>> ReadStdinContext(const std::string& dir) {
  BLD_ASSIGN_OR_RETURN(std::string data, ReadFd(0));
  std::string tar = dir + ".tar";
  BLD_TRY(WriteFileAtomic(tar, data, 0600));
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tar, O_RDONLY));
  snapshot::ApplyOptions ao;
  ao.whiteouts = snapshot::WhiteoutStyle::kDelete;
  ao.ignore_ownership = true;
  auto r = snapshot::ApplyFd(fd.get(), dir, ao);
  unlink(tar.c_str());
  if (r.ok()) return std::optional<std::string>();
  // Not a tar: the text is the Dockerfile and the context is empty.
  if (data.size() >= 512 && data.compare(257, 5, "ustar") == 0) {
    return r.error().Wrap("context from stdin");
  }
  return std::optional<std::string>(data);
}

int RunBuild(const GlobalOptions& g, const BuildFlags& f) {
  auto o = MakeOptions(g, f);
  if (!o.ok()) return ReportError(o.error(), kExitUsage);
  std::optional<TempDir> stdin_dir;
  if (f.context == "-") {
    if (f.file == "-") {
      return ReportError(InvalidArgumentError("-f - and context - cannot both read stdin"),
                         kExitUsage);
    }
    auto d = TempDir::Create("", "bld-context-");
    if (!d.ok()) return ReportError(d.error());
    stdin_dir.emplace(std::move(*d));
    std::string root = stdin_dir->path() + "/ctx";
    if (Status s = MkdirAll(root, 0755); !s.ok()) return ReportError(s.error());
    auto text = ReadStdinContext(root);
    if (!text.ok()) return ReportError(text.error());
    o->context_dir = root;
    if (*text) o->dockerfile_text = **text;
  } else {
    o->context_dir = f.context;
  }
  if (f.file == "-") {
    auto text = ReadFd(0);
    if (!text.ok()) return ReportError(text.error().Wrap("read the Dockerfile from stdin"));
    o->dockerfile_text = *text;
  } else if (!f.file.empty()) {
    o->dockerfile_path = f.file;
  }  // else builder::Build picks the default file in the context.
  auto r = builder::Build(*o);
  if (!r.ok()) return ReportError(r.error(), kExitFailure);
  if (!f.iidfile.empty()) {
    Status s = WriteFileAtomic(f.iidfile, r->image_id.str(), 0644);
    if (!s.ok()) return ReportError(s.error().Wrap("--iidfile"));
  }
  bool stdout_taken = false;
  for (const auto& out : o->outputs) stdout_taken = stdout_taken || out.dest == "-";
  if (!stdout_taken) std::printf("%s\n", r->image_id.str().c_str());
  return kExitOk;
}

}  // namespace

Command MakeBuildCommand() {
  return {
      "build", "Build an image from a Dockerfile", [](CLI::App* app, const GlobalOptions* g) {
        auto f = std::make_shared<BuildFlags>();
        app->add_option("-t,--tag", f->tags, "Name the image (repeatable)");
        app->add_option("-f,--file", f->file, "Dockerfile (default CONTEXT/Dockerfile, else Containerfile, dockerfile, containerfile; - = stdin)");
        app->add_option("--build-arg", f->build_args,
                        "Set a build argument K=V (K alone: from the environment)");
        app->add_option("--target", f->target, "Build this stage");
        app->add_flag("--no-cache", f->no_cache, "Run every step, ignoring the cache");
        app->add_flag("--pull", f->pull, "Pull base images even when they are in the store");
        app->add_option("--platform", f->platform,
                        "Target platform (only the host's: linux/amd64)");
        app->add_option("--label", f->labels, "Add a label K=V (or K, empty value) to the image (repeatable)");
        app->add_option("--iidfile", f->iidfile, "Write the image ID to this file");
        app->add_option("-o,--output", f->outputs,
                        "type=oci|docker|local|registry,dest=PATH|name=REF (repeatable)");
        app->add_flag("--push", f->push, "Push every -t name after the build");
        app->add_option("--compression", f->compression,
                        "Layer compression: gzip|zstd|none (every layer, converted at export; "
                        "default: new layers gzip, base layers as stored)");
        app->add_option("--allow", f->allow,
                        "Entitlement for RUN steps: network.host (RUN --network=host)");
        app->add_option("--source-date-epoch", f->source_date_epoch,
                        "Reproducible build: clamp times to these seconds since the epoch "
                        "(default $SOURCE_DATE_EPOCH)");
        app->add_option("--secret", f->secrets,
                        "id=ID[,type=file|env][,src=PATH|VAR]: a secret for RUN "
                        "--mount=type=secret (id alone: env var ID, else file ID)");
        app->add_option("--network", f->network, "Network for RUN steps: host|none");
        app->add_option("--progress", f->progress, "auto|tty|plain|json");
        app->add_flag("-q,--quiet", f->quiet, "Print only the image ID");
        app->add_option("--jobs", f->jobs, "Stages built at once (default: the number of cores)");
        app->add_flag("--explain", f->explain, "Say which input changed for each cache miss");
        app->add_flag("--tls-verify{true}", f->tls_verify,
                      "Verify TLS for pulls and pushes (--tls-verify=false allows HTTP)")
            ->default_val(true);
        app->add_flag("--rm{true}", f->rm,
                      "Accepted: bld always removes intermediate containers (=false is an error)")
            ->default_val(true);
        app->add_flag("--force-rm{true}", f->force_rm,
                      "Accepted: bld removes intermediate containers even on failure")
            ->default_val(true);
        app->add_flag("--layers{true}", f->layers,
                      "Accepted: bld always caches every step (=false is an error)")
            ->default_val(true);
        app->add_option("CONTEXT", f->context, "Build context directory, or - for a tar on stdin")
            ->required();
        return [g, f]() { return RunBuild(*g, *f); };
      }};
}

}  // namespace bld::cli
