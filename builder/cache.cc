#include "builder/cache.h"

#include <nlohmann/json.hpp>

#include "base/file.h"

namespace bld::builder {

namespace {
std::string CacheDir(const std::string& root) { return JoinPath(root, "cache"); }
}  // namespace

BuildCache::BuildCache(std::string store_root) : dir_(CacheDir(store_root)) {}

std::optional<CacheRecord> BuildCache::Lookup(const oci::Digest& key) const {
  auto text = ReadFile(JoinPath(dir_, "records/" + key.hex() + ".json"));
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  CacheRecord r;
  if (j.contains("layer") && !j["layer"].is_null()) {
    auto d = oci::DescriptorFromJson(j["layer"]);
    if (!d.ok()) return std::nullopt;
    r.layer = *d;
    auto diff = oci::Digest::Parse(j.value("diff_id", ""));
    if (!diff.ok()) return std::nullopt;
    r.diff_id = *diff;
  }
  r.created_by = j.value("created_by", "");
  return r;
}

Status BuildCache::Store(const oci::Digest& key, const CacheRecord& record) const {
  BLD_TRY(MkdirAll(JoinPath(dir_, "records")));
  nlohmann::json j = nlohmann::json::object();
  j["layer"] = record.layer ? oci::ToJson(*record.layer) : nlohmann::json(nullptr);
  if (record.layer) j["diff_id"] = record.diff_id.str();
  j["created_by"] = record.created_by;
  return WriteFileAtomic(JoinPath(dir_, "records/" + key.hex() + ".json"), j.dump());
}

std::optional<std::map<std::string, std::string>> BuildCache::PreviousInputs(
    const std::string& address) const {
  auto text = ReadFile(JoinPath(dir_, "explain/" + oci::Digest::Of(address).hex() + ".json"));
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("inputs") || !j["inputs"].is_object()) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (auto& [k, v] : j["inputs"].items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

Status BuildCache::SaveInputs(const std::string& address,
                              const std::map<std::string, std::string>& inputs) const {
  BLD_TRY(MkdirAll(JoinPath(dir_, "explain")));
  nlohmann::json j = {{"address", address}, {"inputs", inputs}};
  return WriteFileAtomic(JoinPath(dir_, "explain/" + oci::Digest::Of(address).hex() + ".json"),
                         j.dump());
}

Result<std::string> BuildCache::MountDir(const std::string& id) const {
  std::string d = JoinPath(dir_, "mounts/" + oci::Digest::Of(id).hex().substr(0, 32));
  BLD_TRY(MkdirAll(d));
  return d;
}

Result<std::vector<oci::Digest>> CacheReferencedBlobs(const std::string& store_root) {
  std::string dir = JoinPath(CacheDir(store_root), "records");
  std::vector<oci::Digest> out;
  if (!PathExists(dir)) return out;
  BLD_ASSIGN_OR_RETURN(auto names, ListDir(dir));
  BuildCache cache(store_root);
  for (const auto& n : names) {
    if (!n.ends_with(".json")) continue;
    auto key = oci::Digest::FromHex(n.substr(0, n.size() - 5));
    if (!key.ok()) continue;
    auto r = cache.Lookup(*key);
    if (r && r->layer) out.push_back(r->layer->digest);
  }
  return out;
}

Result<int> PruneCache(const std::string& store_root) {
  std::string dir = CacheDir(store_root);
  int n = 0;
  if (PathExists(JoinPath(dir, "records"))) {
    BLD_ASSIGN_OR_RETURN(auto names, ListDir(JoinPath(dir, "records")));
    n = static_cast<int>(names.size());
  }
  for (const char* sub : {"records", "explain", "mounts"}) {
    BLD_TRY_WRAP(RemoveAll(JoinPath(dir, sub)), "prune build cache");
  }
  return n;
}

}  // namespace bld::builder
