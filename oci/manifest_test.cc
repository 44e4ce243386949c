#include "oci/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/media_types.h"

namespace bld::oci {
namespace {

Descriptor Desc(std::string_view media_type, std::string_view content) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::Of(content);
  d.size = static_cast<int64_t>(content.size());
  return d;
}

Manifest SampleManifest() {
  Manifest m;
  m.media_type = std::string(kMediaTypeOciManifest);
  m.config = Desc(kMediaTypeOciConfig, "config");
  m.layers = {Desc(kMediaTypeOciLayerGzip, "l1"), Desc(kMediaTypeOciLayerZstd, "l2")};
  m.annotations = {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}};
  return m;
}

TEST(ManifestTest, RoundTripAndCanonicalForm) {
  Manifest m = SampleManifest();
  std::string json = m.ToJson();
  // Keys in the OCI field order, no whitespace.
  EXPECT_EQ(
      json.rfind(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":)",
          0),
      0u)
      << json;
  EXPECT_EQ(json.find(' '), std::string::npos);
  auto back = Manifest::Parse(json);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->ToJson(), json);
  EXPECT_EQ(back->config, m.config);
  EXPECT_EQ(back->layers, m.layers);
  EXPECT_EQ(back->annotations, m.annotations);

  m.subject = Desc(kMediaTypeOciManifest, "subject");
  m.artifact_type = "application/x-sbom";
  auto with_subject = Manifest::Parse(m.ToJson());
  ASSERT_TRUE(with_subject.ok()) << with_subject.error().message();
  EXPECT_EQ(with_subject->subject, m.subject);
  EXPECT_EQ(with_subject->artifact_type, "application/x-sbom");
}

TEST(ManifestTest, DockerV2s2) {
  const std::string cfg = Digest::Of("c").str();
  const std::string layer = Digest::Of("l").str();
  std::string json = R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": ")" +
                     cfg + R"("},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": ")" +
                     layer + R"("}]
  })";
  auto m = Manifest::Parse(json);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->media_type, kMediaTypeDockerManifest);
  EXPECT_EQ(m->config.media_type, kMediaTypeDockerConfig);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest.str(), layer);
  // Re-serialising keeps the Docker media type.
  EXPECT_NE(m->ToJson().find(std::string(kMediaTypeDockerManifest)), std::string::npos);
  EXPECT_EQ(*DetectMediaType(json), kMediaTypeDockerManifest);
}

TEST(ManifestTest, MissingMediaTypeIsOci) {
  Manifest m = SampleManifest();
  m.media_type.clear();
  std::string json = m.ToJson();
  EXPECT_EQ(json.find("\"mediaType\":\"application/vnd.oci.image.manifest"), std::string::npos);
  auto back = Manifest::Parse(json);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->media_type, kMediaTypeOciManifest);
  EXPECT_EQ(*DetectMediaType(json), kMediaTypeOciManifest);
}

void ExpectManifestReject(const std::string& json, const std::string& fragment) {
  SCOPED_TRACE(json);
  auto r = Manifest::Parse(json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST(ManifestTest, Rejects) {
  const std::string good_config = ToOrderedJson(Desc(kMediaTypeOciConfig, "c")).dump();
  ExpectManifestReject("", "malformed JSON");
  ExpectManifestReject("{", "malformed JSON");
  ExpectManifestReject("[]", "expected a JSON object");
  ExpectManifestReject(R"({"schemaVersion":1,"fsLayers":[]})", "schema 1");
  ExpectManifestReject(
      R"({"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"})",
      "schema 1");
  ExpectManifestReject(R"({"schemaVersion":2,"mediaType":")" + std::string(kMediaTypeOciIndex) +
                           R"(","manifests":[]})",
                       "is an index");
  ExpectManifestReject(R"({"schemaVersion":2,"manifests":[]})", "is an index");
  ExpectManifestReject(
      R"({"schemaVersion":2,"mediaType":"text/plain","config":)" + good_config + R"(,"layers":[]})",
      "unsupported manifest type");
  ExpectManifestReject(R"({"config":)" + good_config + R"(,"layers":[]})",
                       "schemaVersion is missing");
  ExpectManifestReject(R"({"schemaVersion":3,"config":)" + good_config + R"(,"layers":[]})",
                       "expected 2");
  ExpectManifestReject(R"({"schemaVersion":2,"layers":[]})", "config is missing");
  ExpectManifestReject(R"({"schemaVersion":2,"config":)" + good_config + "}", "layers is missing");
  ExpectManifestReject(R"({"schemaVersion":2,"config":)" + good_config + R"(,"layers":{}})",
                       "expected an array");
  ExpectManifestReject(R"({"schemaVersion":2,"config":)" + good_config +
                           R"(,"layers":[{"mediaType":"x","digest":"sha256:00","size":1}]})",
                       "manifest.layers[0]: descriptor.digest");
  ExpectManifestReject(R"({"schemaVersion":2,"config":{"digest":"x"},"layers":[]})",
                       "manifest.config");
}

Index SampleIndex() {
  Index idx;
  idx.media_type = std::string(kMediaTypeOciIndex);
  auto add = [&](const char* platform, const char* content) {
    Descriptor d = Desc(kMediaTypeOciManifest, content);
    if (platform != nullptr) d.platform = *Platform::Parse(platform);
    idx.manifests.push_back(d);
  };
  add("linux/amd64", "amd64");
  add("linux/arm/v6", "armv6");
  add("linux/arm/v7", "armv7");
  add("linux/arm64", "arm64-novariant");
  add("linux/arm64/v8", "arm64v8");
  add(nullptr, "attestation");
  return idx;
}

TEST(IndexTest, RoundTrip) {
  Index idx = SampleIndex();
  idx.annotations = {{"a", "b"}};
  std::string json = idx.ToJson();
  EXPECT_EQ(
      json.rfind(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)",
          0),
      0u);
  auto back = Index::Parse(json);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->manifests, idx.manifests);
  EXPECT_EQ(back->annotations, idx.annotations);
  EXPECT_EQ(back->ToJson(), json);
  EXPECT_EQ(*DetectMediaType(json), kMediaTypeOciIndex);

  Index no_type = idx;
  no_type.media_type.clear();
  auto parsed = Index::Parse(no_type.ToJson());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->media_type, kMediaTypeOciIndex);
  EXPECT_EQ(*DetectMediaType(no_type.ToJson()), kMediaTypeOciIndex);
}

TEST(IndexTest, Rejects) {
  for (const auto& [json, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"nope", "malformed JSON"},
           {R"({"schemaVersion":2})", "manifests is missing"},
           {R"({"schemaVersion":2,"manifests":{}})", "expected an array"},
           {R"({"schemaVersion":2,"mediaType":")" + std::string(kMediaTypeOciManifest) +
                R"(","manifests":[]})",
            "is a manifest"},
           {R"({"schemaVersion":2,"layers":[],"config":{}})", "is a manifest"},
           {R"({"schemaVersion":2,"manifests":[{"mediaType":"x"}]})",
            "index.manifests[0]: descriptor.digest is missing"},
       }) {
    SCOPED_TRACE(json);
    auto r = Index::Parse(json);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
  }
}

TEST(IndexTest, DockerManifestList) {
  Index idx = SampleIndex();
  idx.media_type = std::string(kMediaTypeDockerManifestList);
  auto back = Index::Parse(idx.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->media_type, kMediaTypeDockerManifestList);
}

TEST(IndexTest, SelectPlatform) {
  Index idx = SampleIndex();
  auto pick = [&](const char* p) -> std::string {
    auto d = idx.SelectPlatform(*Platform::Parse(p));
    if (!d.ok()) return "error: " + d.error().message();
    for (const char* c : {"amd64", "armv6", "armv7", "arm64-novariant", "arm64v8"}) {
      if (d->digest == Digest::Of(c)) return c;
    }
    return "?";
  };
  EXPECT_EQ(pick("linux/amd64"), "amd64");
  EXPECT_EQ(pick("linux/x86_64"), "amd64");
  EXPECT_EQ(pick("linux/arm/v7"), "armv7");
  EXPECT_EQ(pick("linux/arm/v6"), "armv6");
  // Exact variant preferred over the earlier variant-less entry.
  EXPECT_EQ(pick("linux/arm64/v8"), "arm64v8");
  EXPECT_EQ(pick("linux/arm64"), "arm64-novariant");
  auto missing = idx.SelectPlatform(*Platform::Parse("linux/s390x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("linux/s390x"), std::string::npos);
  EXPECT_NE(missing.error().message().find("linux/amd64, linux/arm/v6, linux/arm/v7"),
            std::string::npos)
      << missing.error().message();

  // A variant-less entry serves a host that wants a variant.
  Index only_arm;
  Descriptor d = Desc(kMediaTypeOciManifest, "arm");
  d.platform = Platform{"linux", "arm", "", "", {}};
  only_arm.manifests = {d};
  auto r = only_arm.SelectPlatform(*Platform::Parse("linux/arm/v7"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digest, d.digest);
}

TEST(DetectMediaTypeTest, Shapes) {
  EXPECT_EQ(*DetectMediaType(R"({"mediaType":"foo"})"), "foo");
  EXPECT_EQ(*DetectMediaType(R"({"fsLayers":[]})"), kMediaTypeDockerManifestSchema1);
  EXPECT_EQ(*DetectMediaType(R"({"fsLayers":[],"signatures":[]})"),
            kMediaTypeDockerManifestSchema1Signed);
  EXPECT_EQ(*DetectMediaType(R"({"layers":[]})"), kMediaTypeOciManifest);
  EXPECT_FALSE(DetectMediaType("{}").ok());
  EXPECT_FALSE(DetectMediaType("not json").ok());
  EXPECT_FALSE(DetectMediaType("[1]").ok());
}

}  // namespace
}  // namespace bld::oci
