#include "oci/image.h"

#include <algorithm>
#include <set>

#include "oci/media_types.h"
#include "oci/reference.h"

namespace bld::oci {

namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

Result<Image> LoadImage(const Store& store, const Descriptor& desc, const Platform& platform) {
  Image image;
  image.descriptor = desc;
  if (IsIndexMediaType(desc.media_type)) {
    BLD_ASSIGN_OR_RETURN(std::string json, store.ReadBlob(desc.digest));
    auto index = Index::Parse(json);
    if (!index.ok()) return std::move(index).error().Wrap("index " + desc.digest.str());
    BLD_ASSIGN_OR_RETURN(Descriptor chosen, index->SelectPlatform(platform));
    image.index = desc;
    image.descriptor = chosen;
  }
  BLD_ASSIGN_OR_RETURN(std::string manifest_json, store.ReadBlob(image.descriptor.digest));
  auto manifest = Manifest::Parse(manifest_json);
  if (!manifest.ok()) {
    return std::move(manifest).error().Wrap("manifest " + image.descriptor.digest.str());
  }
  image.manifest = std::move(*manifest);
  BLD_ASSIGN_OR_RETURN(std::string config_json, store.ReadBlob(image.manifest.config.digest));
  auto config = ImageConfig::Parse(config_json);
  if (!config.ok()) {
    return std::move(config).error().Wrap("config " + image.manifest.config.digest.str());
  }
  image.config = std::move(*config);
  return image;
}

Result<std::string> StoreName(std::string_view name) {
  BLD_ASSIGN_OR_RETURN(Reference ref, Reference::Parse(name));
  return ref.str();
}

Result<ResolvedImage> ResolveImage(const Store& store, std::string_view name_or_id,
                                   const Platform& platform) {
  BLD_ASSIGN_OR_RETURN(std::vector<TagEntry> entries, store.ListTags());
  auto finish = [&](const Descriptor& target) -> Result<ResolvedImage> {
    ResolvedImage r;
    r.target = target;
    for (const auto& e : entries) {
      if (e.target.digest == target.digest && !e.name.empty()) r.names.push_back(e.name);
    }
    auto image = LoadImage(store, target, platform);
    if (!image.ok()) return std::move(image).error().Wrap(std::string(name_or_id));
    r.image = std::move(*image);
    return r;
  };

  // An ID or digest: "sha256:<hex>" or a bare hex prefix.
  std::string_view hex = name_or_id;
  bool explicit_digest = false;
  if (hex.starts_with("sha256:")) {
    hex.remove_prefix(7);
    explicit_digest = true;
  }
  if (IsHex(hex) && (explicit_digest || hex.size() >= 4)) {
    std::vector<const TagEntry*> matches;
    for (const auto& e : entries) {
      bool match = e.target.digest.hex().starts_with(hex);
      if (!match) {
        // Compare the image ID (config digest) too; skip entries we cannot read.
        auto image = LoadImage(store, e.target, platform);
        match = image.ok() && image->id().hex().starts_with(hex);
      }
      if (match && std::none_of(matches.begin(), matches.end(), [&](const TagEntry* m) {
            return m->target.digest == e.target.digest;
          })) {
        matches.push_back(&e);
      }
    }
    if (matches.size() == 1) return finish(matches[0]->target);
    if (matches.size() > 1) {
      return InvalidArgumentError("image ID prefix " + std::string(name_or_id) +
                                  " is ambiguous; give more characters");
    }
    if (explicit_digest || hex.size() == 64) {
      return NotFoundError("no image with ID or digest " + std::string(name_or_id));
    }
    // A short all-hex string may also be a name ("cafe"); fall through.
  }

  auto ref = Reference::Parse(name_or_id);
  if (!ref.ok()) return std::move(ref).error();
  if (ref->digest() && ref->tag().empty()) {
    for (const auto& e : entries) {
      if (e.target.digest == *ref->digest() &&
          (e.name.empty() || e.name.starts_with(ref->Repository() + ":") ||
           e.name.starts_with(ref->Repository() + "@"))) {
        return finish(e.target);
      }
    }
    return NotFoundError("image " + std::string(name_or_id) + " not found in the store");
  }
  std::string full = ref->WithTag(ref->tag()).str();
  if (ref->digest()) {
    // name:tag@digest: the digest wins, as with docker.
    for (const auto& e : entries) {
      if (e.target.digest == *ref->digest()) return finish(e.target);
    }
    return NotFoundError("image " + std::string(name_or_id) + " not found in the store");
  }
  for (const auto& e : entries) {
    if (e.name == full) return finish(e.target);
  }
  return NotFoundError("image " + std::string(name_or_id) + " not found in the store (" + full +
                       "); pull, import or build it first");
}

Result<Descriptor> WriteImage(const Store& store, const ImageConfig& config,
                              const std::vector<Descriptor>& layers,
                              std::string_view manifest_media_type) {
  bool docker = manifest_media_type == kMediaTypeDockerManifest;
  std::string config_json = config.ToJson();
  BLD_ASSIGN_OR_RETURN(Digest config_digest, store.WriteBlob(config_json));
  Manifest m;
  m.media_type = docker ? std::string(kMediaTypeDockerManifest) : std::string(kMediaTypeOciManifest);
  m.config.media_type = docker ? kMediaTypeDockerConfig : kMediaTypeOciConfig;
  m.config.digest = config_digest;
  m.config.size = static_cast<int64_t>(config_json.size());
  m.layers = layers;
  std::string manifest_json = m.ToJson();
  BLD_ASSIGN_OR_RETURN(Digest manifest_digest, store.WriteBlob(manifest_json));
  Descriptor d;
  d.media_type = m.media_type;
  d.digest = manifest_digest;
  d.size = static_cast<int64_t>(manifest_json.size());
  return d;
}

Result<std::vector<Digest>> ReachableBlobs(const Store& store) {
  BLD_ASSIGN_OR_RETURN(std::vector<TagEntry> entries, store.ListTags());
  std::set<Digest> seen;
  std::vector<Descriptor> todo;
  for (const auto& e : entries) todo.push_back(e.target);
  while (!todo.empty()) {
    Descriptor d = std::move(todo.back());
    todo.pop_back();
    if (!seen.insert(d.digest).second) continue;
    if (!store.HasBlob(d.digest)) continue;
    // A manifest we cannot read would hide what it references: refuse rather than guess.
    if (IsIndexMediaType(d.media_type)) {
      BLD_ASSIGN_OR_RETURN(std::string json, store.ReadBlob(d.digest));
      auto index = Index::Parse(json);
      if (!index.ok()) return std::move(index).error().Wrap("index " + d.digest.str());
      for (const auto& m : index->manifests) todo.push_back(m);
    } else if (IsManifestMediaType(d.media_type)) {
      BLD_ASSIGN_OR_RETURN(std::string json, store.ReadBlob(d.digest));
      auto m = Manifest::Parse(json);
      if (!m.ok()) return std::move(m).error().Wrap("manifest " + d.digest.str());
      todo.push_back(m->config);
      for (const auto& l : m->layers) todo.push_back(l);
    }
  }
  return std::vector<Digest>(seen.begin(), seen.end());
}

}  // namespace bld::oci
