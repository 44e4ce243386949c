// A client for one registry speaking the OCI distribution API v2: endpoint
// discovery (https, or plain http where allowed), authentication (Bearer token
// flow with per-repository scopes and a token cache, or Basic), retries with
// backoff, and errors that name the registry, repository, HTTP status and the
// registry's error code.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "registry/auth.h"
#include "registry/transport.h"

namespace bld::registry {

struct RetryPolicy {
  // Total tries of one request (or one blob transfer), first included.
  int attempts = 5;
  std::chrono::milliseconds initial_backoff{200};  // doubled after each failure
  std::chrono::milliseconds max_backoff{5000};
};

struct ClientOptions {
  // false: do not verify TLS certificates and allow plain HTTP (--tls-verify=false).
  bool tls_verify = true;
  // Credentials to use; when unset they are looked up (LookupCredentials) if
  // lookup_credentials is true.
  std::optional<Credentials> credentials;
  bool lookup_credentials = true;
  RetryPolicy retry;
  // Blobs up to this size are uploaded with one PUT; larger ones in PATCH chunks.
  int64_t monolithic_upload_max = 256LL << 20;
  int64_t upload_chunk_size = 64LL << 20;
  std::string user_agent = "bld/0.1";
};

// True for "localhost[:port]", 127.0.0.0/8 and [::1] (with any port).
bool IsLoopbackRegistry(std::string_view host);
// True if `host` ("host[:port]") is listed in BLD_INSECURE_REGISTRIES.
bool IsListedInsecure(std::string_view host);

// Byte ranges [offset, offset+length) of a chunked upload of `size` bytes:
// chunks of max(chunk_size, min_chunk) bytes, the last one shorter.
std::vector<std::pair<int64_t, int64_t>> PlanChunks(int64_t size, int64_t chunk_size,
                                                    int64_t min_chunk);

// The error for a failed registry response: "<what>: <status> <reason>: CODE: message"
// with codes and messages from the registry's JSON error body. The code
// follows the status: 401 Unauthenticated, 403 PermissionDenied, 404
// NotFound, 429/5xx Unavailable, others FailedPrecondition.
Error ResponseError(std::string_view what, const HttpResponse& response);

// A manifest or index as the registry served it.
struct FetchedManifest {
  std::string media_type;  // from Content-Type, or detected from the body
  std::string bytes;       // exactly as served
  oci::Digest digest;      // sha256 of bytes

  oci::Descriptor descriptor() const;
};

class Client final {
 public:
  // `registry` is a reference's domain ("docker.io", "localhost:5000");
  // requests go to its registry host (docker.io -> registry-1.docker.io).
  // `transport` defaults to a libcurl transport configured from `options`
  // (and CA files in $BLD_CERTS_DIR, /etc/containers/certs.d or
  // /etc/docker/certs.d for the host).
  static Result<std::unique_ptr<Client>> Create(std::string registry, ClientOptions options,
                                                std::shared_ptr<Transport> transport = nullptr);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& registry() const { return registry_; }
  // "https://host:port" once the endpoint is known (after Ping).
  std::string base_url();

  // Finds the endpoint (https; http where allowed and https fails) and its
  // authentication challenge. Done once; every other call does it first.
  Status Ping();
  // Checks that the configured credentials are accepted (for `bld login`):
  // fetches a token, or for Basic re-pings with them. Unauthenticated if not.
  Status CheckLogin();

  // GET /v2/<repo>/manifests/<reference> asking for OCI and Docker manifests
  // and indexes. A digest reference is verified against the bytes.
  Result<FetchedManifest> GetManifest(const std::string& repo, const std::string& reference);
  // HEAD of a manifest: its descriptor, or nullopt when the registry has none.
  Result<std::optional<oci::Descriptor>> HeadManifest(const std::string& repo,
                                                      const std::string& reference);
  // PUT /v2/<repo>/manifests/<reference>; returns the digest the registry reports
  // (checked against the bytes when reported).
  Result<oci::Digest> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& bytes);

  // GET /v2/<repo>/blobs/<digest>, following redirects. `reset` is called
  // before each try (so the caller can discard a partial copy) and `write`
  // receives the body. Retried per the policy; a write error is not retried. `size`
  // (the descriptor's; -1 unknown) sets the transfer's deadline.
  Status FetchBlob(const std::string& repo, const oci::Digest& digest, int64_t size,
                   const std::function<Status()>& reset,
                   const std::function<Status(std::string_view)>& write);
  // HEAD /v2/<repo>/blobs/<digest>.
  Result<bool> BlobExists(const std::string& repo, const oci::Digest& digest);

  enum class UploadOutcome { kUploaded, kMounted };
  // Uploads `size` bytes of `fd` (not owned, read with pread) as `digest`.
  // With `mount_from` (a repository of this registry believed to hold the
  // blob) a cross-repository mount is tried first; when the registry declines
  // it the blob is uploaded. Small blobs go in one PUT, large ones in PATCH
  // chunks honouring OCI-Chunk-Min-Length. Retried per the policy.
  Result<UploadOutcome> UploadBlob(const std::string& repo, const oci::Digest& digest, int64_t size,
                                   int fd,
                                   const std::optional<std::string>& mount_from = std::nullopt);

  // Sends `request` (a URL path like "/v2/..." or an absolute URL) with
  // authentication for `scopes` ("repository:NAME:pull,push"), answering 401
  // challenges once and retrying connection errors, 429 and 5xx per the
  // policy when `idempotent`. Any response is returned; the caller judges it.
  Result<HttpResponse> Send(HttpRequest request, const std::vector<std::string>& scopes,
                            bool idempotent);

  // Counters for tests and progress: requests sent, token fetches.
  int requests_sent() const { return requests_sent_; }
  int token_fetches() const { return token_fetches_; }

 private:
  Client(std::string registry, std::string host, ClientOptions options,
         std::shared_ptr<Transport> transport)
      : registry_(std::move(registry)),
        host_(std::move(host)),
        options_(std::move(options)),
        transport_(std::move(transport)) {}

  Status PingLocked();
  // The Authorization header value for `scopes`, fetching a token if needed
  // (force: ignore the cache). Empty when no authentication is known to be needed.
  Result<std::string> Authorization(const std::vector<std::string>& scopes, bool force);
  Result<std::string> FetchToken(const Challenge& challenge,
                                 const std::vector<std::string>& scopes);
  Result<HttpResponse> DoWithRetry(const HttpRequest& request, bool idempotent);
  // ResponseError for `repo`, with a hint to log in on 401.
  Error Fail(const std::string& repo, std::string_view what, const HttpResponse& response);
  void Backoff(int attempt, const HttpResponse* response);
  Result<UploadOutcome> UploadOnce(const std::string& repo, const oci::Digest& digest, int64_t size,
                                   int fd, const std::optional<std::string>& mount_from);
  std::string Context(const std::string& repo) const { return registry_ + "/" + repo; }

  const std::string registry_;
  const std::string host_;
  const ClientOptions options_;
  std::shared_ptr<Transport> transport_;

  std::mutex mu_;  // guards everything below
  bool pinged_ = false;
  std::string base_url_;
  std::optional<Challenge> challenge_;  // from the last 401
  std::optional<Credentials> credentials_;
  bool credentials_loaded_ = false;
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expiry;
  };
  std::map<std::string, Token> tokens_;  // by space-joined scopes
  std::atomic<int> requests_sent_{0};
  std::atomic<int> token_fetches_{0};
};

}  // namespace bld::registry
