#include "registry/auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/child_process.h"
#include "base/file.h"

namespace bld::registry {

namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
}

std::string ReadToken(std::string_view s, size_t* i) {
  size_t b = *i;
  while (*i < s.size() && IsTokenChar(s[*i])) ++*i;
  return std::string(s.substr(b, *i - b));
}

std::string HomeDir() {
  const char* h = std::getenv("HOME");
  return h != nullptr ? h : "/root";
}

Result<json> ReadJsonFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return std::move(text).error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError(path + ": not a JSON object");
  }
  return j;
}

// Finds the entry of `auths` whose key normalises to `key`.
std::optional<Credentials> FromAuths(const json& auths, const std::string& key,
                                     const std::string& path, std::optional<Error>* err) {
  if (!auths.is_object()) return std::nullopt;
  for (const auto& [k, v] : auths.items()) {
    if (NormalizeRegistryKey(k) != key || !v.is_object()) continue;
    Credentials c;
    if (v.contains("auth") && v["auth"].is_string() && !v["auth"].get<std::string>().empty()) {
      auto decoded = DecodeBase64(v["auth"].get<std::string>());
      size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        *err = InvalidArgumentError(path + ": auths[\"" + k +
                                    "\"].auth is not base64 of user:password");
        return std::nullopt;
      }
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    }
    if (v.contains("identitytoken") && v["identitytoken"].is_string()) {
      c.identity_token = v["identitytoken"].get<std::string>();
    }
    if (c.empty()) continue;
    return c;
  }
  return std::nullopt;
}

Result<std::optional<Credentials>> RunHelper(const std::string& helper, const std::string& key) {
  std::string prog = "docker-credential-" + helper;
  // Docker Hub credentials are filed under the v1 index URL by the docker CLI.
  std::string server = key == "docker.io" ? "https://index.docker.io/v1/" : key;
  auto r = RunCommand({prog, "get"}, server + "\n");
  if (!r.ok()) return std::move(r).error().Wrap("credential helper " + prog);
  if (r->exit_code != 0) {
    std::string out = r->out + r->err;
    if (out.find("credentials not found") != std::string::npos) return std::optional<Credentials>();
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return UnavailableError(prog + " get " + server + " failed (exit " +
                            std::to_string(r->exit_code) + "): " + out);
  }
  json j = json::parse(r->out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InternalError(prog + " get: output is not a JSON object");
  }
  Credentials c;
  c.username = j.value("Username", "");
  std::string secret = j.value("Secret", "");
  if (c.username == "<token>") {
    c.username.clear();
    c.identity_token = secret;
  } else {
    c.password = secret;
  }
  if (c.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(c);
}

}  // namespace

std::vector<Challenge> ParseChallenges(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  while (i < h.size()) {
    SkipSpace(h, &i);
    while (i < h.size() && h[i] == ',') {
      ++i;
      SkipSpace(h, &i);
    }
    std::string scheme = ReadToken(h, &i);
    if (scheme.empty()) break;
    Challenge c;
    c.scheme = Lower(scheme);
    // auth-params until the next scheme (a token not followed by '=').
    while (i < h.size()) {
      SkipSpace(h, &i);
      while (i < h.size() && h[i] == ',') {
        ++i;
        SkipSpace(h, &i);
      }
      size_t save = i;
      std::string name = ReadToken(h, &i);
      SkipSpace(h, &i);
      if (name.empty() || i >= h.size() || h[i] != '=') {
        i = save;
        break;
      }
      ++i;  // '='
      SkipSpace(h, &i);
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        if (i < h.size()) ++i;  // closing quote
      } else {
        size_t b = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
        value = std::string(h.substr(b, i - b));
      }
      c.params[Lower(name)] = value;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string NormalizeRegistryKey(std::string_view registry) {
  std::string_view s = registry;
  if (size_t p = s.find("://"); p != std::string_view::npos) s = s.substr(p + 3);
  if (size_t p = s.find('/'); p != std::string_view::npos) s = s.substr(0, p);
  std::string k = Lower(s);
  if (k == "index.docker.io" || k == "registry-1.docker.io" || k == "registry.hub.docker.com") {
    return "docker.io";
  }
  return k;
}

std::string AuthFilePath() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f != nullptr && *f != '\0') return f;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    return std::string(x) + "/containers/auth.json";
  }
  return HomeDir() + "/.config/containers/auth.json";
}

std::string DockerConfigPath() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') {
    return std::string(d) + "/config.json";
  }
  return HomeDir() + "/.docker/config.json";
}

Result<std::optional<Credentials>> LookupCredentials(std::string_view registry) {
  const std::string key = NormalizeRegistryKey(registry);
  std::optional<Error> err;
  for (const std::string& path : {AuthFilePath(), DockerConfigPath()}) {
    if (!PathExists(path)) continue;
    BLD_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
    if (j.contains("auths")) {
      if (auto c = FromAuths(j["auths"], key, path, &err)) return std::optional<Credentials>(*c);
      if (err) return *err;
    }
    if (j.contains("credHelpers") && j["credHelpers"].is_object()) {
      for (const auto& [k, v] : j["credHelpers"].items()) {
        if (NormalizeRegistryKey(k) == key && v.is_string()) {
          return RunHelper(v.get<std::string>(), key);
        }
      }
    }
    if (j.contains("credsStore") && j["credsStore"].is_string() &&
        !j["credsStore"].get<std::string>().empty()) {
      BLD_ASSIGN_OR_RETURN(auto c, RunHelper(j["credsStore"].get<std::string>(), key));
      if (c) return c;
    }
  }
  return std::optional<Credentials>();
}

Status StoreCredentials(std::string_view registry, const Credentials& creds) {
  const std::string path = AuthFilePath();
  json j = json::object();
  if (PathExists(path)) {
    BLD_ASSIGN_OR_RETURN(j, ReadJsonFile(path));
  }
  if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
  const std::string key = NormalizeRegistryKey(registry);
  // Drop other spellings of the same registry so lookups find this entry.
  std::vector<std::string> stale;
  for (const auto& [k, v] : j["auths"].items()) {
    if (NormalizeRegistryKey(k) == key) stale.push_back(k);
  }
  for (const auto& k : stale) j["auths"].erase(k);
  json entry = json::object();
  if (!creds.username.empty() || !creds.password.empty()) {
    entry["auth"] = EncodeBase64(creds.username + ":" + creds.password);
  }
  if (!creds.identity_token.empty()) entry["identitytoken"] = creds.identity_token;
  j["auths"][key] = entry;
  BLD_TRY_WRAP(MkdirAll(Dirname(path), 0700), "write credentials");
  return WriteFileAtomic(path, j.dump(1, '\t') + "\n", 0600);
}

Status EraseCredentials(std::string_view registry) {
  const std::string path = AuthFilePath();
  const std::string key = NormalizeRegistryKey(registry);
  if (!PathExists(path)) return NotFoundError("not logged in to " + key);
  BLD_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  std::vector<std::string> found;
  if (j.contains("auths") && j["auths"].is_object()) {
    for (const auto& [k, v] : j["auths"].items()) {
      if (NormalizeRegistryKey(k) == key) found.push_back(k);
    }
  }
  if (found.empty()) return NotFoundError("not logged in to " + key);
  for (const auto& k : found) j["auths"].erase(k);
  return WriteFileAtomic(path, j.dump(1, '\t') + "\n", 0600);
}

std::string EncodeBase64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> DecodeBase64(std::string_view data) {
  std::string in(data);
  while (!in.empty() && (in.back() == '\n' || in.back() == '\r')) in.pop_back();
  if (in.size() % 4 != 0) return InvalidArgumentError("invalid base64");
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return InvalidArgumentError("invalid base64");
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace bld::registry
