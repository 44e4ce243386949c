// bld rmi [-f] IMAGE...: remove images (a name removes that tag; an ID removes the image).
#include <cstdio>

#include "cli/commands.h"
#include "cli/containers.h"
#include "cli/gc.h"
#include "oci/image.h"

namespace bld::cli {

namespace {

bool LooksLikeId(const std::string& s, const oci::ResolvedImage& r) {
  std::string hex = s.starts_with("sha256:") ? s.substr(7) : s;
  return r.image.id().hex().starts_with(hex) || r.target.digest.hex().starts_with(hex);
}

int Rmi(const GlobalOptions& g, const std::vector<std::string>& names, bool force) {
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto lock = (*store)->LockExclusive();
  if (!lock.ok()) return ReportError(lock.error());
  int rc = kExitOk;
  for (const auto& name : names) {
    auto r = oci::ResolveImage(**store, name);
    if (!r.ok()) {
      rc = ReportError(r.error().Wrap("rmi " + name));
      continue;
    }
    // As docker: an image a container was made from is not deleted without -f.
    bool deletes = LooksLikeId(name, *r) || r->names.size() <= 1;
    if (deletes && !force) {
      auto containers = ListContainers(StoreRoot(g));
      std::string user;
      if (containers.ok()) {
        for (const auto& c : *containers) {
          if (c.image_id == r->image.id().str()) {
            user = c.name + " (" + c.id.substr(0, 12) + ")";
            break;
          }
        }
      }
      if (!user.empty()) {
        rc = ReportError(FailedPreconditionError(
            "rmi " + name + ": container " + user +
            " uses the image; remove the container first or use -f"));
        continue;
      }
    }
    Status s;
    if (LooksLikeId(name, *r)) {
      if (r->names.size() > 1 && !force) {
        rc = ReportError(FailedPreconditionError(
            "rmi " + name + ": image is referenced by " + std::to_string(r->names.size()) +
            " names; remove them by name or use -f"));
        continue;
      }
      for (const auto& n : r->names) std::printf("Untagged: %s\n", n.c_str());
      s = (*store)->RemoveTarget(r->target.digest);
    } else {
      auto full = oci::StoreName(name);
      if (!full.ok()) {
        rc = ReportError(full.error());
        continue;
      }
      s = (*store)->RemoveTag(*full);
      if (s.ok()) std::printf("Untagged: %s\n", full->c_str());
    }
    if (!s.ok()) {
      rc = ReportError(s.error().Wrap("rmi " + name));
      continue;
    }
    auto still = oci::ResolveImage(**store, r->target.digest.str());
    if (!still.ok()) std::printf("Deleted: %s\n", r->image.id().str().c_str());
  }
  auto gc = CollectGarbage(**store);
  if (!gc.ok()) return ReportError(gc.error().Wrap("rmi: removing unreferenced blobs"));
  return rc;
}

}  // namespace

Command MakeRmiCommand() {
  return {"rmi", "Remove images", [](CLI::App* app, const GlobalOptions* g) {
            auto names = std::make_shared<std::vector<std::string>>();
            auto force = std::make_shared<bool>(false);
            app->add_option("IMAGE", *names, "Image names or IDs")->required();
            app->add_flag("-f,--force", *force, "Remove an ID even if several names refer to it, or a container uses it");
            return [g, names, force]() { return Rmi(*g, *names, *force); };
          }};
}

}  // namespace bld::cli
