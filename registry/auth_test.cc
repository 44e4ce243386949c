#include "registry/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "base/file.h"
#include "base/temp_dir.h"

namespace bld::registry {
namespace {

TEST(ParseChallenges, Bearer) {
  auto cs = ParseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].Param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].Param("scope"), "repository:library/busybox:pull");
}

TEST(ParseChallenges, BasicAndSeveral) {
  auto cs =
      ParseChallenges(R"(Basic realm="Registry Realm", Bearer realm="x", error="invalid_token")");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].Param("realm"), "Registry Realm");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].Param("realm"), "x");
  EXPECT_EQ(cs[1].Param("error"), "invalid_token");
}

TEST(ParseChallenges, EscapesUnquotedAndCase) {
  auto cs = ParseChallenges(R"(BEARER Realm="a\"b" , Service=reg)");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "a\"b");
  EXPECT_EQ(cs[0].Param("service"), "reg");
}

TEST(ParseChallenges, Garbage) {
  EXPECT_TRUE(ParseChallenges("").empty());
  auto cs = ParseChallenges("Basic");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].params.empty());
}

TEST(NormalizeRegistryKey, Forms) {
  EXPECT_EQ(NormalizeRegistryKey("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("http://LocalHost:5000/foo"), "localhost:5000");
  EXPECT_EQ(NormalizeRegistryKey("quay.io"), "quay.io");
}

TEST(Base64, RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pa:ss"}) {
    auto d = DecodeBase64(EncodeBase64(s));
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(EncodeBase64("user:pass"), "dXNlcjpwYXNz");
  EXPECT_FALSE(DecodeBase64("abc").ok());
}

// Points HOME, XDG_RUNTIME_DIR and DOCKER_CONFIG into a temp dir for one test.
class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    setenv("HOME", dir_->path().c_str(), 1);
    setenv("XDG_RUNTIME_DIR", (dir_->path() + "/run").c_str(), 1);
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("DOCKER_CONFIG");
    ASSERT_TRUE(MkdirAll(dir_->path() + "/run").ok());
    ASSERT_TRUE(MkdirAll(dir_->path() + "/.docker").ok());
    ASSERT_TRUE(MkdirAll(dir_->path() + "/bin").ok());
    old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    setenv("PATH", (dir_->path() + "/bin:" + old_path_).c_str(), 1);
  }
  void TearDown() override { setenv("PATH", old_path_.c_str(), 1); }
  std::optional<TempDir> dir_;
  std::string old_path_;
};

TEST_F(CredentialsTest, StoreLookupErase) {
  EXPECT_EQ(AuthFilePath(), dir_->path() + "/run/containers/auth.json");
  auto none = LookupCredentials("localhost:5000");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(StoreCredentials("localhost:5000", {"alice", "s3cret:x", ""}).ok());
  struct stat st;
  ASSERT_EQ(::stat(AuthFilePath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto c = LookupCredentials("http://localhost:5000");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "alice");
  EXPECT_EQ((*c)->password, "s3cret:x");

  ASSERT_TRUE(EraseCredentials("localhost:5000").ok());
  auto gone = LookupCredentials("localhost:5000");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto again = EraseCredentials("localhost:5000");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().Is(ErrorCode::kNotFound));
}

TEST_F(CredentialsTest, FallsBackToConfigDirWithoutRuntimeDir) {
  unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(AuthFilePath(), dir_->path() + "/.config/containers/auth.json");
  ASSERT_TRUE(StoreCredentials("quay.io", {"u", "p", ""}).ok());
  EXPECT_TRUE(PathExists(dir_->path() + "/.config/containers/auth.json"));
}

TEST_F(CredentialsTest, DockerConfigAuths) {
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/.docker/config.json",
                              R"({"auths":{"https://index.docker.io/v1/":{"auth":")" +
                                  EncodeBase64("bob:pw") + R"("}}})")
                  .ok());
  auto c = LookupCredentials("docker.io");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "bob");
  EXPECT_EQ((*c)->password, "pw");
}

TEST_F(CredentialsTest, CredentialHelper) {
  std::string helper = dir_->path() + "/bin/docker-credential-fake";
  ASSERT_TRUE(WriteFileAtomic(helper,
                              "#!/bin/sh\nread server\n"
                              "if [ \"$1\" = get ] && [ \"$server\" = reg.example:5000 ]; then\n"
                              "  echo '{\"ServerURL\":\"reg.example:5000\",\"Username\":\"carol\","
                              "\"Secret\":\"tok\"}'\nelse echo 'credentials not found in native "
                              "keychain'; exit 1; fi\n",
                              0755)
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/.docker/config.json",
                              R"({"credHelpers":{"reg.example:5000":"fake"}})")
                  .ok());
  auto c = LookupCredentials("reg.example:5000");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "carol");
  EXPECT_EQ((*c)->password, "tok");
  // Not configured for this registry: nothing.
  auto other = LookupCredentials("other.example");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  // credsStore applies to every registry; "not found" means no credentials.
  ASSERT_TRUE(
      WriteFileAtomic(dir_->path() + "/.docker/config.json", R"({"credsStore":"fake"})").ok());
  auto s = LookupCredentials("reg.example:5000");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->username, "carol");
  auto miss = LookupCredentials("other.example");
  ASSERT_TRUE(miss.ok()) << miss.error().message();
  EXPECT_FALSE(miss->has_value());
}

TEST_F(CredentialsTest, MalformedFileIsAnError) {
  ASSERT_TRUE(MkdirAll(dir_->path() + "/run/containers").ok());
  ASSERT_TRUE(WriteFileAtomic(AuthFilePath(), "{not json").ok());
  auto c = LookupCredentials("localhost:5000");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("auth.json"), std::string::npos);
}

}  // namespace
}  // namespace bld::registry
