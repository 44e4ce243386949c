#include "tests/registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "base/file.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace bld::testing {

namespace {

using nlohmann::json;

// bcrypt (cost 4, fast) of kTestPassword, as `htpasswd -nbB -C 4` writes it.
constexpr char kHtpasswd[] = "alice:$2y$04$9iu8rz/vq9MnMeoWvOeek.Oc179kx1a9mbXfpdpgifagyhjx7oURW\n";

Status RunOk(const std::vector<std::string>& argv) {
  auto r = RunCommand(argv);
  if (!r.ok()) return r.error();
  if (r->exit_code != 0) {
    return InternalError(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + r->err);
  }
  return Ok();
}

std::string Base64(std::string_view data, bool url) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  if (url) {
    for (char& c : out) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    while (!out.empty() && out.back() == '=') out.pop_back();
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool WriteAllFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Result<UniqueFd> ConnectLoopback(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    return ErrnoError("connect 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

}  // namespace

int FreePort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return -1;
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// --- TcpServer ---

TcpServer::~TcpServer() { Stop(); }

Status TcpServer::Listen() {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) return ErrnoError("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    return ErrnoError("bind");
  }
  if (::listen(listener_.get(), 64) < 0) return ErrnoError("listen");
  socklen_t len = sizeof a;
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      workers_.emplace_back([this, c] { Serve(UniqueFd(c)); });
    }
  });
  return Ok();
}

void TcpServer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

// --- TokenServer ---

Result<std::unique_ptr<TokenServer>> TokenServer::Start(const std::string& dir) {
  auto s = std::unique_ptr<TokenServer>(new TokenServer());
  s->key_file_ = dir + "/token.key";
  s->cert_file_ = dir + "/token.crt";
  BLD_TRY(RunOk({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 s->key_file_, "-out", s->cert_file_, "-days", "2", "-subj", "/CN=bld-test-token",
                 "-addext", "basicConstraints=critical,CA:TRUE"}));
  FILE* kf = std::fopen(s->key_file_.c_str(), "r");
  if (kf == nullptr) return ErrnoError("open " + s->key_file_);
  s->key_ = PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr);
  std::fclose(kf);
  FILE* cf = std::fopen(s->cert_file_.c_str(), "r");
  if (cf == nullptr) return ErrnoError("open " + s->cert_file_);
  X509* cert = PEM_read_X509(cf, nullptr, nullptr, nullptr);
  std::fclose(cf);
  if (s->key_ == nullptr || cert == nullptr) return InternalError("read token key/cert");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  s->cert_der_b64_ = Base64(std::string_view(reinterpret_cast<char*>(der), n), false);
  OPENSSL_free(der);
  X509_free(cert);
  BLD_TRY(s->Listen());
  return s;
}

TokenServer::~TokenServer() {
  Stop();
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

std::string TokenServer::realm() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/token";
}

void TokenServer::Serve(UniqueFd conn) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos) {
    pollfd p{conn.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    ssize_t n = ::read(conn.get(), buf, sizeof buf);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  ++requests_;
  auto respond = [&](int status, const std::string& body) {
    std::string head =
        "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Unauthorized") +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n";
    WriteAllFd(conn.get(), head + body);
  };
  // Request line and headers.
  std::istringstream in(req);
  std::string method, target;
  in >> method >> target;
  std::string user, password;
  bool has_auth = false;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && line != "\r") {
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.starts_with("authorization: basic ")) {
      std::string b64 = line.substr(21);
      while (!b64.empty() && (b64.back() == '\r' || b64.back() == ' ')) b64.pop_back();
      std::string dec(b64.size(), '\0');
      int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(dec.data()),
                              reinterpret_cast<const unsigned char*>(b64.data()),
                              static_cast<int>(b64.size()));
      if (n < 0) n = 0;
      dec.resize(static_cast<size_t>(n));
      while (!dec.empty() && dec.back() == '\0') dec.pop_back();
      size_t colon = dec.find(':');
      user = dec.substr(0, colon);
      password = colon == std::string::npos ? "" : dec.substr(colon + 1);
      has_auth = true;
    }
  }
  bool authed = has_auth && user == kTestUser && password == kTestPassword;
  if (has_auth && !authed) {
    respond(401,
            R"({"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]})");
    return;
  }
  std::string service;
  std::vector<std::string> scopes;
  size_t q = target.find('?');
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    std::istringstream parts(qs);
    std::string kv;
    while (std::getline(parts, kv, '&')) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string k = kv.substr(0, eq), v = Unescape(kv.substr(eq + 1));
      if (k == "service") service = v;
      if (k == "scope") {
        std::istringstream ss(v);
        std::string one;
        while (ss >> one) scopes.push_back(one);
      }
    }
  }
  json access = json::array();
  for (const std::string& s : scopes) {
    // repository:NAME:ACTIONS (NAME may not contain ':' here).
    size_t a = s.find(':'), b = s.rfind(':');
    if (a == std::string::npos || a == b) continue;
    std::string type = s.substr(0, a), name = s.substr(a + 1, b - a - 1);
    json actions = json::array();
    std::istringstream as(s.substr(b + 1));
    std::string act;
    while (std::getline(as, act, ',')) {
      if (authed || (act == "pull" && name.starts_with("public/"))) actions.push_back(act);
    }
    access.push_back({{"type", type}, {"name", name}, {"actions", actions}});
  }
  int64_t now = std::time(nullptr);
  static std::atomic<int> counter{0};
  json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array({cert_der_b64_})}};
  json claims = {{"iss", "bld-test-issuer"},
                 {"sub", authed ? user : ""},
                 {"aud", service},
                 {"exp", now + 300},
                 {"nbf", now - 60},
                 {"iat", now - 60},
                 {"jti", std::to_string(now) + "-" + std::to_string(++counter)},
                 {"access", access}};
  std::string signing_input = Base64(header.dump(), true) + "." + Base64(claims.dump(), true);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t siglen = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, static_cast<EVP_PKEY*>(key_)) == 1 &&
      EVP_DigestSign(ctx, nullptr, &siglen,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) == 1) {
    sig.resize(siglen);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &siglen,
                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size());
    sig.resize(siglen);
  }
  EVP_MD_CTX_free(ctx);
  std::string token = signing_input + "." + Base64(sig, true);
  respond(200, json{{"token", token}, {"access_token", token}, {"expires_in", 300}}.dump());
}

// --- FaultProxy ---

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int target_port, int64_t drop_after,
                                                      int max_drops) {
  auto p = std::unique_ptr<FaultProxy>(new FaultProxy());
  p->max_drops_ = max_drops;
  p->target_port_ = target_port;
  p->drop_after_ = drop_after;
  BLD_TRY(p->Listen());
  return p;
}

FaultProxy::~FaultProxy() { Stop(); }

void FaultProxy::Serve(UniqueFd client) {
  auto server = ConnectLoopback(target_port_);
  if (!server.ok()) return;
  bool armed = false;
  int64_t sent_since_armed = 0;
  char buf[65536];
  for (;;) {
    pollfd p[2] = {{client.get(), POLLIN, 0}, {server->get(), POLLIN, 0}};
    int r = ::poll(p, 2, 10000);
    if (r <= 0) return;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(client.get(), buf, sizeof buf);
      if (n <= 0) return;
      std::string_view data(buf, static_cast<size_t>(n));
      if (data.starts_with("GET /v2/") && data.find("/blobs/sha256:") != std::string_view::npos) {
        armed = drop_after_ >= 0 && (max_drops_ < 0 || drops_ < max_drops_);
        sent_since_armed = 0;
      }
      if (!WriteAllFd(server->get(), data)) return;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(server->get(), buf, sizeof buf);
      if (n <= 0) return;
      std::string_view data(buf, static_cast<size_t>(n));
      if (armed && sent_since_armed + n > drop_after_) {
        WriteAllFd(client.get(),
                   data.substr(0, static_cast<size_t>(drop_after_ - sent_since_armed)));
        ++drops_;
        return;  // both sockets close
      }
      sent_since_armed += n;
      if (!WriteAllFd(client.get(), data)) return;
    }
  }
}

// --- TestRegistry ---

Result<std::unique_ptr<TestRegistry>> TestRegistry::Start(const RegistryOptions& options) {
  BLD_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("", "bld-registry-"));
  int port = FreePort();
  auto reg = std::unique_ptr<TestRegistry>(new TestRegistry(std::move(dir), port));
  const std::string d = reg->dir();
  std::string config =
      "version: 0.1\n"
      "log:\n  level: info\n  formatter: text\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      d +
      "/data\n  delete:\n    enabled: true\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port) + "\n";
  if (options.tls) {
    BLD_TRY(RunOk({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/ca.key", "-out",
                   d + "/ca.crt", "-days", "2", "-subj", "/CN=bld test CA"}));
    BLD_TRY(RunOk({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj",
                   "/CN=127.0.0.1"}));
    BLD_TRY(WriteFileAtomic(d + "/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"));
    BLD_TRY(RunOk({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt",
                   "-CAkey", d + "/ca.key", "-CAcreateserial", "-out", d + "/server.crt", "-days",
                   "2", "-extfile", d + "/ext.cnf"}));
    config += "  tls:\n    certificate: " + d + "/server.crt\n    key: " + d + "/server.key\n";
  }
  if (options.htpasswd) {
    BLD_TRY(WriteFileAtomic(d + "/htpasswd", kHtpasswd));
    config += "auth:\n  htpasswd:\n    realm: bld-test\n    path: " + d + "/htpasswd\n";
  } else if (options.token != nullptr) {
    config += "auth:\n  token:\n    realm: " + options.token->realm() +
              "\n    service: bld-test-registry\n    issuer: bld-test-issuer\n"
              "    rootcertbundle: " +
              options.token->cert_file() + "\n";
  }
  BLD_TRY(WriteFileAtomic(d + "/config.yml", config));
  BLD_ASSIGN_OR_RETURN(UniqueFd log, OpenFile(d + "/registry.log", O_WRONLY | O_CREAT | O_APPEND));
  SpawnOptions so;
  so.stdout_fd = log.get();
  so.stderr_fd = log.get();
  so.stdin_fd = -1;
  // docker-registry reads REGISTRY_* variables as configuration overrides;
  // REGISTRY_AUTH_FILE (set by tests for bld) would become auth.file.
  so.env.emplace();
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("REGISTRY_")) continue;
    so.env->push_back(*e);
  }
  BLD_ASSIGN_OR_RETURN(ChildProcess child,
                       ChildProcess::Spawn({kRegistryBinary, "serve", d + "/config.yml"}, so));
  reg->process_.emplace(std::move(child));
  // Ready when it accepts connections.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ConnectLoopback(port).ok()) {
    int status;
    if (::waitpid(reg->process_->pid(), &status, WNOHANG) == reg->process_->pid()) {
      reg->process_.reset();
      return InternalError("docker-registry exited: " + reg->Log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return InternalError("docker-registry did not start: " + reg->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return reg;
}

TestRegistry::~TestRegistry() { Stop(); }

void TestRegistry::Stop() {
  if (process_) {
    (void)process_->Kill(SIGTERM);
    (void)process_->Wait();
    process_.reset();
  }
}

std::string TestRegistry::Log() const {
  auto s = ReadFile(dir_.path() + "/registry.log");
  return s.ok() ? *s : "";
}

int TestRegistry::CountRequests(const std::string& method, const std::string& uri_part) const {
  std::istringstream in(Log());
  std::string line;
  int n = 0;
  const std::string start = "\"" + method + " ";
  while (std::getline(in, line)) {
    size_t at = line.find(start);
    if (at == std::string::npos) continue;
    size_t end = line.find(' ', at + start.size());
    std::string uri = line.substr(at + start.size(), end - at - start.size());
    if (uri.find(uri_part) != std::string::npos) ++n;
  }
  return n;
}

std::string TestRegistry::BlobDataPath(const std::string& hex) const {
  return dir_.path() + "/data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
         "/data";
}

oci::Descriptor WriteRandomImage(const oci::Store& store, int layers, unsigned seed,
                                 int64_t layer_size, const std::string& arch) {
  std::mt19937 rng(seed);
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeOciManifest);
  std::string config = R"({"architecture":")" + arch + R"(","os":"linux","config":{"Env":["SEED=)" +
                       std::to_string(seed) + R"("]},"rootfs":{"type":"layers","diff_ids":[]}})";
  m.config.media_type = std::string(oci::kMediaTypeOciConfig);
  m.config.digest = *store.WriteBlob(config);
  m.config.size = static_cast<int64_t>(config.size());
  for (int i = 0; i < layers; ++i) {
    std::string data(static_cast<size_t>(layer_size), '\0');
    for (char& c : data) c = static_cast<char>(rng());
    oci::Descriptor l;
    l.media_type = std::string(oci::kMediaTypeOciLayerGzip);
    l.digest = *store.WriteBlob(data);
    l.size = layer_size;
    m.layers.push_back(l);
  }
  std::string json = m.ToJson();
  oci::Descriptor d;
  d.media_type = m.media_type;
  d.digest = *store.WriteBlob(json);
  d.size = static_cast<int64_t>(json.size());
  return d;
}

}  // namespace bld::testing
