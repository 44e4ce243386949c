// bld history [-q] [--no-trunc] [--format F] IMAGE: the image's layers and the
// instructions that made them, newest first, as docker prints them.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/template.h"
#include "oci/image.h"

namespace bld::cli {

namespace {

struct HistoryFlags {
  bool quiet = false, no_trunc = false;
  std::string format, image;
};

int History(const GlobalOptions& g, const HistoryFlags& f) {
  std::string format = f.quiet ? "{{.ID}}" : f.format;
  if (format.empty() || format == "table") {
    format = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}";
  }
  auto tmpl = Template::Parse(format, {{"ID", "IMAGE"}, {"CreatedSince", "CREATED"},
                                       {"CreatedBy", "CREATED BY"}, {"CreatedAt", "CREATED AT"}});
  if (!tmpl.ok()) return ReportError(tmpl.error());
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto r = oci::ResolveImage(**store, f.image);
  if (!r.ok()) return ReportError(r.error().Wrap("history " + f.image));
  const oci::Image& image = r->image;
  std::vector<nlohmann::ordered_json> rows;
  // Layers pair with the history entries that are not empty_layer, in order.
  size_t layer = 0;
  const auto& history = image.config.history;
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& h = history[i];
    int64_t size = 0;
    if (!h.empty_layer && layer < image.manifest.layers.size()) {
      size = image.manifest.layers[layer++].size;
    }
    std::string by = h.created_by;
    if (!f.no_trunc && by.size() > 45) by = by.substr(0, 44) + "…";
    nlohmann::ordered_json j;
    j["Comment"] = h.comment;
    j["CreatedAt"] = h.created;
    j["CreatedBy"] = by;
    j["CreatedSince"] = HumanAgo(h.created);
    // As docker: the image's ID on its newest entry, <missing> on the ones below it.
    j["ID"] = i + 1 == history.size()
                  ? (f.no_trunc ? image.id().str() : image.id().hex().substr(0, 12))
                  : "<missing>";
    j["Size"] = HumanSize(size);
    rows.insert(rows.begin(), std::move(j));
  }
  if (history.empty()) {
    nlohmann::ordered_json j;
    j["Comment"] = "";
    j["CreatedAt"] = image.config.created;
    j["CreatedBy"] = "";
    j["CreatedSince"] = HumanAgo(image.config.created);
    j["ID"] = f.no_trunc ? image.id().str() : image.id().hex().substr(0, 12);
    int64_t size = 0;
    for (const auto& l : image.manifest.layers) size += l.size;
    j["Size"] = HumanSize(size);
    rows.push_back(std::move(j));
  }
  auto text = tmpl->Render(rows);
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Command MakeHistoryCommand() {
  return {"history", "Show the history of an image", [](CLI::App* app, const GlobalOptions* g) {
            auto f = std::make_shared<HistoryFlags>();
            app->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
            app->add_flag("--no-trunc", f->no_trunc, "Do not truncate the output");
            app->add_option("--format", f->format,
                            "table (default), json (one object per line) or a Go template");
            app->add_option("IMAGE", f->image, "Image name or ID")->required();
            return [g, f]() { return History(*g, *f); };
          }};
}

}  // namespace bld::cli
