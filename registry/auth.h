// Registry authentication: WWW-Authenticate challenges and where credentials
// come from (bld login's auth.json, ~/.docker/config.json and its credential
// helpers).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bld::registry {

// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="..."`.
struct Challenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower-cased, values unquoted

  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
};

// Parses a WWW-Authenticate header value (RFC 7235: several challenges,
// comma-separated auth-params with quoted-string values). Unparseable input
// yields what could be read; never fails.
std::vector<Challenge> ParseChallenges(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (docker's "identitytoken"); when set, tokens are
  // requested with grant_type=refresh_token instead of Basic credentials.
  std::string identity_token;

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// The registry key credentials are filed under: "docker.io" for Docker Hub
// (index.docker.io, registry-1.docker.io, https://index.docker.io/v1/),
// otherwise "host[:port]" with any scheme and path removed.
std::string NormalizeRegistryKey(std::string_view registry);

// Where `bld login` writes: $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json.
std::string AuthFilePath();
// ~/.docker/config.json, or $DOCKER_CONFIG/config.json.
std::string DockerConfigPath();

// Looks up credentials for `registry` in AuthFilePath(), then
// DockerConfigPath() (`auths`, then `credHelpers[registry]`, then
// `credsStore`, running `docker-credential-NAME get`). nullopt when none are
// configured; an error for a malformed file or a failing helper.
Result<std::optional<Credentials>> LookupCredentials(std::string_view registry);

// Records credentials in AuthFilePath() (created with mode 0600, rewritten atomically).
Status StoreCredentials(std::string_view registry, const Credentials& creds);
// Removes the entry for `registry` from AuthFilePath(). NotFound if there was none.
Status EraseCredentials(std::string_view registry);

// base64 (standard alphabet, padded) and its inverse; DecodeBase64 fails on bad input.
std::string EncodeBase64(std::string_view data);
Result<std::string> DecodeBase64(std::string_view data);

}  // namespace bld::registry
