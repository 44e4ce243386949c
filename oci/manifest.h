// Image manifest and index (OCI image-spec, Docker v2s2 and manifest list).
// Both formats parse into the same structs; `media_type` keeps which one it was
// so that bytes pushed or saved are never silently converted.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"

namespace bld::oci {

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // kMediaTypeOciManifest or kMediaTypeDockerManifest
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  // Canonical JSON (keys in a fixed order, no insignificant whitespace).
  std::string ToJson() const;
  // Parses and validates a manifest. A missing mediaType field is accepted
  // (OCI allows it) and recorded as OCI. Schema 1 is rejected with a clear
  // error; an index is rejected ("is an index, not a manifest").
  static Result<Manifest> Parse(std::string_view json);
};

struct Index {
  int schema_version = 2;
  std::string media_type;  // kMediaTypeOciIndex or kMediaTypeDockerManifestList
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  std::string ToJson() const;
  static Result<Index> Parse(std::string_view json);
  // The manifest descriptor for `platform`, preferring an exact variant match;
  // NotFound listing the platforms available.
  Result<Descriptor> SelectPlatform(const Platform& platform) const;
};

// The mediaType field of a manifest/index JSON document, or, when absent, a
// guess from its shape ("manifests" -> OCI index, "layers" -> OCI manifest,
// "fsLayers" -> Docker schema 1). InvalidArgument on malformed JSON.
Result<std::string> DetectMediaType(std::string_view json);

}  // namespace bld::oci
