#include "registry/client.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace bld::registry {

namespace {

using nlohmann::json;

constexpr int64_t kMaxManifestSize = 4 << 20;

std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

// The scopes of a challenge's space-separated scope parameter.
std::vector<std::string> ParseScopes(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t sp = s.find(' ');
    if (sp != 0) out.emplace_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Media type from a Content-Type value, without parameters.
std::string BareMediaType(std::string_view ct) {
  std::string_view s = ct.substr(0, ct.find(';'));
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::string AppendQuery(const std::string& url, std::string_view param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(param);
}

std::string HostOnly(std::string_view host) {
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? host.size() : close - 1));
  }
  size_t first = host.find(':');
  if (first != std::string_view::npos && host.find(':', first + 1) == std::string_view::npos) {
    return std::string(host.substr(0, first));
  }
  return std::string(host);
}

std::vector<std::string> CaFilesFor(const std::string& host) {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("BLD_CERTS_DIR"); d != nullptr && *d != '\0') {
    dirs.push_back(d);
  } else {
    dirs = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
  }
  std::vector<std::string> files;
  for (const std::string& dir : dirs) {
    std::string hd = JoinPath(dir, host);
    auto names = ListDir(hd);
    if (!names.ok()) continue;
    std::sort(names->begin(), names->end());
    for (const std::string& n : *names) {
      if (n.ends_with(".crt")) files.push_back(JoinPath(hd, n));
    }
  }
  return files;
}

}  // namespace

bool IsLoopbackRegistry(std::string_view host) {
  std::string h = HostOnly(host);
  return h == "localhost" || h == "::1" || h.starts_with("127.");
}

bool IsListedInsecure(std::string_view host) {
  const char* env = std::getenv("BLD_INSECURE_REGISTRIES");
  if (env == nullptr) return false;
  std::string_view list(env);
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && (item == host || item == HostOnly(host))) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::vector<std::pair<int64_t, int64_t>> PlanChunks(int64_t size, int64_t chunk_size,
                                                    int64_t min_chunk) {
  int64_t chunk = std::max<int64_t>({chunk_size, min_chunk, 1});
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t off = 0; off < size; off += chunk) {
    out.emplace_back(off, std::min(chunk, size - off));
  }
  return out;
}

Error ResponseError(std::string_view what, const HttpResponse& r) {
  std::string msg(what);
  msg += ": " + std::to_string(r.status);
  if (auto reason = ReasonPhrase(r.status); !reason.empty()) msg += " " + std::string(reason);
  json j = json::parse(r.body, nullptr, false);
  std::vector<std::string> parts;
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      std::string p = e.value("code", "");
      std::string m = e.value("message", "");
      if (!m.empty()) p += (p.empty() ? "" : ": ") + m;
      if (!p.empty()) parts.push_back(p);
    }
  }
  if (!parts.empty()) msg += ": " + Join(parts, "; ");
  ErrorCode code = ErrorCode::kFailedPrecondition;
  if (r.status == 401)
    code = ErrorCode::kUnauthenticated;
  else if (r.status == 403)
    code = ErrorCode::kPermissionDenied;
  else if (r.status == 404)
    code = ErrorCode::kNotFound;
  else if (r.status == 429 || r.status >= 500)
    code = ErrorCode::kUnavailable;
  return Error(code, msg);
}

oci::Descriptor FetchedManifest::descriptor() const {
  oci::Descriptor d;
  d.media_type = media_type;
  d.digest = digest;
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

Result<std::unique_ptr<Client>> Client::Create(std::string registry, ClientOptions options,
                                               std::shared_ptr<Transport> transport) {
  if (registry.empty()) return InvalidArgumentError("empty registry name");
  std::string host = registry == "docker.io" ? "registry-1.docker.io" : registry;
  if (transport == nullptr) {
    TlsOptions tls;
    tls.verify = options.tls_verify;
    tls.extra_ca_files = CaFilesFor(host);
    BLD_ASSIGN_OR_RETURN(TransferLimits limits, TransferLimitsFromEnv());
    transport = NewCurlTransport(tls, options.user_agent, limits);
  }
  return std::unique_ptr<Client>(
      new Client(std::move(registry), std::move(host), std::move(options), std::move(transport)));
}

std::string Client::base_url() {
  std::lock_guard<std::mutex> l(mu_);
  return base_url_;
}

void Client::Backoff(int attempt, const HttpResponse* response) {
  auto delay = options_.retry.initial_backoff * (1LL << std::min(attempt - 1, 16));
  if (delay > options_.retry.max_backoff) delay = options_.retry.max_backoff;
  if (response != nullptr) {
    if (auto ra = response->Header("retry-after")) {
      char* end = nullptr;
      long secs = std::strtol(ra->c_str(), &end, 10);
      if (end != ra->c_str() && secs >= 0) {
        delay = std::min<std::chrono::milliseconds>(std::chrono::seconds(secs),
                                                    std::chrono::seconds(10));
      }
    }
  }
  std::this_thread::sleep_for(delay);
}

Result<HttpResponse> Client::DoWithRetry(const HttpRequest& request, bool idempotent) {
  const int attempts = std::max(1, options_.retry.attempts);
  for (int attempt = 1;; ++attempt) {
    ++requests_sent_;
    Result<HttpResponse> r = transport_->Do(request);
    bool last = !idempotent || attempt >= attempts;
    if (!r.ok()) {
      if (last || !r.error().Is(ErrorCode::kUnavailable)) {
        if (attempt > 1) return std::move(r).error().Wrap("after " + std::to_string(attempt) + " tries");
        return r;
      }
      BLD_LOG(kWarn) << r.error().message() << "; retrying (" << attempt << "/" << attempts << ")";
      Backoff(attempt, nullptr);
      continue;
    }
    if (!last && (r->status >= 500 || r->status == 429)) {
      BLD_LOG(kWarn) << request.method << " " << request.url << ": " << r->status << "; retrying ("
                     << attempt << "/" << attempts << ")";
      Backoff(attempt, &*r);
      continue;
    }
    return r;
  }
}

Status Client::Ping() {
  std::lock_guard<std::mutex> l(mu_);
  if (pinged_) return Ok();
  return PingLocked();
}

Status Client::PingLocked() {
  const bool http_allowed =
      !options_.tls_verify || IsLoopbackRegistry(host_) || IsListedInsecure(host_);
  HttpRequest req;
  Result<HttpResponse> r = UnavailableError("not probed");
  if (IsLoopbackRegistry(host_)) {
    // Local registries usually speak plain HTTP: ask that first, which saves a
    // TLS setup per command. A TLS server answers plain HTTP with 400.
    req.url = "http://" + host_ + "/v2/";
    r = DoWithRetry(req, false);
    if (r.ok() && r->status != 200 && r->status != 401) r = UnavailableError("not plain HTTP");
  }
  if (!r.ok()) {
    req.url = "https://" + host_ + "/v2/";
    // When plain HTTP is an option, a failed https probe is not retried.
    r = DoWithRetry(req, !http_allowed);
  }
  if (!r.ok() && http_allowed && !r.error().Is(ErrorCode::kFailedPrecondition)) {
    req.url = "http://" + host_ + "/v2/";
    Result<HttpResponse> plain = DoWithRetry(req, true);
    if (plain.ok()) {
      r = std::move(plain);
    } else {
      return Error(plain.error().code(), registry_ + ": cannot reach the registry over https (" +
                                             r.error().message() + ") or http (" +
                                             plain.error().message() + ")");
    }
  }
  if (!r.ok()) {
    if (r.error().Is(ErrorCode::kFailedPrecondition)) {
      return r.error().Wrap(registry_ +
                            ": TLS certificate not trusted (trust the registry's CA with "
                            "SSL_CERT_FILE or /etc/containers/certs.d/" +
                            host_ + "/ca.crt, or use --tls-verify=false)");
    }
    return r.error().Wrap(registry_ + ": cannot reach the registry");
  }
  base_url_ = req.url.substr(0, req.url.size() - 4);  // without "/v2/"
  if (r->status == 401) {
    for (const Challenge& c : ParseChallenges(r->Header("www-authenticate").value_or(""))) {
      if (c.scheme == "bearer" || c.scheme == "basic") {
        challenge_ = c;
        break;
      }
    }
  } else if (r->status != 200) {
    return ResponseError(registry_ + ": GET /v2/ (is this an OCI registry?)", *r);
  }
  pinged_ = true;
  return Ok();
}

Result<std::string> Client::Authorization(const std::vector<std::string>& scopes, bool force) {
  std::lock_guard<std::mutex> l(mu_);
  if (!challenge_) return std::string();
  if (!credentials_loaded_) {
    if (options_.credentials) {
      credentials_ = options_.credentials;
    } else if (options_.lookup_credentials) {
      auto c = LookupCredentials(registry_);
      if (!c.ok()) return std::move(c).error().Wrap("credentials for " + registry_);
      credentials_ = *c;
    }
    credentials_loaded_ = true;
  }
  if (challenge_->scheme == "basic") {
    if (!credentials_ || credentials_->username.empty()) return std::string();
    return "Basic " + EncodeBase64(credentials_->username + ":" + credentials_->password);
  }
  const std::string key = Join(scopes, " ");
  auto now = std::chrono::steady_clock::now();
  if (!force) {
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.expiry > now) return "Bearer " + it->second.value;
  }
  BLD_ASSIGN_OR_RETURN(std::string token, FetchToken(*challenge_, scopes));
  return "Bearer " + token;
}

Result<std::string> Client::FetchToken(const Challenge& challenge,
                                       const std::vector<std::string>& scopes) {
  const std::string realm = challenge.Param("realm");
  if (realm.empty()) {
    return UnauthenticatedError(registry_ + ": Bearer challenge without a realm");
  }
  const std::string service = challenge.Param("service");
  ++token_fetches_;
  HttpRequest req;
  const bool refresh = credentials_ && !credentials_->identity_token.empty();
  if (refresh) {
    req.method = "POST";
    req.url = realm;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=bld&refresh_token=" +
               UrlEncode(credentials_->identity_token) + "&service=" + UrlEncode(service);
    if (!scopes.empty()) req.body += "&scope=" + UrlEncode(Join(scopes, " "));
  } else {
    std::string url = realm;
    if (!service.empty()) url = AppendQuery(url, "service=" + UrlEncode(service));
    for (const std::string& s : scopes) url = AppendQuery(url, "scope=" + UrlEncode(s));
    req.url = url;
    if (credentials_ && !credentials_->username.empty()) {
      req.headers.emplace_back(
          "Authorization",
          "Basic " + EncodeBase64(credentials_->username + ":" + credentials_->password));
    }
  }
  BLD_ASSIGN_OR_RETURN(HttpResponse r, DoWithRetry(req, true));
  if (r.status == 401 || r.status == 403) {
    Error e = ResponseError(registry_ + ": token server " + realm, r);
    std::string hint = credentials_
                           ? "; check the username and password (bld login " + registry_ + ")"
                           : "; log in with: bld login " + registry_;
    return UnauthenticatedError(registry_ + ": unauthorized: authentication failed (" +
                                e.message() + ")" + hint);
  }
  if (r.status != 200) return ResponseError(registry_ + ": token server " + realm, r);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return UnauthenticatedError(registry_ + ": token server " + realm + " answered no JSON");
  }
  std::string token = j.value("token", "");
  if (token.empty()) token = j.value("access_token", "");
  if (token.empty()) {
    return UnauthenticatedError(registry_ + ": token server " + realm + " answered no token");
  }
  int64_t expires_in = 60;
  if (j.contains("expires_in") && j["expires_in"].is_number()) {
    expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 1);
  }
  // Stop using a token a little before the server does.
  auto expiry = std::chrono::steady_clock::now() +
                std::chrono::seconds(expires_in > 20 ? expires_in - 10 : expires_in / 2);
  tokens_[Join(scopes, " ")] = Token{token, expiry};
  return token;
}

Result<HttpResponse> Client::Send(HttpRequest request, const std::vector<std::string>& scopes,
                                  bool idempotent) {
  BLD_TRY(Ping());
  if (request.url.starts_with("/")) request.url = base_url() + request.url;
  std::vector<std::string> want = scopes;
  BLD_ASSIGN_OR_RETURN(std::string auth, Authorization(want, false));
  for (bool retried_auth = false;; retried_auth = true) {
    HttpRequest r = request;
    if (!auth.empty()) r.headers.emplace_back("Authorization", auth);
    BLD_ASSIGN_OR_RETURN(HttpResponse resp, DoWithRetry(r, idempotent));
    if (resp.status != 401 || retried_auth) return resp;
    // Learn (or re-learn) the challenge and try once more with fresh authorization.
    std::optional<Challenge> chosen;
    for (const Challenge& c : ParseChallenges(resp.Header("www-authenticate").value_or(""))) {
      if (c.scheme == "bearer" || c.scheme == "basic") {
        chosen = c;
        break;
      }
    }
    if (!chosen) return resp;
    {
      std::lock_guard<std::mutex> l(mu_);
      challenge_ = chosen;
    }
    if (chosen->scheme == "bearer") {
      for (const std::string& s : ParseScopes(chosen->Param("scope"))) {
        if (std::find(want.begin(), want.end(), s) == want.end()) want.push_back(s);
      }
    }
    BLD_ASSIGN_OR_RETURN(auth, Authorization(want, true));
    if (auth.empty()) return resp;  // no credentials for Basic: the 401 stands
  }
}

Error Client::Fail(const std::string& repo, std::string_view what, const HttpResponse& response) {
  Error e = ResponseError(Context(repo) + ": " + std::string(what), response);
  if (response.status != 401) return e;
  bool have;
  {
    std::lock_guard<std::mutex> l(mu_);
    have = credentials_.has_value() && !credentials_->empty();
  }
  return Error(e.code(),
               e.message() + (have ? " (check the credentials: bld login " + registry_ + ")"
                                   : " (log in with: bld login " + registry_ + ")"));
}

Status Client::CheckLogin() {
  BLD_TRY(Ping());
  std::optional<Challenge> challenge;
  {
    std::lock_guard<std::mutex> l(mu_);
    challenge = challenge_;
  }
  if (!challenge) return Ok();  // the registry asks for no authentication
  if (challenge->scheme == "bearer") {
    std::lock_guard<std::mutex> l(mu_);
    credentials_ = options_.credentials;
    credentials_loaded_ = true;
    auto token = FetchToken(*challenge, {});
    if (!token.ok()) return std::move(token).error();
    return Ok();
  }
  HttpRequest req;
  req.url = "/v2/";
  BLD_ASSIGN_OR_RETURN(HttpResponse r, Send(req, {}, true));
  if (r.status == 200) return Ok();
  if (r.status == 401) {
    return UnauthenticatedError(registry_ +
                                ": unauthorized: the registry rejected the username "
                                "or password");
  }
  return ResponseError(registry_ + ": GET /v2/", r);
}

Result<FetchedManifest> Client::GetManifest(const std::string& repo, const std::string& reference) {
  const std::string path = "/v2/" + repo + "/manifests/" + reference;
  HttpRequest req;
  req.url = path;
  req.headers.emplace_back(
      "Accept", std::string(oci::kMediaTypeOciIndex) + ", " +
                    std::string(oci::kMediaTypeOciManifest) + ", " +
                    std::string(oci::kMediaTypeDockerManifestList) + ", " +
                    std::string(oci::kMediaTypeDockerManifest) + ", " +
                    std::string(oci::kMediaTypeDockerManifestSchema1Signed) + ";q=0.1, " +
                    std::string(oci::kMediaTypeDockerManifestSchema1) + ";q=0.1");
  // The cap holds while the body streams in (each try starts from an empty body).
  req.max_body = kMaxManifestSize;
  req.expected_size = kMaxManifestSize;
  Result<HttpResponse> sent = Send(req, {"repository:" + repo + ":pull"}, true);
  if (!sent.ok()) return std::move(sent).error().Wrap(Context(repo) + ": manifest " + reference);
  HttpResponse r = std::move(*sent);
  if (r.status != 200) return Fail(repo, "GET " + path, r);
  FetchedManifest m;
  m.bytes = std::move(r.body);
  m.digest = oci::Digest::Of(m.bytes);
  m.media_type = BareMediaType(r.Header("content-type").value_or(""));
  if (!oci::IsIndexMediaType(m.media_type) && !oci::IsManifestMediaType(m.media_type) &&
      m.media_type != oci::kMediaTypeDockerManifestSchema1 &&
      m.media_type != oci::kMediaTypeDockerManifestSchema1Signed) {
    auto detected = oci::DetectMediaType(m.bytes);
    if (!detected.ok()) {
      return std::move(detected).error().Wrap(Context(repo) + ": manifest " + reference);
    }
    m.media_type = *detected;
  }
  if (m.media_type == oci::kMediaTypeDockerManifestSchema1 ||
      m.media_type == oci::kMediaTypeDockerManifestSchema1Signed) {
    return FailedPreconditionError(
        Context(repo) + ":" + reference + ": the registry serves a Docker schema 1 manifest (" +
        m.media_type + "), which bld does not support; re-push the image with a current tool");
  }
  if (reference.starts_with("sha256:") && m.digest.str() != reference) {
    return FailedPreconditionError(Context(repo) + ": manifest " + reference +
                                   ": the registry served content with digest " + m.digest.str());
  }
  // The registry's word for what the tag points at must be what it sent (containerd
  // rejects a mismatch too): a proxy or a registry bug must not tag other content.
  if (auto dcd = r.Header("docker-content-digest"); dcd && *dcd != m.digest.str()) {
    return FailedPreconditionError(Context(repo) + ": manifest " + reference +
                                   ": Docker-Content-Digest says " + *dcd +
                                   " but the content served has digest " + m.digest.str());
  }
  return m;
}

Result<std::optional<oci::Descriptor>> Client::HeadManifest(const std::string& repo,
                                                            const std::string& reference) {
  const std::string path = "/v2/" + repo + "/manifests/" + reference;
  HttpRequest req;
  req.method = "HEAD";
  req.url = path;
  req.headers.emplace_back("Accept", std::string(oci::kMediaTypeOciIndex) + ", " +
                                         std::string(oci::kMediaTypeOciManifest) + ", " +
                                         std::string(oci::kMediaTypeDockerManifestList) + ", " +
                                         std::string(oci::kMediaTypeDockerManifest));
  BLD_ASSIGN_OR_RETURN(HttpResponse r, Send(req, {"repository:" + repo + ":pull"}, true));
  if (r.status == 404) return std::optional<oci::Descriptor>();
  if (r.status != 200) return Fail(repo, "HEAD " + path, r);
  auto dcd = r.Header("docker-content-digest");
  if (!dcd) return std::optional<oci::Descriptor>();
  auto digest = oci::Digest::Parse(*dcd);
  if (!digest.ok()) return std::optional<oci::Descriptor>();
  oci::Descriptor d;
  d.media_type = BareMediaType(r.Header("content-type").value_or(""));
  d.digest = *digest;
  d.size = std::strtoll(r.Header("content-length").value_or("0").c_str(), nullptr, 10);
  return std::optional<oci::Descriptor>(d);
}

Result<oci::Digest> Client::PutManifest(const std::string& repo, const std::string& reference,
                                        const std::string& media_type, const std::string& bytes) {
  const std::string path = "/v2/" + repo + "/manifests/" + reference;
  HttpRequest req;
  req.method = "PUT";
  req.url = path;
  req.headers.emplace_back("Content-Type", media_type);
  req.body = bytes;
  BLD_ASSIGN_OR_RETURN(HttpResponse r, Send(req, {"repository:" + repo + ":pull,push"}, true));
  if (r.status < 200 || r.status >= 300) return Fail(repo, "PUT " + path, r);
  oci::Digest ours = oci::Digest::Of(bytes);
  if (auto dcd = r.Header("docker-content-digest"); dcd && *dcd != ours.str()) {
    return FailedPreconditionError(Context(repo) + ": PUT " + path +
                                   ": the registry reports digest " + *dcd +
                                   " for a manifest whose digest is " + ours.str());
  }
  return ours;
}

Status Client::FetchBlob(const std::string& repo, const oci::Digest& digest, int64_t size,
                         const std::function<Status()>& reset,
                         const std::function<Status(std::string_view)>& write) {
  const std::string path = "/v2/" + repo + "/blobs/" + digest.str();
  const int attempts = std::max(1, options_.retry.attempts);
  for (int attempt = 1;; ++attempt) {
    BLD_TRY(reset());
    HttpRequest req;
    req.url = path;
    req.expected_size = size;  // its deadline
    std::optional<Error> write_error;
    req.body_sink = [&](std::string_view data) -> Status {
      Status s = write(data);
      if (!s.ok()) write_error = s.error();
      return s;
    };
    Result<HttpResponse> r = Send(req, {"repository:" + repo + ":pull"}, false);
    if (write_error) return std::move(*write_error).Wrap(Context(repo) + ": GET " + path);
    if (r.ok() && r->status == 200) return Ok();
    Error err = r.ok() ? Fail(repo, "GET " + path, *r)
                       : r.error().Wrap(Context(repo) + ": blob " + digest.str());
    if (!err.Is(ErrorCode::kUnavailable) || attempt >= attempts) {
      if (attempt > 1) return err.Wrap("after " + std::to_string(attempt) + " tries");
      return err;
    }
    BLD_LOG(kWarn) << err.message() << "; retrying (" << attempt << "/" << attempts << ")";
    Backoff(attempt, r.ok() ? &*r : nullptr);
  }
}

Result<bool> Client::BlobExists(const std::string& repo, const oci::Digest& digest) {
  const std::string path = "/v2/" + repo + "/blobs/" + digest.str();
  HttpRequest req;
  req.method = "HEAD";
  req.url = path;
  BLD_ASSIGN_OR_RETURN(HttpResponse r, Send(req, {"repository:" + repo + ":pull,push"}, true));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return Fail(repo, "HEAD " + path, r);
}

Result<Client::UploadOutcome> Client::UploadBlob(const std::string& repo, const oci::Digest& digest,
                                                 int64_t size, int fd,
                                                 const std::optional<std::string>& mount_from) {
  const int attempts = std::max(1, options_.retry.attempts);
  for (int attempt = 1;; ++attempt) {
    Result<UploadOutcome> r = UploadOnce(repo, digest, size, fd, mount_from);
    if (r.ok()) return r;
    if (!r.error().Is(ErrorCode::kUnavailable) || attempt >= attempts) {
      if (attempt > 1) return r.error().Wrap("after " + std::to_string(attempt) + " tries");
      return r;
    }
    BLD_LOG(kWarn) << r.error().message() << "; retrying (" << attempt << "/" << attempts << ")";
    Backoff(attempt, nullptr);
  }
}

Result<Client::UploadOutcome> Client::UploadOnce(const std::string& repo, const oci::Digest& digest,
                                                 int64_t size, int fd,
                                                 const std::optional<std::string>& mount_from) {
  std::vector<std::string> scopes = {"repository:" + repo + ":pull,push"};
  std::string path = "/v2/" + repo + "/blobs/uploads/";
  if (mount_from) {
    scopes.push_back("repository:" + *mount_from + ":pull");
    path += "?mount=" + digest.str() + "&from=" + UrlEncode(*mount_from);
  }
  HttpRequest start;
  start.method = "POST";
  start.url = path;
  BLD_ASSIGN_OR_RETURN(HttpResponse r, Send(start, scopes, false));
  if (mount_from && r.status == 201) return UploadOutcome::kMounted;
  if (r.status != 202) return Fail(repo, "POST " + path, r);
  auto loc = r.Header("location");
  if (!loc) {
    return FailedPreconditionError(Context(repo) + ": POST " + path +
                                   ": the registry answered 202 without a Location");
  }
  std::string location = ResolveUrl(r.effective_url, *loc);
  int64_t min_chunk = 0;
  if (auto m = r.Header("oci-chunk-min-length")) min_chunk = std::strtoll(m->c_str(), nullptr, 10);

  if (size > options_.monolithic_upload_max) {
    for (const auto& [off, len] : PlanChunks(size, options_.upload_chunk_size, min_chunk)) {
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = location;
      patch.headers.emplace_back("Content-Type", "application/octet-stream");
      patch.headers.emplace_back("Content-Range",
                                 std::to_string(off) + "-" + std::to_string(off + len - 1));
      patch.body_fd = fd;
      patch.body_offset = off;
      patch.body_length = len;
      BLD_ASSIGN_OR_RETURN(HttpResponse pr, Send(patch, {scopes[0]}, false));
      if (pr.status != 202 && pr.status != 204) {
        return Fail(repo, "PATCH upload of " + digest.str() + " at offset " + std::to_string(off),
                    pr);
      }
      if (auto l = pr.Header("location")) location = ResolveUrl(pr.effective_url, *l);
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = AppendQuery(location, "digest=" + UrlEncode(digest.str()));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  if (size <= options_.monolithic_upload_max) {
    put.body_fd = fd;
    put.body_offset = 0;
    put.body_length = size;
  }
  BLD_ASSIGN_OR_RETURN(HttpResponse fr, Send(put, {scopes[0]}, false));
  if (fr.status != 201 && fr.status != 204 && fr.status != 200) {
    return Fail(repo, "PUT upload of " + digest.str(), fr);
  }
  if (auto dcd = fr.Header("docker-content-digest"); dcd && *dcd != digest.str()) {
    return FailedPreconditionError(Context(repo) + ": upload of " + digest.str() +
                                   ": the registry stored digest " + *dcd);
  }
  return UploadOutcome::kUploaded;
}

}  // namespace bld::registry
