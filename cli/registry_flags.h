// Flags shared by the registry commands (pull, push, login).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "registry/client.h"

namespace bld::cli {

// --tls-verify[=true|false]: a flag that also takes an explicit value, as in podman.
inline void AddTlsVerifyFlag(CLI::App* app, bool* tls_verify) {
  app->add_flag("--tls-verify{true}", *tls_verify,
                "Verify TLS certificates and require TLS for non-loopback registries "
                "(default true; --tls-verify=false allows plain HTTP)")
      ->default_val(true);
}

inline Result<std::unique_ptr<registry::Client>> MakeRegistryClient(
    const std::string& registry, bool tls_verify,
    std::optional<registry::Credentials> credentials = std::nullopt) {
  registry::ClientOptions o;
  o.tls_verify = tls_verify;
  if (credentials) {
    o.credentials = std::move(credentials);
    o.lookup_credentials = false;
  }
  return registry::Client::Create(registry, std::move(o));
}

}  // namespace bld::cli
