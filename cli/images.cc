// bld images [--format json]: the images in the store.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "oci/image.h"
#include "oci/reference.h"

namespace bld::cli {

namespace {

struct Row {
  std::string repository, tag, id, digest, created;
  int64_t size = 0;
};

int Images(const GlobalOptions& g, const std::string& format) {
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  auto entries = (*store)->ListTags();
  if (!entries.ok()) return ReportError(entries.error());
  std::vector<Row> rows;
  for (const auto& e : *entries) {
    Row row;
    row.digest = e.target.digest.str();
    row.repository = "<none>";
    row.tag = "<none>";
    if (!e.name.empty()) {
      auto ref = oci::Reference::Parse(e.name);
      if (ref.ok()) {
        row.repository = ref->Repository();
        row.tag = ref->tag().empty() ? "<none>" : ref->tag();
      } else {
        row.repository = e.name;
      }
    }
    auto image = oci::LoadImage(**store, e.target);
    if (image.ok()) {
      row.id = image->id().str();
      row.created = image->config.created;
      row.size = image->manifest.config.size;
      for (const auto& l : image->manifest.layers) row.size += l.size;
    } else {
      // Show the entry anyway so the user can rmi it; say what is wrong.
      std::fprintf(stderr, "bld: warning: %s: %s\n",
                   e.name.empty() ? row.digest.c_str() : e.name.c_str(),
                   image.error().message().c_str());
    }
    rows.push_back(std::move(row));
  }
  if (format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      nlohmann::ordered_json j;
      j["Id"] = r.id;
      j["Digest"] = r.digest;
      j["Repository"] = r.repository;
      j["Tag"] = r.tag;
      j["Created"] = r.created;
      j["Size"] = r.size;
      out.push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  size_t w_repo = 10, w_tag = 3;
  for (const auto& r : rows) {
    w_repo = std::max(w_repo, r.repository.size());
    w_tag = std::max(w_tag, r.tag.size());
  }
  std::printf("%-*s  %-*s  %-12s  %-22s  %s\n", static_cast<int>(w_repo), "REPOSITORY",
              static_cast<int>(w_tag), "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (const auto& r : rows) {
    std::string id = r.id.size() > 7 ? r.id.substr(7, 12) : "<unreadable>";
    std::printf("%-*s  %-*s  %-12s  %-22s  %s\n", static_cast<int>(w_repo), r.repository.c_str(),
                static_cast<int>(w_tag), r.tag.c_str(), id.c_str(), HumanAgo(r.created).c_str(),
                HumanSize(r.size).c_str());
  }
  return kExitOk;
}

}  // namespace

Command MakeImagesCommand() {
  return {"images", "List images in the store", [](CLI::App* app, const GlobalOptions* g) {
            auto format = std::make_shared<std::string>("table");
            app->add_option("--format", *format, "Output format: table or json")
                ->check(CLI::IsMember({"table", "json"}));
            return [g, format]() { return Images(*g, *format); };
          }};
}

}  // namespace bld::cli
