#include "registry/blob_sources.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace bld::registry {

namespace {

using nlohmann::json;

// Repositories remembered per blob and registry; older ones are forgotten.
constexpr size_t kMaxReposPerBlob = 8;

std::string Dir(const std::string& root) { return JoinPath(root, "registry"); }
std::string FilePath(const std::string& root) { return JoinPath(Dir(root), "blob-sources.json"); }

json Load(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return json::object();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json::object();
  return j;
}

}  // namespace

std::vector<std::string> BlobSources::Lookup(const std::string& registry,
                                             const oci::Digest& digest) const {
  json j = Load(FilePath(root_));
  std::vector<std::string> out;
  auto reg = j.find(registry);
  if (reg == j.end() || !reg->is_object()) return out;
  auto repos = reg->find(digest.str());
  if (repos == reg->end() || !repos->is_array()) return out;
  for (const auto& r : *repos) {
    if (r.is_string()) out.push_back(r.get<std::string>());
  }
  return out;
}

Status BlobSources::Record(const std::string& registry, const std::string& repo,
                           const std::vector<oci::Digest>& digests) const {
  if (digests.empty()) return Ok();
  BLD_TRY(MkdirAll(Dir(root_), 0755));
  const std::string lock_path = JoinPath(Dir(root_), "blob-sources.lock");
  BLD_ASSIGN_OR_RETURN(UniqueFd lock, OpenFile(lock_path, O_RDWR | O_CREAT, 0644));
  while (::flock(lock.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return ErrnoError("lock " + lock_path);
  }
  const std::string path = FilePath(root_);
  json j = Load(path);
  if (!j.contains(registry) || !j[registry].is_object()) j[registry] = json::object();
  json& reg = j[registry];
  bool changed = false;
  for (const oci::Digest& d : digests) {
    const std::string key = d.str();
    std::vector<std::string> repos;
    if (reg.contains(key) && reg[key].is_array()) {
      for (const auto& r : reg[key]) {
        if (r.is_string()) repos.push_back(r.get<std::string>());
      }
    }
    if (!repos.empty() && repos.front() == repo) continue;
    repos.erase(std::remove(repos.begin(), repos.end(), repo), repos.end());
    repos.insert(repos.begin(), repo);
    if (repos.size() > kMaxReposPerBlob) repos.resize(kMaxReposPerBlob);
    reg[key] = repos;
    changed = true;
  }
  if (!changed) return Ok();
  return WriteFileAtomic(path, j.dump(), 0644);
}

}  // namespace bld::registry
