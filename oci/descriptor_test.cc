#include "oci/descriptor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/media_types.h"

namespace bld::oci {
namespace {

TEST(PlatformTest, Parse) {
  auto p = Platform::Parse("linux/amd64");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "amd64");
  EXPECT_EQ(p->variant, "");
  EXPECT_EQ(p->str(), "linux/amd64");

  EXPECT_EQ(Platform::Parse("linux/x86_64")->architecture, "amd64");
  EXPECT_EQ(Platform::Parse("Linux/AArch64")->str(), "linux/arm64");
  EXPECT_EQ(Platform::Parse("linux/arm64/8")->str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::Parse("linux/arm64/v8")->str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::Parse("linux/armhf")->str(), "linux/arm/v7");
  EXPECT_EQ(Platform::Parse("linux/arm/7")->str(), "linux/arm/v7");
  EXPECT_EQ(Platform::Parse("linux/i386")->str(), "linux/386");
  EXPECT_EQ(Platform::Parse("linux")->str(), Platform::Host().str());

  for (const char* bad : {"", "/", "linux/", "/amd64", "linux/amd64/v1/x", "notanos"}) {
    SCOPED_TRACE(bad);
    auto r = Platform::Parse(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("invalid platform"), std::string::npos);
  }
}

TEST(PlatformTest, HostIsLinux) {
  Platform h = Platform::Host();
  EXPECT_EQ(h.os, "linux");
  EXPECT_FALSE(h.architecture.empty());
#if defined(__x86_64__)
  EXPECT_EQ(h.str(), "linux/amd64");
#endif
}

TEST(PlatformTest, Matches) {
  auto P = [](const char* s) { return *Platform::Parse(s); };
  EXPECT_TRUE(P("linux/amd64").Matches(P("linux/amd64")));
  EXPECT_TRUE(P("linux/amd64").Matches(P("linux/x86_64")));
  EXPECT_FALSE(P("linux/amd64").Matches(P("linux/arm64")));
  EXPECT_FALSE(P("linux/amd64").Matches(P("windows/amd64")));
  EXPECT_TRUE(P("linux/arm64").Matches(P("linux/arm64/v8")));
  EXPECT_TRUE(P("linux/arm64/v8").Matches(P("linux/arm64")));
  EXPECT_TRUE(P("linux/arm").Matches(P("linux/arm/v6")));
  EXPECT_TRUE(P("linux/arm/v7").Matches(P("linux/arm")));
  EXPECT_FALSE(P("linux/arm/v7").Matches(P("linux/arm/v6")));
  EXPECT_FALSE(P("linux/arm64/v9").Matches(P("linux/arm64/v8")));
  EXPECT_FALSE(P("linux/arm64").Matches(P("linux/arm64/v9")) &&
               P("linux/arm64/v8").Matches(P("linux/arm64/v9")));
  Platform raw;  // unnormalised values from a JSON document
  raw.os = "linux";
  raw.architecture = "aarch64";
  EXPECT_TRUE(P("linux/arm64/v8").Matches(raw));
}

TEST(DescriptorTest, RoundTrip) {
  Descriptor d;
  d.media_type = std::string(kMediaTypeOciManifest);
  d.digest = Digest::Of("hello");
  d.size = 5;
  d.urls = {"https://example.com/x"};
  d.annotations = {{"org.opencontainers.image.ref.name", "latest"}, {"a", "b"}};
  Platform p = *Platform::Parse("linux/arm64/v8");
  p.os_version = "10.0";
  p.os_features = {"win32k"};
  d.platform = p;
  d.artifact_type = "application/x-test";
  nlohmann::json j = ToJson(d);
  auto back = DescriptorFromJson(j);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, d);
  // Ordered form: Go field order.
  EXPECT_EQ(ToOrderedJson(d).dump().substr(0, 40),
            std::string("{\"mediaType\":\"") + std::string(kMediaTypeOciManifest).substr(0, 26));
  EXPECT_EQ(
      ToOrderedJson(*d.platform).dump(),
      R"({"architecture":"arm64","os":"linux","os.version":"10.0","os.features":["win32k"],"variant":"v8"})");

  Descriptor minimal;
  minimal.media_type = "x";
  minimal.digest = Digest::Of("");
  EXPECT_EQ(ToOrderedJson(minimal).dump(),
            "{\"mediaType\":\"x\",\"digest\":\"" + minimal.digest.str() + "\",\"size\":0}");
}

TEST(DescriptorTest, Rejects) {
  const std::string dig = Digest::Of("x").str();
  struct Bad {
    std::string json;
    std::string fragment;
  };
  const Bad cases[] = {
      {R"([])", "expected an object"},
      {R"({"digest":")" + dig + R"(","size":1})", "mediaType is missing"},
      {R"({"mediaType":"a","size":1})", "digest is missing"},
      {R"({"mediaType":"a","digest":"sha256:abc","size":1})", "64 hex"},
      {R"({"mediaType":"a","digest":")" + dig + R"("})", "size is missing"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":-1})", "must not be negative"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":1.5})", "expected an integer"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":"1"})", "expected an integer"},
      {R"({"mediaType":1,"digest":")" + dig + R"(","size":1})", "expected a string"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":1,"urls":[1]})", "urls"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":1,"annotations":{"k":1}})",
       "annotations.k"},
      {R"({"mediaType":"a","digest":")" + dig + R"(","size":1,"platform":{"os":"linux"}})",
       "platform.architecture is missing"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.json);
    auto r = DescriptorFromJson(nlohmann::json::parse(b.json));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(b.fragment), std::string::npos) << r.error().message();
  }
}

TEST(MediaTypesTest, Classify) {
  EXPECT_TRUE(IsIndexMediaType(kMediaTypeOciIndex));
  EXPECT_TRUE(IsIndexMediaType(kMediaTypeDockerManifestList));
  EXPECT_FALSE(IsIndexMediaType(kMediaTypeOciManifest));
  EXPECT_TRUE(IsManifestMediaType(kMediaTypeOciManifest));
  EXPECT_TRUE(IsManifestMediaType(kMediaTypeDockerManifest));
  EXPECT_FALSE(IsManifestMediaType(kMediaTypeDockerManifestSchema1));
  Compression c;
  ASSERT_TRUE(LayerCompression(kMediaTypeOciLayer, &c));
  EXPECT_EQ(c, Compression::kNone);
  ASSERT_TRUE(LayerCompression(kMediaTypeDockerLayerGzip, &c));
  EXPECT_EQ(c, Compression::kGzip);
  ASSERT_TRUE(LayerCompression(kMediaTypeOciLayerZstd, &c));
  EXPECT_EQ(c, Compression::kZstd);
  ASSERT_TRUE(LayerCompression(kMediaTypeOciLayerNondistributableGzip, &c));
  EXPECT_EQ(c, Compression::kGzip);
  EXPECT_FALSE(LayerCompression(kMediaTypeOciConfig, &c));
  EXPECT_FALSE(IsLayerMediaType(kMediaTypeOciManifest));
  EXPECT_TRUE(IsLayerMediaType(kMediaTypeDockerLayerZstd));
  EXPECT_EQ(OciLayerMediaType(Compression::kGzip), kMediaTypeOciLayerGzip);
  EXPECT_EQ(OciLayerMediaType(Compression::kNone), kMediaTypeOciLayer);
  EXPECT_EQ(DockerLayerMediaType(Compression::kGzip), kMediaTypeDockerLayerGzip);
  EXPECT_EQ(DockerLayerMediaType(Compression::kZstd), kMediaTypeDockerLayerZstd);
}

}  // namespace
}  // namespace bld::oci
