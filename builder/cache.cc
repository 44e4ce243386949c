#include "builder/cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
  r.created = j.value("created", "");
  return r;
}

Status BuildCache::Store(const oci::Digest& key, const CacheRecord& record) const {
  BLD_TRY(MkdirAll(JoinPath(dir_, "records")));
  nlohmann::json j = nlohmann::json::object();
  j["layer"] = record.layer ? oci::ToJson(*record.layer) : nlohmann::json(nullptr);
  if (record.layer) j["diff_id"] = record.diff_id.str();
  j["created_by"] = record.created_by;
  j["created"] = record.created;
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
                         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<CacheMount> BuildCache::AcquireMount(const std::string& id,
                                            parser::CacheSharing sharing) const {
  const std::string base = JoinPath(dir_, "mounts/" + oci::Digest::Of(id).hex().substr(0, 32));
  BLD_TRY(MkdirAll(JoinPath(dir_, "mounts")));
  for (int n = 0; n < 1000; ++n) {
    CacheMount m;
    m.path_ = n == 0 ? base : base + "." + std::to_string(n);
    if (mkdir(m.path_.c_str(), 0755) == 0) {
      m.created_ = true;
    } else if (errno != EEXIST) {
      return ErrnoError("cache mount " + m.path_);
    }
    int fd = open(m.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cache mount " + m.path_);
    m.lock_ = UniqueFd(fd);
    int op = sharing == parser::CacheSharing::kShared   ? LOCK_SH
             : sharing == parser::CacheSharing::kLocked ? LOCK_EX
                                                        : LOCK_EX | LOCK_NB;
    int r;
    do {
      r = flock(fd, op);
    } while (r != 0 && errno == EINTR);
    if (r == 0) return m;
    if (sharing == parser::CacheSharing::kPrivate && errno == EWOULDBLOCK) continue;  // busy: next
    return ErrnoError("lock cache mount " + m.path_);
  }
  return UnavailableError("cache mount " + id + ": too many concurrent private users");
}

std::optional<std::pair<oci::Descriptor, oci::Digest>> BuildCache::LookupConversion(
    const std::string& key) const {
  auto text = ReadFile(JoinPath(dir_, "convert/" + oci::Digest::Of(key).hex() + ".json"));
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("layer")) return std::nullopt;
  auto d = oci::DescriptorFromJson(j["layer"]);
  auto diff = oci::Digest::Parse(j.value("diff_id", ""));
  if (!d.ok() || !diff.ok()) return std::nullopt;
  return std::make_pair(*d, *diff);
}

Status BuildCache::StoreConversion(const std::string& key, const oci::Descriptor& layer,
                                   const oci::Digest& diff_id) const {
  BLD_TRY(MkdirAll(JoinPath(dir_, "convert")));
  nlohmann::json j = {{"layer", oci::ToJson(layer)}, {"diff_id", diff_id.str()}};
  return WriteFileAtomic(JoinPath(dir_, "convert/" + oci::Digest::Of(key).hex() + ".json"),
                         j.dump());
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

Result<int> RemoveStaleCacheFiles(const std::string& store_root) {
  int removed = 0;
  for (const char* sub : {"records", "explain", "convert"}) {
    std::string dir = JoinPath(CacheDir(store_root), sub);
    if (!PathExists(dir)) continue;
    BLD_ASSIGN_OR_RETURN(auto names, ListDir(dir));
    for (const auto& n : names) {
      if (n.find(".tmp-") == std::string::npos) continue;
      std::string path = JoinPath(dir, n);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError("remove stale cache file " + path);
      }
      ++removed;
    }
  }
  return removed;
}

Result<int> PruneCache(const std::string& store_root) {
  std::string dir = CacheDir(store_root);
  int n = 0;
  if (PathExists(JoinPath(dir, "records"))) {
    BLD_ASSIGN_OR_RETURN(auto names, ListDir(JoinPath(dir, "records")));
    n = static_cast<int>(names.size());
  }
  for (const char* sub : {"records", "explain", "mounts", "convert"}) {
    BLD_TRY_WRAP(RemoveAll(JoinPath(dir, sub)), "prune build cache");
  }
  return n;
}

}  // namespace bld::builder
