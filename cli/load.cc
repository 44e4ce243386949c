// bld load [-i FILE]: read an oci-archive or docker-archive into the store.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "base/file.h"
#include "cli/commands.h"
#include "oci/archive.h"
#include "oci/reference.h"

namespace bld::cli {

namespace {

int Load(const GlobalOptions& g, const std::string& input) {
  UniqueFd file;
  int fd = 0;
  if (!input.empty() && input != "-") {
    auto f = OpenFile(input, O_RDONLY);
    if (!f.ok()) return ReportError(f.error().Wrap("load"));
    file = std::move(*f);
    fd = file.get();
  } else if (::isatty(0)) {
    return ReportError(
        InvalidArgumentError("load: no archive on stdin; use -i FILE or redirect stdin"));
  }
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  // Held across loading and tagging so prune cannot take the new blobs in between.
  auto lock = (*store)->LockShared();
  if (!lock.ok()) return ReportError(lock.error());
  std::string what = "load " + (fd == 0 ? std::string("stdin") : input);
  auto entries = oci::LoadArchive(**store, fd);
  // A bad archive is bad data, not bad usage: exit 1.
  if (!entries.ok()) return ReportError(entries.error().Wrap(what), kExitFailure);
  Status s = (*store)->SetTags(*entries);
  if (!s.ok()) return ReportError(s.error().Wrap(what));
  for (const auto& e : *entries) {
    if (e.name.empty()) {
      std::printf("Loaded image: %s\n", e.target.digest.str().c_str());
    } else {
      std::printf("Loaded image: %s\n", e.name.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

Command MakeLoadCommand() {
  return {"load", "Read images from an oci-archive or docker-archive tar",
          [](CLI::App* app, const GlobalOptions* g) {
            auto input = std::make_shared<std::string>();
            app->add_option("-i,--input", *input, "Read from FILE instead of stdin");
            return [g, input]() { return Load(*g, *input); };
          }};
}

}  // namespace bld::cli
