#include "oci/reference.h"

#include <gtest/gtest.h>

namespace bld::oci {
namespace {

constexpr char kHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

struct Case {
  const char* in;
  const char* domain;
  const char* path;
  const char* tag;
  const char* str;
  const char* familiar;
};

TEST(ReferenceTest, NormalizesLikeDocker) {
  const std::string dig = std::string("sha256:") + kHex;
  const Case cases[] = {
      {"busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest",
       "busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "docker.io/library/busybox:1.36",
       "busybox:1.36"},
      {"library/busybox", "docker.io", "library/busybox", "latest",
       "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest",
       "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/busybox", "docker.io", "library/busybox", "latest",
       "docker.io/library/busybox:latest", "busybox:latest"},
      {"foo/bar", "docker.io", "foo/bar", "latest", "docker.io/foo/bar:latest", "foo/bar:latest"},
      {"docker.io/library/a/b", "docker.io", "library/a/b", "latest",
       "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"localhost/foo", "localhost", "foo", "latest", "localhost/foo:latest",
       "localhost/foo:latest"},
      {"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", "localhost:5000/a/b:t",
       "localhost:5000/a/b:t"},
      {"quay.io/coreos/etcd:v3.5_rc-1", "quay.io", "coreos/etcd", "v3.5_rc-1",
       "quay.io/coreos/etcd:v3.5_rc-1", "quay.io/coreos/etcd:v3.5_rc-1"},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
      {"127.0.0.1:5000/x:T_AG", "127.0.0.1:5000", "x", "T_AG", "127.0.0.1:5000/x:T_AG",
       "127.0.0.1:5000/x:T_AG"},
      // A name without '/' is never a domain: "localhost:5000" is repo localhost, tag 5000.
      {"localhost:5000", "docker.io", "library/localhost", "5000",
       "docker.io/library/localhost:5000", "localhost:5000"},
      {"a.b-c__d--e_f/g", "a.b-c__d--e_f", "g", "latest", "", ""},
      {"my-registry.example.com:443/a.b/c-d/e__f:1", "my-registry.example.com:443", "a.b/c-d/e__f",
       "1", "my-registry.example.com:443/a.b/c-d/e__f:1", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = Reference::Parse(c.in);
    if (std::string(c.in) == "a.b-c__d--e_f/g") {
      // '_' is not allowed in a domain component.
      EXPECT_FALSE(r.ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->domain(), c.domain);
    EXPECT_EQ(r->path(), c.path);
    EXPECT_EQ(r->tag(), c.tag);
    EXPECT_FALSE(r->digest().has_value());
    if (*c.str) {
      EXPECT_EQ(r->str(), c.str);
    }
    if (*c.familiar) {
      EXPECT_EQ(r->Familiar(), c.familiar);
    }
    // str() parses back to the same reference.
    auto again = Reference::Parse(r->str());
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(*again, *r);
  }
}

TEST(ReferenceTest, Digest) {
  const std::string dig = std::string("sha256:") + kHex;
  auto r = Reference::Parse("localhost:5000/a/b:t@" + dig);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->tag(), "t");
  ASSERT_TRUE(r->digest().has_value());
  EXPECT_EQ(r->digest()->str(), dig);
  EXPECT_EQ(r->str(), "localhost:5000/a/b:t@" + dig);

  // Only a digest: no default tag.
  auto d = Reference::Parse("busybox@" + dig);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->tag(), "");
  EXPECT_EQ(d->str(), "docker.io/library/busybox@" + dig);
  EXPECT_EQ(d->Familiar(), "busybox@" + dig);
  EXPECT_EQ(d->Repository(), "docker.io/library/busybox");
}

TEST(ReferenceTest, WithTagAndDigest) {
  auto r = Reference::Parse("busybox");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->WithTag("1.0").str(), "docker.io/library/busybox:1.0");
  Digest d = Digest::Of("x");
  EXPECT_EQ(r->WithDigest(d).str(), "docker.io/library/busybox:latest@" + d.str());
  EXPECT_EQ(r->RegistryHost(), "registry-1.docker.io");
  EXPECT_EQ(Reference::Parse("localhost:5000/x")->RegistryHost(), "localhost:5000");
}

void ExpectReject(const std::string& in, const std::string& fragment) {
  SCOPED_TRACE(in);
  auto r = Reference::Parse(in);
  ASSERT_FALSE(r.ok()) << "accepted as " << r->str();
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST(ReferenceTest, Rejects) {
  ExpectReject("", "empty reference");
  ExpectReject("Busybox", "repository name \"Busybox\" must be lowercase");
  ExpectReject("localhost:5000/Foo/bar", "repository name \"Foo/bar\" must be lowercase");
  ExpectReject("docker.io/Library/busybox", "must be lowercase");
  ExpectReject("busybox:", "invalid tag \"\"");
  ExpectReject("busybox:-x", "invalid tag \"-x\"");
  ExpectReject("busybox:.x", "invalid tag");
  ExpectReject("busybox:a+b", "invalid tag \"a+b\"");
  ExpectReject("busybox:" + std::string(129, 'a'), "invalid tag");
  ExpectReject("busybox@sha256:abc", "64 hex");
  ExpectReject("busybox@md5:" + std::string(32, 'a'), "not supported");
  ExpectReject(std::string("busybox@sha256:") + std::string(64, 'A'), "lower-case");
  ExpectReject("busybox@", "invalid digest");
  ExpectReject(kHex, "64-byte hexadecimal");
  ExpectReject("a//b", "path component \"\"");
  ExpectReject("/busybox", "path component");
  ExpectReject("foo/bar/", "path component \"\"");
  ExpectReject("foo/-bar", "path component \"-bar\"");
  ExpectReject("foo/bar_", "path component \"bar_\"");
  ExpectReject("foo/a___b", "path component \"a___b\"");
  ExpectReject("foo/a.-b", "path component");
  ExpectReject("exa_mple.com/foo", "invalid registry domain");
  ExpectReject("-example.com/foo", "invalid registry domain");
  ExpectReject("example.com:/foo", "invalid registry domain");
  ExpectReject("example.com:50a/foo", "invalid registry domain");
  ExpectReject("[zz]:5000/foo", "invalid registry domain");
  ExpectReject("localhost:5000/", "path component \"\"");
  ExpectReject("foo bar", "path component \"foo bar\"");
  ExpectReject("example.com/" + std::string(250, 'a'), "longer than 255");
  // Tag longest allowed is fine.
  EXPECT_TRUE(Reference::Parse("busybox:" + std::string(128, 'a')).ok());
  // Separators that are allowed.
  EXPECT_TRUE(Reference::Parse("foo/a__b").ok());
  EXPECT_TRUE(Reference::Parse("foo/a---b").ok());
  EXPECT_TRUE(Reference::Parse("foo/a.b_c-d").ok());
}

}  // namespace
}  // namespace bld::oci
