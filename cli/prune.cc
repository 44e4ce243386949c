// bld prune [-a]: remove unreferenced blobs and abandoned partial writes;
// with -a also untagged images.
#include <cstdio>

#include "builder/cache.h"
#include "cli/commands.h"
#include "cli/gc.h"

namespace bld::cli {

namespace {

int Prune(const GlobalOptions& g, bool all) {
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto lock = (*store)->LockExclusive();
  if (!lock.ok()) return ReportError(lock.error());
  int untagged = 0;
  if (all) {
    auto entries = (*store)->ListTags();
    if (!entries.ok()) return ReportError(entries.error());
    for (const auto& e : *entries) {
      if (!e.name.empty()) continue;
      Status s = (*store)->RemoveTarget(e.target.digest);
      if (!s.ok()) return ReportError(s.error().Wrap("prune"));
      ++untagged;
    }
  }
  if (all) {
    auto cleared = builder::PruneCache((*store)->root());
    if (!cleared.ok()) return ReportError(cleared.error().Wrap("prune"));
  }
  // Holding the exclusive lock means no writer is alive: every ingest is stale.
  auto ingests = (*store)->CleanIngests(0);
  if (!ingests.ok()) return ReportError(ingests.error().Wrap("prune"));
  auto gc = CollectGarbage(**store);
  if (!gc.ok()) return ReportError(gc.error().Wrap("prune"));
  std::printf("Removed %d untagged images, %d blobs, %d snapshots, %d partial writes; reclaimed %s\n",
              untagged, gc->blobs_removed, gc->snapshots_removed, *ingests,
              HumanSize(gc->bytes_removed).c_str());
  return kExitOk;
}

}  // namespace

Command MakePruneCommand() {
  return {"prune", "Remove unreferenced blobs and snapshots and leftovers of killed commands",
          [](CLI::App* app, const GlobalOptions* g) {
            auto all = std::make_shared<bool>(false);
            app->add_flag("-a,--all", *all, "Also remove untagged images and the whole build cache");
            return [g, all]() { return Prune(*g, *all); };
          }};
}

}  // namespace bld::cli
