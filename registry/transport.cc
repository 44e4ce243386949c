#include "registry/transport.h"

#include "registry/curl_loader.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <tuple>

namespace bld::registry {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) {
    --e;
  }
  return std::string(s.substr(b, e - b));
}

std::string Origin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t slash = url.find('/', scheme + 3);
  return std::string(url.substr(0, slash));
}

// State of one transfer, reached from the libcurl callbacks.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  int64_t sent = 0;
  int64_t received = 0;  // body bytes of the current response
  int64_t max_body = -1;
  std::optional<Error> sink_error;
  std::optional<Error> read_error;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new response (after a redirect or 100 Continue): forget earlier headers and body.
    t->response->headers.clear();
    t->response->body.clear();
    t->received = 0;
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                      Trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  t->received += static_cast<int64_t>(len);
  if (t->max_body >= 0 && t->received > t->max_body) {
    t->sink_error = FailedPreconditionError(t->request->method + " " + t->request->url +
                                            ": the response body exceeds the limit of " +
                                            std::to_string(t->max_body) + " bytes");
    return CURL_WRITEFUNC_ERROR;
  }
  if (t->request->body_sink && code >= 200 && code < 300) {
    Status s = t->request->body_sink(std::string_view(data, len));
    if (!s.ok()) {
      t->sink_error = s.error();
      return CURL_WRITEFUNC_ERROR;
    }
    return len;
  }
  t->response->body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  size_t want = size * n;
  if (r.body_fd < 0) {
    size_t left = r.body.size() - static_cast<size_t>(t->sent);
    size_t k = std::min(want, left);
    std::memcpy(buf, r.body.data() + t->sent, k);
    t->sent += static_cast<int64_t>(k);
    return k;
  }
  int64_t left = r.body_length - t->sent;
  size_t k = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), left));
  if (k == 0) return 0;
  ssize_t got;
  do {
    got = ::pread(r.body_fd, buf, k, r.body_offset + t->sent);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    t->read_error =
        got < 0 ? ErrnoError("read request body") : InternalError("request body: early EOF");
    return CURL_READFUNC_ABORT;
  }
  t->sent += got;
  return static_cast<size_t>(got);
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  t->sent = offset;
  return CURL_SEEKFUNC_OK;
}

CURLcode OnSslContext(CURL*, void* ssl_ctx, void* user) {
  const auto* files = static_cast<const std::vector<std::string>*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  for (const std::string& f : *files) {
    if (X509_STORE_load_file(store, f.c_str()) != 1) return CURLE_SSL_CACERT_BADFILE;
  }
  return CURLE_OK;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(TlsOptions tls, std::string user_agent, TransferLimits limits)
      : tls_(std::move(tls)), user_agent_(std::move(user_agent)), limits_(limits) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (const char* f = std::getenv("SSL_CERT_FILE"); f != nullptr && *f != '\0') ca_file_ = f;
    if (const char* d = std::getenv("SSL_CERT_DIR"); d != nullptr && *d != '\0') ca_dir_ = d;
  }
  ~CurlTransport() override {
    for (CURL* c : idle_) curl_easy_cleanup(c);
  }

  Result<HttpResponse> Do(const HttpRequest& request) override {
    CURL* curl = Acquire();
    Result<HttpResponse> r = Perform(curl, request);
    Release(curl);
    return r;
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!idle_.empty()) {
        CURL* c = idle_.back();
        idle_.pop_back();
        return c;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* c) {
    std::lock_guard<std::mutex> l(mu_);
    idle_.push_back(c);
  }

  Result<HttpResponse> Perform(CURL* curl, const HttpRequest& request) {
    if (curl == nullptr) {
      std::string why = CurlLoadError();
      return InternalError(why.empty() ? "curl_easy_init failed" : why);
    }
    curl_easy_reset(curl);
    HttpResponse response;
    Transfer t;
    t.curl = curl;
    t.request = &request;
    t.response = &response;
    // A sink's body ends only where the request says; anything kept in memory is bounded.
    t.max_body = request.max_body >= 0 ? request.max_body
                 : request.body_sink ? -1
                                     : kMaxInMemoryBody;

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    // A trickle is as dead as silence; and every transfer ends by its deadline.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(limits_.low_speed_bytes));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits_.low_speed_seconds));
    int64_t moved = std::max<int64_t>(
        request.expected_size,
        request.body_fd >= 0 ? request.body_length : static_cast<int64_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(TransferDeadline(limits_, moved)));
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (!tls_.verify) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      if (!ca_file_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file_.c_str());
      if (!ca_dir_.empty()) curl_easy_setopt(curl, CURLOPT_CAPATH, ca_dir_.c_str());
      if (!tls_.extra_ca_files.empty()) {
        curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, OnSslContext);
        curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &tls_.extra_ca_files);
      }
    }

    struct curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) {
      headers = curl_slist_append(headers, (k + ": " + v).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");

    const bool has_body = request.body_fd >= 0 || !request.body.empty();
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      // Every method with a (possibly empty) body goes through the upload path
      // so the body streams from the fd; CUSTOMREQUEST renames PUT.
      if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
        int64_t len =
            request.body_fd >= 0 ? request.body_length : static_cast<int64_t>(request.body.size());
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
        curl_easy_setopt(curl, CURLOPT_READDATA, &t);
        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
        curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(len));
      } else if (has_body) {
        curl_slist_free_all(headers);
        return InternalError(request.method + " with a body is not supported");
      }
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);

    if (t.sink_error) return std::move(*t.sink_error);
    if (t.read_error) return std::move(*t.read_error);
    if (rc != CURLE_OK) {
      std::string msg = request.method + " " + request.url + ": " +
                        (errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc));
      switch (rc) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
          return FailedPreconditionError(msg);
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_TOO_MANY_REDIRECTS:
          return UnavailableError(msg);
        default:
          return InternalError(msg);
      }
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    response.status = static_cast<int>(code);
    char* eff = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &eff);
    response.effective_url = eff != nullptr ? eff : request.url;
    return response;
  }

  const TlsOptions tls_;
  const std::string user_agent_;
  const TransferLimits limits_;
  std::string ca_file_;
  std::string ca_dir_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  std::string n = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == n) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::Headers(std::string_view name) const {
  std::string n = Lower(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == n) out.push_back(v);
  }
  return out;
}

std::unique_ptr<Transport> NewCurlTransport(const TlsOptions& tls, std::string user_agent,
                                            TransferLimits limits) {
  return std::make_unique<CurlTransport>(tls, std::move(user_agent), limits);
}

namespace {

// "A:B" of two positive integers from the environment variable `name`, if set.
Result<std::optional<std::pair<int64_t, int64_t>>> EnvPair(const char* name,
                                                           const char* form) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::optional<std::pair<int64_t, int64_t>>();
  std::string s(v);
  size_t colon = s.find(':');
  auto number = [](const std::string& t) -> int64_t {
    if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos) {
      return -1;
    }
    return std::stoll(t);
  };
  int64_t a = colon == std::string::npos ? -1 : number(s.substr(0, colon));
  int64_t b = colon == std::string::npos ? -1 : number(s.substr(colon + 1));
  if (a <= 0 || b <= 0) {
    return InvalidArgumentError(std::string(name) + "=" + s + ": expected " + form +
                                " (two positive integers)");
  }
  return std::optional<std::pair<int64_t, int64_t>>(std::make_pair(a, b));
}

}  // namespace

Result<TransferLimits> TransferLimitsFromEnv() {
  TransferLimits l;
  BLD_ASSIGN_OR_RETURN(auto low, EnvPair("BLD_REGISTRY_LOW_SPEED", "BYTES:SECONDS"));
  if (low) std::tie(l.low_speed_bytes, l.low_speed_seconds) = *low;
  BLD_ASSIGN_OR_RETURN(auto deadline,
                       EnvPair("BLD_REGISTRY_DEADLINE", "SECONDS:BYTES_PER_SECOND"));
  if (deadline) std::tie(l.deadline_seconds, l.deadline_rate) = *deadline;
  return l;
}

int64_t TransferDeadline(const TransferLimits& limits, int64_t bytes) {
  return limits.deadline_seconds + std::max<int64_t>(bytes, 0) / limits.deadline_rate;
}

std::string ResolveUrl(std::string_view base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.starts_with("/")) return Origin(base) + std::string(location);
  // Relative to the base's directory.
  std::string_view b = base.substr(0, base.find('?'));
  size_t slash = b.rfind('/');
  return std::string(b.substr(0, slash + 1)) + std::string(location);
}

}  // namespace bld::registry
