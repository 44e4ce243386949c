// bld login/logout/push/pull against docker-registry with htpasswd Basic auth
// behind TLS (self-signed CA), and with Bearer tokens from a token server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class AuthTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    setenv("REGISTRY_AUTH_FILE", AuthFile().c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
    unsetenv("SSL_CERT_FILE");
    unsetenv("BLD_CERTS_DIR");
  }
  void TearDown() override {
    unsetenv("SSL_CERT_FILE");
    unsetenv("BLD_CERTS_DIR");
  }
  std::string AuthFile() { return tmp_->path() + "/auth.json"; }
  std::string Root(const std::string& name) { return tmp_->path() + "/" + name; }
  // Writes an image into the store at `root`, tagged as `host/repo_tag`.
  void MakeImage(const std::string& root, const std::string& host, const std::string& repo_tag,
                 unsigned seed) {
    auto s = oci::Store::Open(root);
    ASSERT_TRUE(s.ok());
    oci::Descriptor d = WriteRandomImage(**s, 2, seed);
    ASSERT_TRUE((*s)->SetTag(oci::Reference::Parse(host + "/" + repo_tag)->str(), d).ok());
  }
  CommandResult Login(const std::string& host, const std::string& password,
                      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"login", "-u", kTestUser, "--password-stdin"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(host);
    return RunBld(Root("login"), args, password + "\n");
  }
  std::optional<TempDir> tmp_;
};

// --- htpasswd + TLS ---

class TlsBasicAuthTest : public AuthTestBase {
 protected:
  static void SetUpTestSuite() {
    if (!PathExists(kRegistryBinary) || !HaveProgram("openssl")) return;
    RegistryOptions o;
    o.tls = true;
    o.htpasswd = true;
    auto r = TestRegistry::Start(o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    registry_ = r->release();
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (registry_ == nullptr) GTEST_SKIP() << "needs docker-registry and openssl";
    AuthTestBase::SetUp();
  }
  std::string host() { return registry_->host(); }
  static TestRegistry* registry_;
};
TestRegistry* TlsBasicAuthTest::registry_ = nullptr;

TEST_F(TlsBasicAuthTest, LoginPushPullWithTlsVerifyFalse) {
  auto login = Login(host(), kTestPassword, {"--tls-verify=false"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.out.find("Login Succeeded"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(AuthFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  MakeImage(Root("src"), host(), "secure/app:v1", 21);
  auto push = RunBld(Root("src"), {"push", "--tls-verify=false", host() + "/secure/app:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  auto pull = RunBld(Root("dst"), {"pull", "--tls-verify=false", host() + "/secure/app:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;

  auto logout = RunBld(Root("login"), {"logout", host()});
  ASSERT_EQ(logout.exit_code, 0) << logout.err;
  auto again = RunBld(Root("login"), {"logout", host()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("not logged in to " + host()), std::string::npos) << again.err;
  // Without credentials: a clear unauthorized error naming what to do.
  auto anon = RunBld(Root("dst2"), {"pull", "--tls-verify=false", host() + "/secure/app:v1"});
  EXPECT_EQ(anon.exit_code, 1);
  EXPECT_NE(anon.err.find("401 Unauthorized: UNAUTHORIZED"), std::string::npos) << anon.err;
  EXPECT_NE(anon.err.find("bld login " + host()), std::string::npos) << anon.err;
}

TEST_F(TlsBasicAuthTest, UntrustedCertificateIsRefused) {
  auto login = Login(host(), kTestPassword);
  EXPECT_EQ(login.exit_code, 1);
  EXPECT_NE(login.err.find("TLS certificate not trusted"), std::string::npos) << login.err;
  EXPECT_NE(login.err.find("--tls-verify=false"), std::string::npos) << login.err;
  EXPECT_FALSE(PathExists(AuthFile()));
}

TEST_F(TlsBasicAuthTest, TrustedCaViaSslCertFile) {
  setenv("SSL_CERT_FILE", registry_->ca_file().c_str(), 1);
  auto login = Login(host(), kTestPassword);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  MakeImage(Root("src"), host(), "trusted/app:v1", 22);
  auto push = RunBld(Root("src"), {"push", host() + "/trusted/app:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  auto pull = RunBld(Root("dst"), {"pull", host() + "/trusted/app:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
}

TEST_F(TlsBasicAuthTest, TrustedCaViaCertsDir) {
  std::string certs = tmp_->path() + "/certs.d";
  ASSERT_TRUE(MkdirAll(certs + "/" + host()).ok());
  ASSERT_TRUE(
      WriteFileAtomic(certs + "/" + host() + "/ca.crt", *ReadFile(registry_->ca_file())).ok());
  setenv("BLD_CERTS_DIR", certs.c_str(), 1);
  auto login = Login(host(), kTestPassword);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  MakeImage(Root("src"), host(), "certsdir/app:v1", 23);
  auto push = RunBld(Root("src"), {"push", host() + "/certsdir/app:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
}

TEST_F(TlsBasicAuthTest, WrongPasswordIsUnauthorized) {
  auto login = Login(host(), "wrong", {"--tls-verify=false"});
  EXPECT_EQ(login.exit_code, 1);
  EXPECT_NE(login.err.find("unauthorized"), std::string::npos) << login.err;
  EXPECT_FALSE(PathExists(AuthFile()));
}

// --- Bearer tokens ---

class TokenAuthTest : public AuthTestBase {
 protected:
  static void SetUpTestSuite() {
    if (!PathExists(kRegistryBinary) || !HaveProgram("openssl")) return;
    auto dir = TempDir::Create("", "bld-token-");
    ASSERT_TRUE(dir.ok());
    dir_ = new TempDir(std::move(*dir));
    auto t = TokenServer::Start(dir_->path());
    ASSERT_TRUE(t.ok()) << t.error().message();
    token_ = t->release();
    RegistryOptions o;
    o.token = token_;
    auto r = TestRegistry::Start(o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    registry_ = r->release();
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete token_;
    delete dir_;
    registry_ = nullptr;
    token_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (registry_ == nullptr) GTEST_SKIP() << "needs docker-registry and openssl";
    AuthTestBase::SetUp();
  }
  std::string host() { return registry_->host(); }
  static TempDir* dir_;
  static TokenServer* token_;
  static TestRegistry* registry_;
};
TempDir* TokenAuthTest::dir_ = nullptr;
TokenServer* TokenAuthTest::token_ = nullptr;
TestRegistry* TokenAuthTest::registry_ = nullptr;

TEST_F(TokenAuthTest, PushWithCredentialsAnonymousPullOfPublicRepo) {
  auto login = Login(host(), kTestPassword);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  MakeImage(Root("src"), host(), "public/app:v1", 31);
  auto push = RunBld(Root("src"), {"push", host() + "/public/app:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  // Cross-repository mount with a token covering both repositories.
  auto mount = RunBld(Root("src"), {"push", oci::Reference::Parse(host() + "/public/app:v1")->str(),
                                    host() + "/private/app:v1"});
  ASSERT_EQ(mount.exit_code, 0) << mount.err;
  EXPECT_NE(mount.err.find("3 mounted"), std::string::npos) << mount.err;

  // Anonymous from here on.
  setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/none.json").c_str(), 1);
  auto pull = RunBld(Root("anon"), {"pull", host() + "/public/app:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto priv = RunBld(Root("anon"), {"pull", host() + "/private/app:v1"});
  EXPECT_EQ(priv.exit_code, 1);
  EXPECT_NE(priv.err.find("401 Unauthorized: UNAUTHORIZED"), std::string::npos) << priv.err;
  EXPECT_NE(priv.err.find("bld login " + host()), std::string::npos) << priv.err;
  auto anon_push =
      RunBld(Root("src"), {"push", oci::Reference::Parse(host() + "/public/app:v1")->str(),
                           host() + "/public/other:v1"});
  EXPECT_EQ(anon_push.exit_code, 1);
  EXPECT_NE(anon_push.err.find("UNAUTHORIZED"), std::string::npos) << anon_push.err;
}

TEST_F(TokenAuthTest, WrongPasswordIsUnauthorized) {
  auto login = Login(host(), "wrong");
  EXPECT_EQ(login.exit_code, 1);
  EXPECT_NE(login.err.find("unauthorized"), std::string::npos) << login.err;
  EXPECT_NE(login.err.find("invalid username or password"), std::string::npos) << login.err;
  // Stale credentials in auth.json give the same clear error on pull.
  ASSERT_TRUE(WriteFileAtomic(AuthFile(),
                              R"({"auths":{")" + host() + R"(":{"auth":"YWxpY2U6d3Jvbmc="}}})",
                              0600)
                  .ok());
  auto pull = RunBld(Root("dst"), {"pull", host() + "/public/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("unauthorized: authentication failed"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("check the username and password"), std::string::npos) << pull.err;
}

}  // namespace
}  // namespace bld::testing
