// Fixtures for registry integration tests: Debian's docker-registry on
// 127.0.0.1 (plain HTTP, TLS with a self-signed CA, htpasswd Basic auth, or
// Bearer tokens from a small token server in this process), a proxy that
// drops connections mid-transfer, and images written straight into a store.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/child_process.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "oci/descriptor.h"
#include "oci/store.h"

namespace bld::testing {

inline constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";
inline constexpr char kTestUser[] = "alice";
inline constexpr char kTestPassword[] = "secret";

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// A listening socket on 127.0.0.1 served by a thread until destruction.
class TcpServer {
 public:
  virtual ~TcpServer();
  int port() const { return port_; }

 protected:
  Status Listen();
  // Called on the server thread for each accepted connection.
  virtual void Serve(UniqueFd conn) = 0;
  // Subclasses call this first in their destructor so Serve never runs on a
  // half-destroyed object.
  void Stop();

 private:
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// Issues registry tokens (JWT, RS256, the certificate in x5c) like a
// docker/distribution token server: kTestUser/kTestPassword get every action
// asked for; anonymous users get "pull" on repositories under "public/";
// wrong credentials get 401.
class TokenServer final : public TcpServer {
 public:
  // Writes key and certificate into `dir`.
  static Result<std::unique_ptr<TokenServer>> Start(const std::string& dir);
  ~TokenServer() override;
  const std::string& cert_file() const { return cert_file_; }
  std::string realm() const;
  int requests() const { return requests_; }

 private:
  void Serve(UniqueFd conn) override;
  std::string key_file_, cert_file_;
  std::string cert_der_b64_;
  void* key_ = nullptr;  // EVP_PKEY*
  std::atomic<int> requests_{0};
};

// Forwards 127.0.0.1:port() to `target_port`. After `drop_after` bytes of a
// response to a blob GET it closes both sides (-1: never), at most
// `max_drops` times (-1: always).
class FaultProxy final : public TcpServer {
 public:
  static Result<std::unique_ptr<FaultProxy>> Start(int target_port, int64_t drop_after,
                                                   int max_drops = -1);
  ~FaultProxy() override;
  int drops() const { return drops_; }

 private:
  void Serve(UniqueFd conn) override;
  int target_port_ = 0;
  int64_t drop_after_ = -1;
  int max_drops_ = -1;
  std::atomic<int> drops_{0};
};

struct RegistryOptions {
  bool tls = false;                    // serve HTTPS with a certificate from a self-signed CA
  bool htpasswd = false;               // Basic auth: kTestUser / kTestPassword
  const TokenServer* token = nullptr;  // Bearer auth from this token server
};

class TestRegistry final {
 public:
  static Result<std::unique_ptr<TestRegistry>> Start(const RegistryOptions& options = {});
  ~TestRegistry();

  // "127.0.0.1:PORT" (or "localhost:PORT" style names work too).
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }
  // PEM file of the CA that signed the TLS certificate (tls only).
  std::string ca_file() const { return dir_.path() + "/ca.crt"; }
  // The registry's output so far (access log included).
  std::string Log() const;
  // Access-log lines of requests whose method is `method` and whose URI contains `uri_part`.
  int CountRequests(const std::string& method, const std::string& uri_part) const;
  // Path of a blob's data file in the registry's storage (to corrupt it).
  std::string BlobDataPath(const std::string& digest_hex) const;
  void Stop();

 private:
  TestRegistry(TempDir dir, int port) : dir_(std::move(dir)), port_(port) {}
  TempDir dir_;
  int port_;
  std::optional<ChildProcess> process_;
};

// Writes an image of `layers` random "layers" (gzip media type, random bytes)
// into `store`; returns the manifest descriptor. Nothing is tagged.
oci::Descriptor WriteRandomImage(const oci::Store& store, int layers, unsigned seed,
                                 int64_t layer_size = 4096, const std::string& arch = "amd64");

}  // namespace bld::testing
