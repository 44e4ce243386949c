#include "oci/manifest.h"

#include <nlohmann/json.hpp>

#include "oci/json_fields.h"
#include "oci/media_types.h"

namespace bld::oci {

namespace {

using internal::GetInt;
using internal::GetString;
using internal::GetStringMap;

Status CheckSchemaVersion(const nlohmann::json& j, std::string_view what) {
  BLD_ASSIGN_OR_RETURN(auto version, GetInt(j, "schemaVersion", what));
  if (!version) return InvalidArgumentError(std::string(what) + ".schemaVersion is missing");
  if (*version == 1) {
    return InvalidArgumentError(std::string(what) +
                                ": Docker schema 1 manifests are not supported (schemaVersion 1)");
  }
  if (*version != 2) {
    return InvalidArgumentError(std::string(what) + ".schemaVersion: expected 2, got " +
                                std::to_string(*version));
  }
  return Ok();
}

Result<Descriptor> ParseDescriptorField(const nlohmann::json& j, std::string where) {
  auto d = DescriptorFromJson(j);
  if (!d.ok()) return std::move(d).error().Wrap(where);
  return d;
}

Result<std::optional<Descriptor>> ParseSubject(const nlohmann::json& j) {
  auto it = j.find("subject");
  if (it == j.end() || it->is_null()) return std::optional<Descriptor>();
  BLD_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptorField(*it, "subject"));
  return std::optional<Descriptor>(std::move(d));
}

}  // namespace

std::string Manifest::ToJson() const {
  nlohmann::ordered_json j;
  j["schemaVersion"] = schema_version;
  if (!media_type.empty()) j["mediaType"] = media_type;
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  j["config"] = ToOrderedJson(config);
  nlohmann::ordered_json layers_json = nlohmann::ordered_json::array();
  for (const Descriptor& l : layers) layers_json.push_back(ToOrderedJson(l));
  j["layers"] = std::move(layers_json);
  if (subject) j["subject"] = ToOrderedJson(*subject);
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

Result<Manifest> Manifest::Parse(std::string_view json) {
  BLD_ASSIGN_OR_RETURN(nlohmann::json j, internal::ParseJson(json, "manifest"));
  if (!j.is_object()) return InvalidArgumentError("manifest: expected a JSON object");
  BLD_ASSIGN_OR_RETURN(auto media_type, GetString(j, "mediaType", "manifest"));
  if (media_type && IsIndexMediaType(*media_type)) {
    return InvalidArgumentError("manifest: is an index (" + *media_type + "), not a manifest");
  }
  if (!media_type && j.contains("manifests")) {
    return InvalidArgumentError("manifest: is an index, not a manifest");
  }
  if (j.contains("fsLayers") ||
      (media_type && (*media_type == kMediaTypeDockerManifestSchema1 ||
                      *media_type == kMediaTypeDockerManifestSchema1Signed))) {
    return InvalidArgumentError("manifest: Docker schema 1 manifests are not supported");
  }
  if (media_type && !IsManifestMediaType(*media_type)) {
    return InvalidArgumentError("manifest.mediaType: unsupported manifest type \"" + *media_type +
                                "\"");
  }
  BLD_TRY(CheckSchemaVersion(j, "manifest"));
  Manifest m;
  m.media_type = media_type.value_or(std::string(kMediaTypeOciManifest));
  BLD_ASSIGN_OR_RETURN(auto artifact_type, GetString(j, "artifactType", "manifest"));
  m.artifact_type = artifact_type.value_or("");
  auto config = j.find("config");
  if (config == j.end() || config->is_null()) {
    return InvalidArgumentError("manifest.config is missing");
  }
  BLD_ASSIGN_OR_RETURN(m.config, ParseDescriptorField(*config, "manifest.config"));
  auto layers = j.find("layers");
  if (layers == j.end() || layers->is_null()) {
    return InvalidArgumentError("manifest.layers is missing");
  }
  if (!layers->is_array()) return InvalidArgumentError("manifest.layers: expected an array");
  for (size_t i = 0; i < layers->size(); ++i) {
    BLD_ASSIGN_OR_RETURN(
        Descriptor d,
        ParseDescriptorField((*layers)[i], "manifest.layers[" + std::to_string(i) + "]"));
    m.layers.push_back(std::move(d));
  }
  BLD_ASSIGN_OR_RETURN(m.subject, ParseSubject(j));
  BLD_ASSIGN_OR_RETURN(m.annotations, GetStringMap(j, "annotations", "manifest"));
  return m;
}

std::string Index::ToJson() const {
  nlohmann::ordered_json j;
  j["schemaVersion"] = schema_version;
  if (!media_type.empty()) j["mediaType"] = media_type;
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Descriptor& d : manifests) list.push_back(ToOrderedJson(d));
  j["manifests"] = std::move(list);
  if (subject) j["subject"] = ToOrderedJson(*subject);
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

Result<Index> Index::Parse(std::string_view json) {
  BLD_ASSIGN_OR_RETURN(nlohmann::json j, internal::ParseJson(json, "index"));
  if (!j.is_object()) return InvalidArgumentError("index: expected a JSON object");
  BLD_ASSIGN_OR_RETURN(auto media_type, GetString(j, "mediaType", "index"));
  if (media_type && IsManifestMediaType(*media_type)) {
    return InvalidArgumentError("index: is a manifest (" + *media_type + "), not an index");
  }
  if (media_type && !IsIndexMediaType(*media_type)) {
    return InvalidArgumentError("index.mediaType: unsupported index type \"" + *media_type + "\"");
  }
  if (!media_type && !j.contains("manifests") && j.contains("layers")) {
    return InvalidArgumentError("index: is a manifest, not an index");
  }
  BLD_TRY(CheckSchemaVersion(j, "index"));
  Index idx;
  idx.media_type = media_type.value_or(std::string(kMediaTypeOciIndex));
  BLD_ASSIGN_OR_RETURN(auto artifact_type, GetString(j, "artifactType", "index"));
  idx.artifact_type = artifact_type.value_or("");
  auto manifests = j.find("manifests");
  if (manifests == j.end() || manifests->is_null()) {
    return InvalidArgumentError("index.manifests is missing");
  }
  if (!manifests->is_array()) return InvalidArgumentError("index.manifests: expected an array");
  for (size_t i = 0; i < manifests->size(); ++i) {
    BLD_ASSIGN_OR_RETURN(
        Descriptor d,
        ParseDescriptorField((*manifests)[i], "index.manifests[" + std::to_string(i) + "]"));
    idx.manifests.push_back(std::move(d));
  }
  BLD_ASSIGN_OR_RETURN(idx.subject, ParseSubject(j));
  BLD_ASSIGN_OR_RETURN(idx.annotations, GetStringMap(j, "annotations", "index"));
  return idx;
}

Result<Descriptor> Index::SelectPlatform(const Platform& platform) const {
  const Descriptor* compatible = nullptr;
  for (const Descriptor& d : manifests) {
    if (!d.platform || !platform.Matches(*d.platform)) continue;
    // Matches() normalises aliases; an exact variant is preferred over a
    // variant-less entry.
    auto want = Platform::Parse(platform.str());
    auto have = Platform::Parse(d.platform->str());
    if (want.ok() && have.ok() && want->variant == have->variant) return d;
    if (compatible == nullptr) compatible = &d;
  }
  if (compatible != nullptr) return *compatible;
  std::string available;
  for (const Descriptor& d : manifests) {
    if (!d.platform) continue;
    if (!available.empty()) available += ", ";
    available += d.platform->str();
  }
  if (available.empty()) available = "none";
  return NotFoundError("no manifest for platform " + platform.str() + " (available: " + available +
                       ")");
}

Result<std::string> DetectMediaType(std::string_view json) {
  BLD_ASSIGN_OR_RETURN(nlohmann::json j, internal::ParseJson(json, "manifest"));
  if (!j.is_object()) return InvalidArgumentError("manifest: expected a JSON object");
  BLD_ASSIGN_OR_RETURN(auto media_type, GetString(j, "mediaType", "manifest"));
  if (media_type && !media_type->empty()) return *media_type;
  if (j.contains("manifests")) return std::string(kMediaTypeOciIndex);
  if (j.contains("fsLayers")) {
    return std::string(j.contains("signatures") ? kMediaTypeDockerManifestSchema1Signed
                                                : kMediaTypeDockerManifestSchema1);
  }
  if (j.contains("layers") || j.contains("config")) return std::string(kMediaTypeOciManifest);
  return InvalidArgumentError(
      "manifest: no mediaType and neither \"manifests\", \"layers\" nor \"fsLayers\"");
}

}  // namespace bld::oci
