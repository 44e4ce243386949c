// The HTTP seam of the registry client: a Transport sends one request and
// returns the response. The real one is libcurl (connection reuse, redirects,
// TLS verified against the system CA store); unit tests use a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace bld::registry {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;             // absolute: "https://host:port/v2/..."
  HttpHeaders headers;
  // The request body: `body`, or, when body_fd >= 0, `body_length` bytes of
  // body_fd read with pread from body_offset (the fd is not owned).
  std::string body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_length = 0;
  // Receives the body of a 2xx response in pieces as it arrives instead of
  // HttpResponse::body. An error from the sink aborts the transfer and is
  // returned by Transport::Do. Bodies of other responses always land in body.
  std::function<Status(std::string_view)> body_sink;
  // The most body bytes accepted from one response (the sink's or `body`), checked as
  // they arrive: more aborts the transfer with FailedPrecondition (not retried). -1: no
  // limit for a sink, kMaxInMemoryBody for `body`.
  int64_t max_body = -1;
  // Bytes the response body is expected to carry (a blob's size), for the deadline.
  int64_t expected_size = -1;
};

// Bodies kept in memory (error responses, tokens, anything without a sink) are cut off
// here unless the request sets max_body.
constexpr int64_t kMaxInMemoryBody = 8 << 20;

// Limits of every transfer. A transfer slower than low_speed_bytes per second for
// low_speed_seconds, or one still running at its deadline (deadline_seconds plus the
// bytes it moves -- the larger of the request body and expected_size -- at
// deadline_rate bytes per second), fails with kUnavailable (retried like a reset).
// Defaults: 1 KiB/s for 30 s; 300 s + size at 100 KiB/s. BLD_REGISTRY_LOW_SPEED=
// "BYTES:SECONDS" and BLD_REGISTRY_DEADLINE="SECONDS:BYTES_PER_SECOND" change them
// (for tests); a malformed value is an error when the transport is made.
struct TransferLimits {
  int64_t low_speed_bytes = 1024;
  int64_t low_speed_seconds = 30;
  int64_t deadline_seconds = 300;
  int64_t deadline_rate = 100 * 1024;
};
// The defaults with the environment's overrides applied.
Result<TransferLimits> TransferLimitsFromEnv();
// Seconds a transfer of `bytes` (-1: unknown, i.e. none) may take.
int64_t TransferDeadline(const TransferLimits& limits, int64_t bytes);

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  std::string body;
  // The URL that answered after redirects (for resolving relative Locations).
  std::string effective_url;

  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  // Every header named `name`.
  std::vector<std::string> Headers(std::string_view name) const;
};

// Sends requests. Implementations are safe to use from several threads at once.
//
// Do returns an error only when no HTTP response was received (or the body sink
// failed): kUnavailable for connection failures, resets and timeouts (worth
// retrying); kFailedPrecondition for TLS certificate verification failures (the
// server speaks TLS but is not trusted); kInternal otherwise. Any HTTP status,
// 4xx and 5xx included, is a successful Do.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<HttpResponse> Do(const HttpRequest& request) = 0;
};

struct TlsOptions {
  // false: accept any certificate (--tls-verify=false).
  bool verify = true;
  // Extra CA certificates (PEM files) trusted in addition to the system store.
  std::vector<std::string> extra_ca_files;
};

// A libcurl transport. Follows redirects (never sending Authorization to
// another host), reuses connections, honours SSL_CERT_FILE / SSL_CERT_DIR as
// the CA bundle when set. `user_agent` goes on every request.
std::unique_ptr<Transport> NewCurlTransport(const TlsOptions& tls, std::string user_agent = "bld",
                                            TransferLimits limits = {});

// Resolves `location` (absolute URL, absolute path or relative) against `base` URL.
std::string ResolveUrl(std::string_view base, std::string_view location);

}  // namespace bld::registry
