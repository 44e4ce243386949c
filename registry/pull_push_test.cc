// Pull and push against the in-memory registry, with a real local store.
#include <gtest/gtest.h>

#include <random>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "registry/blob_sources.h"
#include "registry/fake_registry_test.h"
#include "registry/pull.h"
#include "registry/push.h"

namespace bld::registry {
namespace {

using testing::FakeRegistry;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class PullPushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    store_ = Open("a");
    fake_ = std::make_shared<FakeRegistry>();
  }
  std::unique_ptr<oci::Store> Open(const std::string& name) {
    auto s = oci::Store::Open(dir_->path() + "/" + name);
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
  std::unique_ptr<Client> MakeClient() {
    ClientOptions o;
    o.lookup_credentials = false;
    o.retry.attempts = 3;
    o.retry.initial_backoff = std::chrono::milliseconds(1);
    auto c = Client::Create("localhost:5000", o, fake_);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  // Writes an image with `layers` random layers into `store`; returns its manifest descriptor.
  oci::Descriptor MakeImage(const oci::Store& store, int layers, unsigned seed,
                            std::string_view manifest_type = oci::kMediaTypeOciManifest,
                            const std::string& arch = "amd64") {
    oci::Manifest m;
    m.media_type = std::string(manifest_type);
    const bool docker = manifest_type == oci::kMediaTypeDockerManifest;
    std::string config = R"({"architecture":")" + arch + R"(","os":"linux","seed":)" +
                         std::to_string(seed) + R"(,"rootfs":{"type":"layers","diff_ids":[]}})";
    m.config.media_type = docker ? oci::kMediaTypeDockerConfig : oci::kMediaTypeOciConfig;
    m.config.digest = *store.WriteBlob(config);
    m.config.size = static_cast<int64_t>(config.size());
    for (int i = 0; i < layers; ++i) {
      std::string data = RandomBytes(1000 + 100 * i, seed * 100 + i);
      oci::Descriptor l;
      l.media_type = docker ? oci::kMediaTypeDockerLayerGzip : oci::kMediaTypeOciLayerGzip;
      l.digest = *store.WriteBlob(data);
      l.size = static_cast<int64_t>(data.size());
      m.layers.push_back(l);
    }
    std::string json = m.ToJson();
    oci::Descriptor d;
    d.media_type = m.media_type;
    d.digest = *store.WriteBlob(json);
    d.size = static_cast<int64_t>(json.size());
    return d;
  }
  oci::Reference Ref(const std::string& s) { return *oci::Reference::Parse(s); }

  std::optional<TempDir> dir_;
  std::unique_ptr<oci::Store> store_;
  std::shared_ptr<FakeRegistry> fake_;
};

TEST_F(PullPushTest, RoundTripKeepsBytesAndMediaTypes) {
  for (auto mt : {oci::kMediaTypeOciManifest, oci::kMediaTypeDockerManifest}) {
    SCOPED_TRACE(std::string(mt));
    oci::Descriptor img = MakeImage(*store_, 3, mt == oci::kMediaTypeOciManifest ? 1 : 2, mt);
    auto client = MakeClient();
    auto pushed = Push(*client, *store_, img, Ref("localhost:5000/app:v1"));
    ASSERT_TRUE(pushed.ok()) << pushed.error().message();
    EXPECT_EQ(pushed->digest, img.digest);
    EXPECT_EQ(fake_->manifests["app@v1"].media_type, mt);
    EXPECT_EQ(fake_->manifests["app@v1"].bytes, *store_->ReadBlob(img.digest));

    auto other = Open(std::string("b") + std::string(mt).substr(20, 6));
    auto pulled = Pull(*client, *other, Ref("localhost:5000/app:v1"));
    ASSERT_TRUE(pulled.ok()) << pulled.error().message();
    EXPECT_EQ(pulled->target.digest, img.digest);
    EXPECT_EQ(pulled->target.media_type, mt);
    EXPECT_EQ(pulled->blobs_fetched, 4);
    EXPECT_EQ(*other->ReadBlob(img.digest), *store_->ReadBlob(img.digest));
    auto tag = other->ResolveTag("localhost:5000/app:v1");
    ASSERT_TRUE(tag.ok());
    EXPECT_EQ(tag->digest, img.digest);

    // Pulling again fetches nothing.
    auto again = Pull(*client, *other, Ref("localhost:5000/app:v1"));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->blobs_fetched, 0);
    EXPECT_EQ(again->blobs_present, 4);
  }
}

TEST_F(PullPushTest, SecondPushUploadsNothing) {
  oci::Descriptor img = MakeImage(*store_, 2, 3);
  auto client = MakeClient();
  auto first = Push(*client, *store_, img, Ref("localhost:5000/app:v1"));
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->uploaded, 3);
  int puts = fake_->Count("PUT");
  auto second = Push(*client, *store_, img, Ref("localhost:5000/app:v1"));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->up_to_date);
  EXPECT_EQ(fake_->Count("PUT"), puts);
  // Another tag: blobs are found by HEAD, only the manifest is sent.
  auto third = Push(*client, *store_, img, Ref("localhost:5000/app:v2"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->uploaded, 0);
  EXPECT_EQ(third->existing, 3);
  EXPECT_EQ(fake_->Count("PUT"), puts + 1);
  EXPECT_EQ(fake_->Count("POST"), 3);
}

TEST_F(PullPushTest, CrossRepositoryMountFromRecordedSource) {
  oci::Descriptor img = MakeImage(*store_, 2, 4);
  auto client = MakeClient();
  ASSERT_TRUE(Push(*client, *store_, img, Ref("localhost:5000/one:v1")).ok());
  BlobSources sources(store_->root());
  EXPECT_EQ(sources.Lookup("localhost:5000", img.digest), std::vector<std::string>{"one"});
  auto second = Push(*client, *store_, img, Ref("localhost:5000/two:v1"));
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->mounted, 3);
  EXPECT_EQ(second->uploaded, 0);
  EXPECT_EQ(fake_->Count("POST /v2/two/blobs/uploads/?mount="), 3);
  EXPECT_EQ(sources.Lookup("localhost:5000", img.digest), (std::vector<std::string>{"two", "one"}));
}

TEST_F(PullPushTest, PullChoosesPlatformFromIndex) {
  auto client = MakeClient();
  oci::Index index;
  index.media_type = oci::kMediaTypeOciIndex;
  std::map<std::string, oci::Descriptor> by_arch;
  for (const std::string arch : {"amd64", "arm64", "s390x"}) {
    oci::Descriptor d = MakeImage(*store_, 1, static_cast<unsigned>(arch.size() + arch[1]),
                                  oci::kMediaTypeOciManifest, arch);
    d.platform = oci::Platform{"linux", arch, arch == "arm64" ? "v8" : "", "", {}};
    ASSERT_TRUE(Push(*client, *store_, d, Ref("localhost:5000/multi:" + arch)).ok());
    index.manifests.push_back(d);
    by_arch[arch] = d;
  }
  std::string index_json = index.ToJson();
  std::string idx_digest =
      fake_->PutManifest("multi", "latest", std::string(oci::kMediaTypeOciIndex), index_json);

  for (const std::string arch : {"arm64", "s390x"}) {
    auto other = Open("pull-" + arch);
    PullOptions o;
    o.platform = *oci::Platform::Parse("linux/" + arch);
    auto r = Pull(*client, *other, Ref("localhost:5000/multi:latest"), o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->target.digest, by_arch[arch].digest);
    ASSERT_TRUE(r->index.has_value());
    EXPECT_EQ(r->index->digest.str(), idx_digest);
    EXPECT_EQ(*other->ReadBlob(r->index->digest), index_json);  // stored as served
    EXPECT_EQ(other->ResolveTag("localhost:5000/multi:latest")->digest, by_arch[arch].digest);
    // Only that platform's blobs were fetched.
    EXPECT_FALSE(other->HasBlob(by_arch["amd64"].digest));
  }
  auto none = Open("pull-none");
  PullOptions o;
  o.platform = *oci::Platform::Parse("linux/riscv64");
  auto r = Pull(*client, *none, Ref("localhost:5000/multi:latest"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no manifest for platform linux/riscv64"), std::string::npos)
      << r.error().message();
}

TEST_F(PullPushTest, CorruptBlobIsRefusedAndNothingStored) {
  oci::Descriptor img = MakeImage(*store_, 2, 5);
  auto client = MakeClient();
  ASSERT_TRUE(Push(*client, *store_, img, Ref("localhost:5000/app:v1")).ok());
  auto m = oci::Manifest::Parse(*store_->ReadBlob(img.digest));
  fake_->corrupt_blob = m->layers[1].digest.str();
  auto other = Open("other");
  auto r = Pull(*client, *other, Ref("localhost:5000/app:v1"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("does not match its descriptor; not stored"),
            std::string::npos)
      << r.error().message();
  EXPECT_FALSE(other->HasBlob(m->layers[1].digest));
  EXPECT_FALSE(other->HasBlob(img.digest));
  EXPECT_FALSE(other->ResolveTag("localhost:5000/app:v1").ok());
  EXPECT_TRUE(ListDir(other->root() + "/ingest")->empty());
}

TEST_F(PullPushTest, TruncatedTransferRetriedThenClearError) {
  oci::Descriptor img = MakeImage(*store_, 1, 6);
  auto client = MakeClient();
  ASSERT_TRUE(Push(*client, *store_, img, Ref("localhost:5000/app:v1")).ok());
  auto m = oci::Manifest::Parse(*store_->ReadBlob(img.digest));
  fake_->truncate_blob = m->layers[0].digest.str();
  auto other = Open("other");
  auto r = Pull(*client, *other, Ref("localhost:5000/app:v1"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("after 3 tries"), std::string::npos) << r.error().message();
  EXPECT_FALSE(other->HasBlob(m->layers[0].digest));
  EXPECT_TRUE(ListDir(other->root() + "/ingest")->empty());
  // A transient failure is survived.
  fake_->truncate_blob.clear();
  fake_->fail_connections = 1;
  auto ok = Pull(*client, *other, Ref("localhost:5000/app:v1"));
  ASSERT_TRUE(ok.ok()) << ok.error().message();
}

TEST_F(PullPushTest, CompressionMismatchIsAnError) {
  oci::Descriptor img = MakeImage(*store_, 1, 7);
  auto client = MakeClient();
  PushOptions o;
  o.compression = oci::Compression::kZstd;
  auto r = Push(*client, *store_, img, Ref("localhost:5000/app:v1"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--compression zstd"), std::string::npos);
  EXPECT_NE(r.error().message().find("not supported yet"), std::string::npos);
  EXPECT_EQ(fake_->Count("PUT"), 0);
  o.compression = oci::Compression::kGzip;
  EXPECT_TRUE(Push(*client, *store_, img, Ref("localhost:5000/app:v1"), o).ok());
}

TEST_F(PullPushTest, PushByDigestAndPullByDigest) {
  oci::Descriptor img = MakeImage(*store_, 1, 8);
  auto client = MakeClient();
  auto ref = Ref("localhost:5000/app@" + img.digest.str());
  ASSERT_TRUE(Push(*client, *store_, img, ref).ok());
  auto other = Open("other");
  auto r = Pull(*client, *other, ref);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->target.digest, img.digest);
  EXPECT_EQ(r->name, "localhost:5000/app@" + img.digest.str());
}

}  // namespace
}  // namespace bld::registry
