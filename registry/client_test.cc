#include "registry/client.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "oci/media_types.h"
#include "registry/fake_registry_test.h"
#include "registry/transport.h"

namespace bld::registry {
namespace {

using testing::FakeRegistry;

ClientOptions FastOptions() {
  ClientOptions o;
  o.lookup_credentials = false;
  o.retry.attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(1);
  return o;
}

std::unique_ptr<Client> MakeClient(std::shared_ptr<FakeRegistry> fake,
                                   ClientOptions o = FastOptions(),
                                   std::string registry = "localhost:5000") {
  auto c = Client::Create(std::move(registry), std::move(o), fake);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

const char kManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)"
    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    R"(","size":2},"layers":[]})";

TEST(TransferLimits, DeadlineScalesWithSizeAndEnvOverrides) {
  TransferLimits d;
  EXPECT_EQ(d.low_speed_bytes, 1024);
  EXPECT_EQ(d.low_speed_seconds, 30);
  EXPECT_EQ(TransferDeadline(d, -1), 300);
  EXPECT_EQ(TransferDeadline(d, 0), 300);
  EXPECT_EQ(TransferDeadline(d, 100 * 1024 * 600), 900);  // 60 MiB: 10 more minutes
  EXPECT_GT(TransferDeadline(d, int64_t{1} << 30), TransferDeadline(d, int64_t{1} << 20));

  setenv("BLD_REGISTRY_LOW_SPEED", "10:2", 1);
  setenv("BLD_REGISTRY_DEADLINE", "5:1000", 1);
  auto l = TransferLimitsFromEnv();
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->low_speed_bytes, 10);
  EXPECT_EQ(l->low_speed_seconds, 2);
  EXPECT_EQ(TransferDeadline(*l, 10000), 15);
  for (const char* bad : {"10", "0:5", "a:b", "5:", ":5", "-1:5", "1:2:3"}) {
    setenv("BLD_REGISTRY_LOW_SPEED", bad, 1);
    auto r = TransferLimitsFromEnv();
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("BLD_REGISTRY_LOW_SPEED"), std::string::npos);
  }
  unsetenv("BLD_REGISTRY_LOW_SPEED");
  unsetenv("BLD_REGISTRY_DEADLINE");
  EXPECT_EQ(TransferLimitsFromEnv()->low_speed_seconds, 30);
}

TEST(Loopback, Hosts) {
  EXPECT_TRUE(IsLoopbackRegistry("localhost"));
  EXPECT_TRUE(IsLoopbackRegistry("localhost:5000"));
  EXPECT_TRUE(IsLoopbackRegistry("127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackRegistry("[::1]:5000"));
  EXPECT_FALSE(IsLoopbackRegistry("registry.example:5000"));
  EXPECT_FALSE(IsLoopbackRegistry("10.0.0.1"));
}

TEST(Insecure, EnvList) {
  setenv("BLD_INSECURE_REGISTRIES", "a.example:5000, b.example", 1);
  EXPECT_TRUE(IsListedInsecure("a.example:5000"));
  EXPECT_FALSE(IsListedInsecure("a.example:6000"));
  EXPECT_TRUE(IsListedInsecure("b.example"));
  EXPECT_TRUE(IsListedInsecure("b.example:443"));
  EXPECT_FALSE(IsListedInsecure("c.example"));
  unsetenv("BLD_INSECURE_REGISTRIES");
  EXPECT_FALSE(IsListedInsecure("a.example:5000"));
}

TEST(PlanChunks, Sizes) {
  using V = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(PlanChunks(10, 4, 0), (V{{0, 4}, {4, 4}, {8, 2}}));
  EXPECT_EQ(PlanChunks(10, 4, 6), (V{{0, 6}, {6, 4}}));
  EXPECT_EQ(PlanChunks(8, 4, 0), (V{{0, 4}, {4, 4}}));
  EXPECT_EQ(PlanChunks(0, 4, 0), V{});
}

TEST(ResponseError, NamesStatusAndCodes) {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]})";
  Error e = ResponseError("localhost:5000/a/b: GET /v2/a/b/manifests/x", r);
  EXPECT_TRUE(e.Is(ErrorCode::kNotFound));
  EXPECT_EQ(e.message(),
            "localhost:5000/a/b: GET /v2/a/b/manifests/x: 404 Not Found: MANIFEST_UNKNOWN: "
            "manifest unknown");
  r.status = 502;
  r.body = "<html>bad gateway</html>";
  Error g = ResponseError("x", r);
  EXPECT_TRUE(g.Is(ErrorCode::kUnavailable));
  EXPECT_EQ(g.message(), "x: 502 Bad Gateway");
  r.status = 401;
  r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"a"},{"code":"DENIED","message":"b"}]})";
  Error u = ResponseError("x", r);
  EXPECT_TRUE(u.Is(ErrorCode::kUnauthenticated));
  EXPECT_EQ(u.message(), "x: 401 Unauthorized: UNAUTHORIZED: a; DENIED: b");
}

TEST(Client, LoopbackFallsBackToPlainHttp) {
  auto fake = std::make_shared<FakeRegistry>();
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->Ping().ok());
  EXPECT_EQ(c->base_url(), "http://localhost:5000");
}

TEST(Client, LoopbackUsesHttpsWhenAnswered) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->speak_https = true;
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->Ping().ok());
  EXPECT_EQ(c->base_url(), "https://localhost:5000");
}

TEST(Client, RemoteNeedsTlsUnlessInsecure) {
  auto fake = std::make_shared<FakeRegistry>();
  auto c = MakeClient(fake, FastOptions(), "reg.example:5000");
  Status s = c->Ping();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("reg.example:5000: cannot reach the registry"),
            std::string::npos)
      << s.error().message();

  ClientOptions o = FastOptions();
  o.tls_verify = false;
  auto insecure = MakeClient(fake, o, "reg.example:5000");
  ASSERT_TRUE(insecure->Ping().ok());
  EXPECT_EQ(insecure->base_url(), "http://reg.example:5000");

  setenv("BLD_INSECURE_REGISTRIES", "reg.example:5000", 1);
  auto listed = MakeClient(fake, FastOptions(), "reg.example:5000");
  EXPECT_TRUE(listed->Ping().ok());
  unsetenv("BLD_INSECURE_REGISTRIES");
}

TEST(Client, DockerHubHost) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->speak_https = true;
  auto c = MakeClient(fake, FastOptions(), "docker.io");
  ASSERT_TRUE(c->Ping().ok());
  EXPECT_EQ(c->base_url(), "https://registry-1.docker.io");
}

TEST(Client, GetManifestNegotiatesAndVerifies) {
  auto fake = std::make_shared<FakeRegistry>();
  std::string d =
      fake->PutManifest("a/b", "v1", std::string(oci::kMediaTypeOciManifest), kManifest);
  auto c = MakeClient(fake);
  auto m = c->GetManifest("a/b", "v1");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->media_type, oci::kMediaTypeOciManifest);
  EXPECT_EQ(m->bytes, kManifest);
  EXPECT_EQ(m->digest.str(), d);
  auto byd = c->GetManifest("a/b", d);
  ASSERT_TRUE(byd.ok());

  auto missing = c->GetManifest("a/b", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().Is(ErrorCode::kNotFound));
  EXPECT_EQ(missing.error().message(),
            "localhost:5000/a/b: GET /v2/a/b/manifests/nope: 404 Not Found: MANIFEST_UNKNOWN: "
            "manifest unknown");

  // Content under a digest that is not its own is refused.
  fake->manifests["a/b@sha256:" + std::string(64, '0')] = {std::string(oci::kMediaTypeOciManifest),
                                                           kManifest};
  auto bad = c->GetManifest("a/b", "sha256:" + std::string(64, '0'));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("served content with digest " + d), std::string::npos);
}

TEST(Client, Schema1Refused) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->PutManifest("old", "latest", std::string(oci::kMediaTypeDockerManifestSchema1Signed),
                    R"({"schemaVersion":1,"fsLayers":[]})");
  auto c = MakeClient(fake);
  auto m = c->GetManifest("old", "latest");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("schema 1"), std::string::npos) << m.error().message();
  // Also when the registry does not say what it is.
  fake->PutManifest("old2", "latest", "application/json", R"({"schemaVersion":1,"fsLayers":[]})");
  auto m2 = c->GetManifest("old2", "latest");
  ASSERT_FALSE(m2.ok());
  EXPECT_NE(m2.error().message().find("schema 1"), std::string::npos) << m2.error().message();
}

TEST(Client, RetriesConnectionErrorsAnd5xx) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->PutManifest("a", "t", std::string(oci::kMediaTypeOciManifest), kManifest);
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->Ping().ok());
  fake->fail_connections = 2;
  ASSERT_TRUE(c->GetManifest("a", "t").ok());
  fake->fail_status_count = 2;
  fake->fail_status = 429;
  ASSERT_TRUE(c->GetManifest("a", "t").ok());
  fake->fail_status_count = 2;
  fake->fail_status = 503;
  ASSERT_TRUE(c->GetManifest("a", "t").ok());

  fake->fail_connections = 3;  // attempts = 3: gives up
  auto m = c->GetManifest("a", "t");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.error().Is(ErrorCode::kUnavailable));
  EXPECT_NE(m.error().message().find("connection reset"), std::string::npos);

  fake->fail_status_count = 3;
  fake->fail_status = 500;
  auto s = c->GetManifest("a", "t");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("500 Internal Server Error: UNAVAILABLE"), std::string::npos)
      << s.error().message();
  // 4xx are not retried.
  int before = c->requests_sent();
  ASSERT_FALSE(c->GetManifest("a", "nope").ok());
  EXPECT_EQ(c->requests_sent(), before + 1);
}

TEST(Client, BearerAnonymousPullAndTokenCache) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->auth = FakeRegistry::AuthMode::kBearer;
  fake->anonymous_pull = true;
  fake->PutManifest("pub/img", "t", std::string(oci::kMediaTypeOciManifest), kManifest);
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->GetManifest("pub/img", "t").ok());
  ASSERT_TRUE(c->GetManifest("pub/img", "t").ok());
  EXPECT_EQ(fake->token_requests, 1);  // cached
  // The token carried the repository scope.
  EXPECT_EQ(fake->Count("GET /token?service=fake&scope=repository%3Apub%2Fimg%3Apull"), 1);

  // Anonymous users cannot push: a clear unauthorized error.
  auto e = c->PutManifest("pub/img", "t2", std::string(oci::kMediaTypeOciManifest), kManifest);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.error().Is(ErrorCode::kUnauthenticated));
  EXPECT_NE(e.error().message().find("401 Unauthorized: UNAUTHORIZED"), std::string::npos)
      << e.error().message();
  EXPECT_NE(e.error().message().find("bld login localhost:5000"), std::string::npos);
}

TEST(Client, BearerWithCredentialsAndRefresh) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->auth = FakeRegistry::AuthMode::kBearer;
  ClientOptions o = FastOptions();
  o.credentials = Credentials{"alice", "secret", ""};
  auto c = MakeClient(fake, o);
  auto d = c->PutManifest("priv/img", "t", std::string(oci::kMediaTypeOciManifest), kManifest);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(fake->token_requests, 1);
  // A token the registry no longer accepts is replaced once.
  fake->revoke_tokens = 1;
  ASSERT_TRUE(c->GetManifest("priv/img", "t").ok());
  ASSERT_TRUE(c->GetManifest("priv/img", "t").ok());
  EXPECT_EQ(fake->token_requests, 3);  // pull scope, then its refresh
}

TEST(Client, BearerExpiredTokenIsRefetched) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->auth = FakeRegistry::AuthMode::kBearer;
  fake->anonymous_pull = true;
  fake->token_expires_in = 1;  // used for half its life: 0 s
  fake->PutManifest("pub", "t", std::string(oci::kMediaTypeOciManifest), kManifest);
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->GetManifest("pub", "t").ok());
  ASSERT_TRUE(c->GetManifest("pub", "t").ok());
  EXPECT_EQ(fake->token_requests, 2);
}

TEST(Client, BearerWrongPassword) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->auth = FakeRegistry::AuthMode::kBearer;
  ClientOptions o = FastOptions();
  o.credentials = Credentials{"alice", "wrong", ""};
  auto c = MakeClient(fake, o);
  auto m = c->GetManifest("priv/img", "t");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.error().Is(ErrorCode::kUnauthenticated));
  EXPECT_NE(m.error().message().find("unauthorized"), std::string::npos) << m.error().message();
  EXPECT_NE(m.error().message().find("invalid username or password"), std::string::npos);
  Status login = c->CheckLogin();
  ASSERT_FALSE(login.ok());
  EXPECT_TRUE(login.error().Is(ErrorCode::kUnauthenticated));
}

TEST(Client, BasicAuth) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->auth = FakeRegistry::AuthMode::kBasic;
  fake->PutManifest("a", "t", std::string(oci::kMediaTypeOciManifest), kManifest);
  ClientOptions o = FastOptions();
  o.credentials = Credentials{"alice", "secret", ""};
  auto good = MakeClient(fake, o);
  ASSERT_TRUE(good->CheckLogin().ok());
  ASSERT_TRUE(good->GetManifest("a", "t").ok());

  o.credentials = Credentials{"alice", "nope", ""};
  auto bad = MakeClient(fake, o);
  Status login = bad->CheckLogin();
  ASSERT_FALSE(login.ok());
  EXPECT_NE(login.error().message().find("unauthorized"), std::string::npos);
  auto m = bad->GetManifest("a", "t");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.error().Is(ErrorCode::kUnauthenticated));
  EXPECT_NE(m.error().message().find("401 Unauthorized: UNAUTHORIZED: authentication required"),
            std::string::npos)
      << m.error().message();
  EXPECT_NE(m.error().message().find("check the credentials"), std::string::npos);

  auto anon = MakeClient(fake);
  auto a = anon->GetManifest("a", "t");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("log in with: bld login localhost:5000"), std::string::npos)
      << a.error().message();
}

// A memfd holding `data`, for upload bodies.
int MemFd(const std::string& data) {
  int fd = ::memfd_create("blob", MFD_CLOEXEC);
  EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  return fd;
}

TEST(Client, MonolithicUpload) {
  auto fake = std::make_shared<FakeRegistry>();
  auto c = MakeClient(fake);
  std::string data = "hello blob";
  oci::Digest d = oci::Digest::Of(data);
  int fd = MemFd(data);
  auto r = c->UploadBlob("a", d, static_cast<int64_t>(data.size()), fd);
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, Client::UploadOutcome::kUploaded);
  EXPECT_EQ(fake->blobs[d.str()], data);
  EXPECT_EQ(fake->Count("PATCH"), 0);
  EXPECT_EQ(fake->Count("PUT /v2/a/blobs/uploads/u1?_state=x&digest=sha256%3A"), 1);
  auto exists = c->BlobExists("a", d);
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);
  auto absent = c->BlobExists("other", d);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(*absent);
}

TEST(Client, ChunkedUploadHonoursMinimumChunk) {
  auto fake = std::make_shared<FakeRegistry>();
  fake->chunk_min_length = 6;
  ClientOptions o = FastOptions();
  o.monolithic_upload_max = 10;
  o.upload_chunk_size = 4;
  auto c = MakeClient(fake, o);
  std::string data = "0123456789abcdefghij";  // 20 bytes
  oci::Digest d = oci::Digest::Of(data);
  int fd = MemFd(data);
  auto r = c->UploadBlob("a", d, static_cast<int64_t>(data.size()), fd);
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(fake->chunk_sizes, (std::vector<int64_t>{6, 6, 6, 2}));
  EXPECT_EQ(fake->blobs[d.str()], data);
}

TEST(Client, UploadRetriesFromTheStart) {
  auto fake = std::make_shared<FakeRegistry>();
  auto c = MakeClient(fake);
  ASSERT_TRUE(c->Ping().ok());
  std::string data = "retry me";
  oci::Digest d = oci::Digest::Of(data);
  int fd = MemFd(data);
  fake->fail_status_count = 1;  // the POST fails once
  auto r = c->UploadBlob("a", d, static_cast<int64_t>(data.size()), fd);
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(fake->Count("POST /v2/a/blobs/uploads/"), 2);
}

TEST(Client, UploadWrongDigestIsRefused) {
  auto fake = std::make_shared<FakeRegistry>();
  auto c = MakeClient(fake);
  std::string data = "content";
  int fd = MemFd(data);
  auto r = c->UploadBlob("a", oci::Digest::Of("other"), static_cast<int64_t>(data.size()), fd);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("400 Bad Request: DIGEST_INVALID"), std::string::npos)
      << r.error().message();
}

TEST(Client, CrossRepositoryMount) {
  auto fake = std::make_shared<FakeRegistry>();
  std::string data = "shared layer";
  std::string d = fake->PutBlob("src/repo", data);
  auto c = MakeClient(fake);
  int fd = MemFd(data);
  auto r = c->UploadBlob("dst/repo", *oci::Digest::Parse(d), static_cast<int64_t>(data.size()), fd,
                         std::string("src/repo"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, Client::UploadOutcome::kMounted);
  EXPECT_EQ(fake->Count("POST /v2/dst/repo/blobs/uploads/?mount=" + d + "&from=src%2Frepo"), 1);
  EXPECT_EQ(fake->Count("PUT"), 0);
  // A declined mount (the source does not have it) falls back to uploading.
  std::string other = "not shared";
  int fd2 = MemFd(other);
  auto r2 = c->UploadBlob("dst/repo", oci::Digest::Of(other), static_cast<int64_t>(other.size()),
                          fd2, std::string("src/repo"));
  ASSERT_TRUE(r2.ok()) << r2.error().message();
  EXPECT_EQ(*r2, Client::UploadOutcome::kUploaded);
  ::close(fd);
  ::close(fd2);
}

TEST(Client, FetchBlobRetriesTruncatedTransfers) {
  auto fake = std::make_shared<FakeRegistry>();
  std::string data(1000, 'x');
  std::string d = fake->PutBlob("a", data);
  auto c = MakeClient(fake);
  std::string got;
  int resets = 0;
  fake->truncate_blob = d;
  Status s = c->FetchBlob(
      "a", *oci::Digest::Parse(d), 1000,
      [&]() -> Status {
        ++resets;
        got.clear();
        return Ok();
      },
      [&](std::string_view part) -> Status {
        got += part;
        return Ok();
      });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(resets, 3);
  EXPECT_TRUE(s.error().Is(ErrorCode::kUnavailable));
  EXPECT_NE(s.error().message().find("after 3 tries"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("localhost:5000/a: blob " + d), std::string::npos);

  fake->truncate_blob.clear();
  s = c->FetchBlob(
      "a", *oci::Digest::Parse(d), 1000,
      [&]() -> Status {
        got.clear();
        return Ok();
      },
      [&](std::string_view part) -> Status {
        got += part;
        return Ok();
      });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(got, data);
}

}  // namespace
}  // namespace bld::registry
