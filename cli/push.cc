// bld push [--tls-verify=false] [--compression gzip|zstd] IMAGE [DEST]: send an image to a
// registry.
#include "registry/push.h"

#include <cstdio>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "oci/image.h"
#include "oci/reference.h"

namespace bld::cli {

namespace {

struct PushFlags {
  bool tls_verify = true;
  std::string compression;
  std::string image;
  std::string dest;
};

int Push(const GlobalOptions& g, const PushFlags& f) {
  const std::string dest_name = f.dest.empty() ? f.image : f.dest;
  auto dest = oci::Reference::Parse(dest_name);
  if (!dest.ok()) {
    return ReportError(dest.error().Wrap(f.dest.empty() ? "push " + f.image +
                                                              " (give a destination: bld push "
                                                              "IMAGE REGISTRY/REPO[:TAG])"
                                                        : "push to " + f.dest));
  }
  registry::PushOptions options;
  if (f.compression == "gzip") {
    options.compression = oci::Compression::kGzip;
  } else if (f.compression == "zstd") {
    options.compression = oci::Compression::kZstd;
  } else if (!f.compression.empty()) {
    return ReportError(
        InvalidArgumentError("--compression " + f.compression + ": must be gzip or zstd"));
  }
  options.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto image = oci::ResolveImage(**store, f.image);
  if (!image.ok()) return ReportError(image.error().Wrap("push " + f.image));
  auto client = MakeRegistryClient(dest->domain(), f.tls_verify);
  if (!client.ok()) return ReportError(client.error(), kExitFailure);
  auto r = registry::Push(**client, **store, image->target, *dest, options);
  // Whatever the registry did wrong, it is a failed push, not a usage error.
  if (!r.ok()) return ReportError(r.error(), kExitFailure);
  if (!r->up_to_date) {
    std::fprintf(stderr, "Pushed %s: %d blobs uploaded, %d mounted, %d already present\n",
                 dest->str().c_str(), r->uploaded, r->mounted, r->existing);
  }
  std::printf("%s\n", r->digest.str().c_str());
  return kExitOk;
}

}  // namespace

Command MakePushCommand() {
  return {"push", "Push an image to a registry", [](CLI::App* app, const GlobalOptions* g) {
            auto f = std::make_shared<PushFlags>();
            AddTlsVerifyFlag(app, &f->tls_verify);
            app->add_option("--compression", f->compression,
                            "Layer compression the pushed image must have: gzip|zstd");
            app->add_option("IMAGE", f->image, "Local image name or ID")->required();
            app->add_option("DEST", f->dest,
                            "Destination reference (default IMAGE's name), e.g. "
                            "localhost:5000/app:1.0");
            return [g, f]() { return Push(*g, *f); };
          }};
}

}  // namespace bld::cli
