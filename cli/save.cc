// bld save [-o FILE] [--format oci-archive|docker-archive] IMAGE...
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/file.h"
#include "cli/commands.h"
#include "oci/archive.h"
#include "oci/image.h"

namespace bld::cli {

namespace {

int Save(const GlobalOptions& g, const std::vector<std::string>& names, const std::string& output,
         const std::string& format_name) {
  auto format = oci::ParseArchiveFormat(format_name);
  if (!format.ok()) return ReportError(format.error().Wrap("save --format"));
  if (output.empty() && ::isatty(1)) {
    return ReportError(InvalidArgumentError(
        "save: refusing to write an archive to a terminal; use -o FILE or redirect stdout"));
  }
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  std::vector<oci::SaveItem> items;
  for (const auto& name : names) {
    auto r = oci::ResolveImage(**store, name);
    if (!r.ok()) return ReportError(r.error().Wrap("save"));
    oci::SaveItem item;
    item.target = r->target;
    // A name saves under that name; an ID saves under every name the image has.
    auto full = oci::StoreName(name);
    bool by_name = full.ok() && std::find(r->names.begin(), r->names.end(), *full) != r->names.end();
    if (by_name) {
      item.name = *full;
      items.push_back(item);
    } else if (r->names.empty()) {
      items.push_back(item);
    } else {
      for (const auto& n : r->names) {
        item.name = n;
        items.push_back(item);
      }
    }
  }
  if (output.empty()) {
    Status s = oci::SaveArchive(**store, items, *format, 1);
    if (!s.ok()) return ReportError(s.error().Wrap("save"));
    return kExitOk;
  }
  // Write beside the destination and rename, so a failed save leaves no half archive.
  std::string tmp = output + ".bld-partial";
  auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd.ok()) return ReportError(fd.error().Wrap("save"));
  Status s = oci::SaveArchive(**store, items, *format, fd->get());
  if (s.ok() && ::fsync(fd->get()) < 0) s = ErrnoError("fsync " + tmp);
  fd->reset();
  if (s.ok() && ::rename(tmp.c_str(), output.c_str()) < 0) s = ErrnoError("rename to " + output);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return ReportError(s.error().Wrap("save"));
  }
  return kExitOk;
}

}  // namespace

Command MakeSaveCommand() {
  return {"save", "Write images to an oci-archive or docker-archive tar",
          [](CLI::App* app, const GlobalOptions* g) {
            auto names = std::make_shared<std::vector<std::string>>();
            auto output = std::make_shared<std::string>();
            auto format = std::make_shared<std::string>("oci-archive");
            app->add_option("IMAGE", *names, "Images to save")->required();
            app->add_option("-o,--output", *output, "Write to FILE instead of stdout");
            app->add_option("--format", *format, "oci-archive (default) or docker-archive");
            return [g, names, output, format]() { return Save(*g, *names, *output, *format); };
          }};
}

}  // namespace bld::cli
