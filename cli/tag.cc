// bld tag SRC DST: give an image another name.
#include "cli/commands.h"
#include "oci/image.h"

namespace bld::cli {

namespace {

int Tag(const GlobalOptions& g, const std::string& src, const std::string& dst) {
  auto name = oci::StoreName(dst);
  if (!name.ok()) return ReportError(name.error().Wrap("tag " + dst));
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto lock = (*store)->LockShared();
  if (!lock.ok()) return ReportError(lock.error());
  auto r = oci::ResolveImage(**store, src);
  if (!r.ok()) return ReportError(r.error().Wrap("tag " + src));
  Status s = (*store)->SetTag(*name, r->target);
  if (!s.ok()) return ReportError(s.error().Wrap("tag " + dst));
  return kExitOk;
}

}  // namespace

Command MakeTagCommand() {
  return {"tag", "Give an image another name", [](CLI::App* app, const GlobalOptions* g) {
            auto src = std::make_shared<std::string>();
            auto dst = std::make_shared<std::string>();
            app->add_option("SRC", *src, "Existing image name or ID")->required();
            app->add_option("DST", *dst, "New name")->required();
            return [g, src, dst]() { return Tag(*g, *src, *dst); };
          }};
}

}  // namespace bld::cli
