// bld inspect IMAGE...: JSON with the image's ID, digest, tags, config and manifest.
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/template.h"
#include "oci/image.h"

namespace bld::cli {

namespace {

Result<nlohmann::ordered_json> InspectOne(const oci::Store& store, const std::string& name) {
  BLD_ASSIGN_OR_RETURN(oci::ResolvedImage r, oci::ResolveImage(store, name));
  // Print the stored documents as they are, not our re-encoding of them.
  BLD_ASSIGN_OR_RETURN(std::string manifest_json, store.ReadBlob(r.image.descriptor.digest));
  BLD_ASSIGN_OR_RETURN(std::string config_json, store.ReadBlob(r.image.id()));
  auto config = nlohmann::ordered_json::parse(config_json, nullptr, false);
  auto manifest = nlohmann::ordered_json::parse(manifest_json, nullptr, false);
  nlohmann::ordered_json j;
  j["Id"] = r.image.id().str();
  j["Digest"] = r.image.descriptor.digest.str();
  if (r.image.index) j["IndexDigest"] = r.image.index->digest.str();
  j["RepoTags"] = r.names;
  j["MediaType"] = r.image.descriptor.media_type;
  j["Created"] = r.image.config.created;
  j["Architecture"] = r.image.config.architecture;
  j["Os"] = r.image.config.os;
  int64_t size = 0;
  for (const auto& l : r.image.manifest.layers) size += l.size;
  j["Size"] = size;
  j["Config"] = config.contains("config") ? config["config"] : nlohmann::ordered_json::object();
  j["ImageConfig"] = config;
  j["Manifest"] = manifest;
  return j;
}

int Inspect(const GlobalOptions& g, const std::vector<std::string>& names,
            const std::string& format) {
  std::optional<Template> tmpl;
  if (!format.empty()) {
    // docker inspect: "json" is the default array; anything else is a template per object.
    auto t = Template::Parse(format == "json" ? "{{json .}}" : format);
    if (!t.ok()) return ReportError(t.error());
    tmpl = std::move(*t);
  }
  auto store = OpenStore(g);
  if (!store.ok()) return ReportError(store.error());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int rc = kExitOk;
  for (const auto& name : names) {
    auto j = InspectOne(**store, name);
    if (!j.ok()) {
      rc = ReportError(j.error().Wrap("inspect " + name));
      continue;
    }
    out.push_back(std::move(*j));
  }
  if (tmpl) {
    auto text = tmpl->Render(std::vector<nlohmann::ordered_json>(out.begin(), out.end()));
    if (!text.ok()) return ReportError(text.error());
    std::fwrite(text->data(), 1, text->size(), stdout);
    return rc;
  }
  std::printf("%s\n", out.dump(4).c_str());
  return rc;
}

}  // namespace

Command MakeInspectCommand() {
  return {"inspect", "Show an image's ID, digest, tags, config and manifest as JSON",
          [](CLI::App* app, const GlobalOptions* g) {
            auto names = std::make_shared<std::vector<std::string>>();
            auto format = std::make_shared<std::string>();
            app->add_option("-f,--format", *format,
                            "A Go template per image, e.g. '{{.Id}}' or '{{json .Config}}'");
            app->add_option("IMAGE", *names, "Image name or ID")->required();
            return [g, names, format]() { return Inspect(*g, *names, *format); };
          }};
}

}  // namespace bld::cli
