// Descriptor and Platform (OCI image-spec descriptor.md, image-index.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "oci/digest.h"

namespace bld::oci {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64"
  std::string variant;       // "v8", may be empty
  std::string os_version;
  std::vector<std::string> os_features;

  // "linux/amd64", "linux/arm64/v8".
  std::string str() const;
  // Parses "os/arch[/variant]"; normalises arch aliases (x86_64 -> amd64,
  // aarch64 -> arm64, arm64 implies variant v8 when matching).
  static Result<Platform> Parse(std::string_view s);
  // The platform this binary runs on.
  static Platform Host();
  // True if an image for `candidate` runs on a host that wants `*this`: os and
  // architecture equal, variant equal or unspecified on either side
  // (arm64 "" and "v8" match).
  bool Matches(const Platform& candidate) const;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;  // may be empty

  bool operator==(const Descriptor&) const = default;
};

// JSON conversions. FromJson validates (digest syntax, size >= 0, mediaType present).
nlohmann::json ToJson(const Platform& p);
Result<Platform> PlatformFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const Descriptor& d);
Result<Descriptor> DescriptorFromJson(const nlohmann::json& j);
// The same objects with keys in the field order of the OCI Go types (mediaType,
// digest, size, ...), as the canonical manifest/index documents use. Empty
// optional fields are omitted.
nlohmann::ordered_json ToOrderedJson(const Platform& p);
nlohmann::ordered_json ToOrderedJson(const Descriptor& d);

}  // namespace bld::oci
