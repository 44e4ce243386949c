// An in-memory registry behind the Transport seam, for unit tests: the
// distribution API subset bld uses, Basic or Bearer auth, and fault injection.
#pragma once

#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "oci/digest.h"
#include "registry/auth.h"
#include "registry/transport.h"

namespace bld::registry::testing {

class FakeRegistry final : public Transport {
 public:
  enum class AuthMode { kNone, kBasic, kBearer };

  // Configuration (set before use).
  AuthMode auth = AuthMode::kNone;
  std::string user = "alice";
  std::string password = "secret";
  bool anonymous_pull = false;  // Bearer: tokens without credentials may pull
  int token_expires_in = 300;
  int64_t chunk_min_length = 0;  // OCI-Chunk-Min-Length on upload starts
  bool speak_https = false;      // false: https requests fail as a plain-HTTP server would
  // Faults: the next N requests (of any kind) fail at the connection level /
  // answer with `fail_status`.
  int fail_connections = 0;
  int fail_status_count = 0;
  int fail_status = 503;
  // The next N requests carrying a valid Bearer token are refused as if it expired.
  int revoke_tokens = 0;
  // Blob GETs of this digest truncate the body (connection dropped mid-body).
  std::string truncate_blob;
  // Blob GETs of this digest serve different content of the same size.
  std::string corrupt_blob;

  // State.
  std::map<std::string, std::string> blobs;                 // digest -> bytes
  std::map<std::string, std::set<std::string>> repo_blobs;  // repo -> digests
  struct StoredManifest {
    std::string media_type, bytes;
  };
  std::map<std::string, StoredManifest> manifests;  // "repo@ref" -> manifest
  std::vector<std::string> log;                     // "METHOD /path?query"
  int token_requests = 0;

  std::string PutBlob(const std::string& repo, const std::string& bytes) {
    std::string d = oci::Digest::Of(bytes).str();
    blobs[d] = bytes;
    repo_blobs[repo].insert(d);
    return d;
  }
  std::string PutManifest(const std::string& repo, const std::string& ref,
                          const std::string& media_type, const std::string& bytes) {
    std::string d = oci::Digest::Of(bytes).str();
    manifests[repo + "@" + ref] = {media_type, bytes};
    manifests[repo + "@" + d] = {media_type, bytes};
    return d;
  }
  int Count(const std::string& prefix) {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& e : log) n += e.starts_with(prefix) ? 1 : 0;
    return n;
  }

  Result<HttpResponse> Do(const HttpRequest& req) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string url = req.url;
    bool https = url.starts_with("https://");
    size_t p = url.find("://");
    size_t slash = url.find('/', p + 3);
    std::string target = url.substr(slash);
    log.push_back(req.method + " " + target);
    if (https && !speak_https) return UnavailableError("SSL: wrong version number");
    if (!https && speak_https)
      return Respond(400, "Client sent an HTTP request to an HTTPS server.\n");
    if (fail_connections > 0) {
      --fail_connections;
      return UnavailableError("connection reset by peer");
    }
    if (fail_status_count > 0) {
      --fail_status_count;
      return Respond(fail_status, R"({"errors":[{"code":"UNAVAILABLE","message":"try later"}]})");
    }
    std::string path = target.substr(0, target.find('?'));
    std::map<std::string, std::string> query;
    if (size_t q = target.find('?'); q != std::string::npos) {
      std::string qs = target.substr(q + 1);
      size_t i = 0;
      while (i <= qs.size()) {
        size_t amp = qs.find('&', i);
        std::string kv = qs.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
        size_t eq = kv.find('=');
        if (eq != std::string::npos) {
          std::string k = kv.substr(0, eq), v = Unescape(kv.substr(eq + 1));
          query[k] = query.count(k) ? query[k] + " " + v : v;  // repeated: space-joined
        }
        if (amp == std::string::npos) break;
        i = amp + 1;
      }
    }
    if (path == "/token") return Token(req, query);
    if (!path.starts_with("/v2/")) return Respond(404, "");

    const bool write = req.method != "GET" && req.method != "HEAD";
    std::string repo = RepoOf(path);
    if (auto denied = CheckAuth(req, repo, write)) return *denied;
    if (path == "/v2/") return Respond(200, "{}");

    // /v2/<repo>/manifests/<ref>
    if (size_t m = path.find("/manifests/"); m != std::string::npos) {
      std::string ref = path.substr(m + 11);
      if (req.method == "PUT") {
        std::string ct;
        for (const auto& [k, v] : req.headers) {
          if (k == "Content-Type") ct = v;
        }
        std::string d = PutManifest(repo, ref, ct, req.body);
        return Respond(201, "", {{"docker-content-digest", d}});
      }
      auto it = manifests.find(repo + "@" + ref);
      if (it == manifests.end()) {
        return Respond(404,
                       R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      }
      HttpResponse r = Respond(200, req.method == "HEAD" ? "" : it->second.bytes,
                               {{"content-type", it->second.media_type},
                                {"docker-content-digest", oci::Digest::Of(it->second.bytes).str()},
                                {"content-length", std::to_string(it->second.bytes.size())}});
      return r;
    }
    // /v2/<repo>/blobs/uploads/...
    if (size_t u = path.find("/blobs/uploads/"); u != std::string::npos) {
      std::string id = path.substr(u + 15);
      if (req.method == "POST") {
        if (query.count("mount")) {
          const std::string& from = query["from"];
          if (repo_blobs[from].count(query["mount"])) {
            repo_blobs[repo].insert(query["mount"]);
            return Respond(201, "", {{"location", "/v2/" + repo + "/blobs/" + query["mount"]}});
          }
        }
        std::string nid = "u" + std::to_string(++next_upload_);
        uploads_[nid] = "";
        HttpHeaders h = {{"location", "/v2/" + repo + "/blobs/uploads/" + nid + "?_state=x"}};
        if (chunk_min_length > 0)
          h.emplace_back("oci-chunk-min-length", std::to_string(chunk_min_length));
        return Respond(202, "", h);
      }
      auto up = uploads_.find(id);
      if (up == uploads_.end()) {
        return Respond(
            404, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]})");
      }
      std::string body = Body(req);
      if (req.method == "PATCH") {
        std::string range;
        for (const auto& [k, v] : req.headers) {
          if (k == "Content-Range") range = v;
        }
        if (range.empty() || std::stoll(range) != static_cast<long long>(up->second.size())) {
          return Respond(416,
                         R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"bad range"}]})");
        }
        if (chunk_min_length > 0 && static_cast<int64_t>(body.size()) < chunk_min_length) {
          // Only the last chunk may be short; we cannot know here, so record it.
          short_chunks.push_back(static_cast<int64_t>(body.size()));
        }
        chunk_sizes.push_back(static_cast<int64_t>(body.size()));
        up->second += body;
        return Respond(202, "",
                       {{"location", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=y"},
                        {"range", "0-" + std::to_string(up->second.size() - 1)}});
      }
      if (req.method == "PUT") {
        up->second += body;
        std::string d = oci::Digest::Of(up->second).str();
        if (d != query["digest"]) {
          return Respond(
              400,
              R"({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]})");
        }
        blobs[d] = up->second;
        repo_blobs[repo].insert(d);
        uploads_.erase(up);
        return Respond(201, "", {{"docker-content-digest", d}});
      }
    }
    // /v2/<repo>/blobs/<digest>
    if (size_t b = path.find("/blobs/"); b != std::string::npos) {
      std::string d = path.substr(b + 7);
      if (!repo_blobs[repo].count(d)) {
        return Respond(
            404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
      }
      std::string content = blobs[d];
      if (req.method == "HEAD")
        return Respond(200, "", {{"content-length", std::to_string(content.size())}});
      if (d == corrupt_blob && !content.empty()) content[0] ^= 1;
      if (req.body_sink) {
        if (d == truncate_blob) {
          Status s = req.body_sink(content.substr(0, content.size() / 2));
          if (!s.ok()) return s.error();
          return UnavailableError("transfer closed with outstanding read data remaining");
        }
        Status s = req.body_sink(content);
        if (!s.ok()) return s.error();
        return Respond(200, "");
      }
      return Respond(200, content);
    }
    return Respond(404, "");
  }

  std::vector<int64_t> chunk_sizes;
  std::vector<int64_t> short_chunks;

 private:
  static std::string Unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string RepoOf(const std::string& path) {
    for (const char* marker : {"/manifests/", "/blobs/"}) {
      if (size_t m = path.find(marker); m != std::string::npos) return path.substr(4, m - 4);
    }
    return "";
  }
  static std::string Body(const HttpRequest& req) {
    if (req.body_fd < 0) return req.body;
    std::string out(static_cast<size_t>(req.body_length), '\0');
    ssize_t n = ::pread(req.body_fd, out.data(), out.size(), req.body_offset);
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }
  static HttpResponse Respond(int status, std::string body, HttpHeaders headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.effective_url = "http://fake";
    return r;
  }
  std::string AuthHeader(const HttpRequest& req) {
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization") return v;
    }
    return "";
  }
  std::optional<HttpResponse> CheckAuth(const HttpRequest& req, const std::string& repo,
                                        bool write) {
    std::string h = AuthHeader(req);
    if (auth == AuthMode::kNone) return std::nullopt;
    std::string unauthorized =
        R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
    if (auth == AuthMode::kBasic) {
      if (h == "Basic " + EncodeBase64(user + ":" + password)) return std::nullopt;
      return Respond(401, unauthorized, {{"www-authenticate", R"(Basic realm="fake")"}});
    }
    // Bearer tokens look like "tok:<scopes granted>".
    std::string action = write ? "push" : "pull";
    std::string scope = "repository:" + repo + ":" + (write ? "pull,push" : "pull");
    if (h.starts_with("Bearer tok:") && revoke_tokens > 0) {
      --revoke_tokens;
    } else if (h.starts_with("Bearer tok:")) {
      std::string granted = h.substr(11);
      if (repo.empty() || granted.find("repository:" + repo + ":") != std::string::npos) {
        if (!write || granted.find("repository:" + repo + ":pull,push") != std::string::npos) {
          return std::nullopt;
        }
      }
    }
    return Respond(
        401, unauthorized,
        {{"www-authenticate", R"(Bearer realm="http://fake/token",service="fake")" +
                                  std::string(repo.empty() ? "" : ",scope=\"" + scope + "\"")}});
  }
  HttpResponse Token(const HttpRequest& req, std::map<std::string, std::string>& query) {
    ++token_requests;
    std::string h = AuthHeader(req);
    bool authed = h == "Basic " + EncodeBase64(user + ":" + password);
    if (!h.empty() && !authed) {
      return Respond(
          401, R"({"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]})");
    }
    std::string granted;
    if (authed || anonymous_pull) {
      granted = query["scope"];
      for (size_t at; !authed && (at = granted.find(",push")) != std::string::npos;) {
        granted.erase(at, 5);
      }
    }
    return Respond(200, R"({"token":"tok:)" + granted + R"(","expires_in":)" +
                            std::to_string(token_expires_in) + "}");
  }

  std::mutex mu_;
  std::map<std::string, std::string> uploads_;
  int next_upload_ = 0;
};

}  // namespace bld::registry::testing
