// bld pull [--platform P] [--tls-verify=false] REF: fetch an image from a registry.
#include "registry/pull.h"

#include <cstdio>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "oci/reference.h"

namespace bld::cli {

namespace {

struct PullFlags {
  std::string platform;
  bool tls_verify = true;
  std::string ref;
};

int Pull(const GlobalOptions& g, const PullFlags& f) {
  auto ref = oci::Reference::Parse(f.ref);
  if (!ref.ok()) return ReportError(ref.error().Wrap("pull " + f.ref));
  registry::PullOptions options;
  if (!f.platform.empty()) {
    auto p = oci::Platform::Parse(f.platform);
    if (!p.ok()) return ReportError(p.error().Wrap("--platform"));
    options.platform = *p;
  }
  options.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto client = MakeRegistryClient(ref->domain(), f.tls_verify);
  if (!client.ok()) return ReportError(client.error());
  auto r = registry::Pull(**client, **store, *ref, options);
  // Whatever the registry sent (a malformed manifest included) is a failure, not a usage error.
  if (!r.ok()) return ReportError(r.error(), kExitFailure);
  std::fprintf(stderr, "Pulled %s: %d blobs fetched, %d already present\n", r->name.c_str(),
               r->blobs_fetched, r->blobs_present);
  std::fprintf(stderr, "Digest: %s\n",
               (r->index ? r->index->digest : r->target.digest).str().c_str());
  std::printf("%s\n", r->config.str().c_str());
  return kExitOk;
}

}  // namespace

Command MakePullCommand() {
  return {
      "pull", "Pull an image from a registry", [](CLI::App* app, const GlobalOptions* g) {
        auto f = std::make_shared<PullFlags>();
        app->add_option("--platform", f->platform,
                        "Platform to choose from a multi-platform image (os/arch[/variant]; "
                        "default the host's)");
        AddTlsVerifyFlag(app, &f->tls_verify);
        app->add_option("REF", f->ref, "Image reference, e.g. localhost:5000/app:1.0")->required();
        return [g, f]() { return Pull(*g, *f); };
      }};
}

}  // namespace bld::cli
