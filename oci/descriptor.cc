#include "oci/descriptor.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "oci/json_fields.h"

namespace bld::oci {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Normalises architecture aliases the way containerd's platforms package does.
void NormalizeArch(std::string* arch, std::string* variant) {
  *arch = Lower(*arch);
  *variant = Lower(*variant);
  if (*arch == "i386") {
    *arch = "386";
    variant->clear();
  } else if (*arch == "x86_64" || *arch == "x86-64" || *arch == "amd64") {
    *arch = "amd64";
    if (*variant == "v1") variant->clear();
  } else if (*arch == "aarch64" || *arch == "arm64") {
    *arch = "arm64";
    if (*variant == "8" || *variant == "v8.0") *variant = "v8";
  } else if (*arch == "armhf") {
    *arch = "arm";
    *variant = "v7";
  } else if (*arch == "armel") {
    *arch = "arm";
    *variant = "v6";
  } else if (*arch == "arm") {
    if (*variant == "5" || *variant == "6" || *variant == "7" || *variant == "8") {
      *variant = "v" + *variant;
    }
  }
}

// The variant to compare: arm64 without a variant is v8.
std::string EffectiveVariant(const std::string& arch, const std::string& variant) {
  if (arch == "arm64" && variant.empty()) return "v8";
  return variant;
}

bool IsKnownOs(std::string_view os) {
  static constexpr std::string_view kOses[] = {
      "aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios",
      "js",  "linux",   "netbsd", "openbsd",   "plan9",   "solaris", "windows"};
  return std::find(std::begin(kOses), std::end(kOses), os) != std::end(kOses);
}

}  // namespace

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<Platform> Platform::Parse(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    parts.emplace_back(s.substr(start, slash == std::string_view::npos ? s.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("invalid platform \"" + std::string(s) + "\": " + std::string(why));
  };
  if (parts.size() > 3) return invalid("expected os/arch[/variant]");
  for (const std::string& p : parts) {
    if (p.empty()) return invalid("empty component; expected os/arch[/variant]");
  }
  Platform out;
  out.os = Lower(parts[0]);
  if (out.os == "macos") out.os = "darwin";
  if (parts.size() == 1) {
    if (!IsKnownOs(out.os)) return invalid("unknown operating system; expected os/arch[/variant]");
    out.architecture = Host().architecture;
    out.variant = Host().variant;
    return out;
  }
  out.architecture = parts[1];
  if (parts.size() == 3) out.variant = parts[2];
  NormalizeArch(&out.architecture, &out.variant);
  return out;
}

Platform Platform::Host() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
  p.variant = "v7";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
  p.variant = "v6";
#else
  p.variant = "v5";
#endif
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
#error "unknown host architecture"
#endif
  return p;
}

bool Platform::Matches(const Platform& candidate) const {
  if (Lower(os) != Lower(candidate.os)) return false;
  std::string want_arch = architecture, want_variant = variant;
  std::string have_arch = candidate.architecture, have_variant = candidate.variant;
  NormalizeArch(&want_arch, &want_variant);
  NormalizeArch(&have_arch, &have_variant);
  if (want_arch != have_arch) return false;
  if (want_variant.empty() || have_variant.empty()) return true;
  return EffectiveVariant(want_arch, want_variant) == EffectiveVariant(have_arch, have_variant);
}

nlohmann::ordered_json ToOrderedJson(const Platform& p) {
  nlohmann::ordered_json j;
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

nlohmann::ordered_json ToOrderedJson(const Descriptor& d) {
  nlohmann::ordered_json j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = ToOrderedJson(*d.platform);
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  return j;
}

nlohmann::json ToJson(const Platform& p) { return nlohmann::json(ToOrderedJson(p)); }
nlohmann::json ToJson(const Descriptor& d) { return nlohmann::json(ToOrderedJson(d)); }

Result<Platform> PlatformFromJson(const nlohmann::json& j) {
  using namespace internal;
  if (!j.is_object()) return InvalidArgumentError("platform: expected an object");
  Platform p;
  BLD_ASSIGN_OR_RETURN(auto arch, GetString(j, "architecture", "platform"));
  BLD_ASSIGN_OR_RETURN(auto os, GetString(j, "os", "platform"));
  if (!arch || arch->empty()) return InvalidArgumentError("platform.architecture is missing");
  if (!os || os->empty()) return InvalidArgumentError("platform.os is missing");
  p.architecture = *arch;
  p.os = *os;
  BLD_ASSIGN_OR_RETURN(auto os_version, GetString(j, "os.version", "platform"));
  p.os_version = os_version.value_or("");
  BLD_ASSIGN_OR_RETURN(auto features, GetStringArray(j, "os.features", "platform"));
  if (features) p.os_features = std::move(*features);
  BLD_ASSIGN_OR_RETURN(auto variant, GetString(j, "variant", "platform"));
  p.variant = variant.value_or("");
  return p;
}

Result<Descriptor> DescriptorFromJson(const nlohmann::json& j) {
  using namespace internal;
  if (!j.is_object()) return InvalidArgumentError("descriptor: expected an object");
  Descriptor d;
  BLD_ASSIGN_OR_RETURN(auto media_type, GetString(j, "mediaType", "descriptor"));
  if (!media_type || media_type->empty()) {
    return InvalidArgumentError("descriptor.mediaType is missing");
  }
  d.media_type = *media_type;
  BLD_ASSIGN_OR_RETURN(auto digest, GetString(j, "digest", "descriptor"));
  if (!digest) return InvalidArgumentError("descriptor.digest is missing");
  auto parsed = Digest::Parse(*digest);
  if (!parsed.ok()) return std::move(parsed).error().Wrap("descriptor.digest");
  d.digest = *parsed;
  BLD_ASSIGN_OR_RETURN(auto size, GetInt(j, "size", "descriptor"));
  if (!size) return InvalidArgumentError("descriptor.size is missing");
  if (*size < 0) {
    return InvalidArgumentError("descriptor.size: must not be negative, got " +
                                std::to_string(*size));
  }
  d.size = *size;
  BLD_ASSIGN_OR_RETURN(auto urls, GetStringArray(j, "urls", "descriptor"));
  if (urls) d.urls = std::move(*urls);
  BLD_ASSIGN_OR_RETURN(d.annotations, GetStringMap(j, "annotations", "descriptor"));
  auto platform = j.find("platform");
  if (platform != j.end() && !platform->is_null()) {
    BLD_ASSIGN_OR_RETURN(Platform p, PlatformFromJson(*platform));
    d.platform = std::move(p);
  }
  BLD_ASSIGN_OR_RETURN(auto artifact_type, GetString(j, "artifactType", "descriptor"));
  d.artifact_type = artifact_type.value_or("");
  return d;
}

}  // namespace bld::oci
