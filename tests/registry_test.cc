// bld pull / bld push against Debian's docker-registry on 127.0.0.1 (plain HTTP).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PathExists(kRegistryBinary)) return;
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.error().message();
    registry_ = r->release();
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (registry_ == nullptr) GTEST_SKIP() << "needs " << kRegistryBinary << " (docker-registry)";
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    // No stray credentials from the machine running the tests.
    setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/auth.json").c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
  }
  std::string Root(const std::string& name) { return tmp_->path() + "/" + name; }
  std::unique_ptr<oci::Store> OpenStore(const std::string& root) {
    auto s = oci::Store::Open(root);
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
  // The store name of `repo_tag` on the test registry.
  std::string Name(const std::string& repo_tag) {
    return oci::Reference::Parse(registry_->host() + "/" + repo_tag)->str();
  }
  // Polls the registry's access log: its lines can trail the responses a little.
  int WaitForCount(const std::string& method, const std::string& uri, int want) {
    int n = 0;
    for (int i = 0; i < 50; ++i) {
      n = registry_->CountRequests(method, uri);
      if (n >= want) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return n;
  }
  int Uploads(const std::string& repo) {
    return registry_->CountRequests("PUT", "/v2/" + repo + "/blobs/uploads/") +
           registry_->CountRequests("PATCH", "/v2/" + repo + "/blobs/uploads/");
  }

  static TestRegistry* registry_;
  std::optional<TempDir> tmp_;
};

TestRegistry* RegistryTest::registry_ = nullptr;

TEST_F(RegistryTest, PushThenPullRoundTrip) {
  auto src = OpenStore(Root("src"));
  oci::Descriptor img = WriteRandomImage(*src, 3, 1, 200000);
  ASSERT_TRUE(src->SetTag(Name("round/trip:v1"), img).ok());

  auto push = RunBld(Root("src"), {"push", registry_->host() + "/round/trip:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(Trim(push.out), img.digest.str());
  EXPECT_EQ(WaitForCount("PUT", "/v2/round/trip/manifests/v1", 1), 1);

  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/round/trip:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto dst = OpenStore(Root("dst"));
  auto tag = dst->ResolveTag(Name("round/trip:v1"));
  ASSERT_TRUE(tag.ok()) << tag.error().message();
  EXPECT_EQ(tag->digest, img.digest);
  EXPECT_EQ(tag->media_type, oci::kMediaTypeOciManifest);
  auto manifest = oci::Manifest::Parse(*dst->ReadBlob(img.digest));
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(Trim(pull.out), manifest->config.digest.str());  // the image ID
  EXPECT_EQ(*dst->ReadBlob(img.digest), *src->ReadBlob(img.digest));
  for (const auto& l : manifest->layers) {
    EXPECT_TRUE(dst->VerifyBlob(l.digest).ok()) << l.digest.str();
  }
  // Pulling again fetches no blob.
  int gets = registry_->CountRequests("GET", "/v2/round/trip/blobs/");
  auto again = RunBld(Root("dst"), {"pull", registry_->host() + "/round/trip:v1"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(registry_->CountRequests("GET", "/v2/round/trip/blobs/"), gets);
}

TEST_F(RegistryTest, SecondPushUploadsNoBlob) {
  auto src = OpenStore(Root("src"));
  oci::Descriptor img = WriteRandomImage(*src, 2, 2);
  ASSERT_TRUE(src->SetTag(Name("again/app:v1"), img).ok());
  auto first = RunBld(Root("src"), {"push", registry_->host() + "/again/app:v1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(WaitForCount("PUT", "/v2/again/app/manifests/v1", 1), 1);
  EXPECT_EQ(Uploads("again/app"), 3);  // config + 2 layers, one PUT each

  auto t0 = std::chrono::steady_clock::now();
  auto second = RunBld(Root("src"), {"push", registry_->host() + "/again/app:v1"});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Trim(second.out), img.digest.str());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Uploads("again/app"), 3);
  EXPECT_EQ(registry_->CountRequests("PUT", "/v2/again/app/manifests/"), 1);
  EXPECT_EQ(registry_->CountRequests("POST", "/v2/again/app/blobs/uploads/"), 3);
  // Generous bound for sanitizer builds on a loaded machine; the benchmark measures it properly.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 5000);

  // Another tag of the same image: blobs found by HEAD, only the manifest is sent.
  auto tag2 =
      RunBld(Root("src"), {"push", Name("again/app:v1"), registry_->host() + "/again/app:v2"});
  ASSERT_EQ(tag2.exit_code, 0) << tag2.err;
  EXPECT_EQ(WaitForCount("PUT", "/v2/again/app/manifests/v2", 1), 1);
  EXPECT_EQ(Uploads("again/app"), 3);
}

TEST_F(RegistryTest, CrossRepositoryMount) {
  auto src = OpenStore(Root("src"));
  oci::Descriptor img = WriteRandomImage(*src, 2, 3);
  ASSERT_TRUE(src->SetTag(Name("mount/one:v1"), img).ok());
  auto first = RunBld(Root("src"), {"push", registry_->host() + "/mount/one:v1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second =
      RunBld(Root("src"), {"push", Name("mount/one:v1"), registry_->host() + "/mount/two:v1"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("3 mounted"), std::string::npos) << second.err;
  EXPECT_EQ(WaitForCount("POST", "/v2/mount/two/blobs/uploads/?mount=sha256:", 3), 3);
  EXPECT_EQ(Uploads("mount/two"), 0);

  // A store that pulled from mount/one mounts from there too.
  auto pull = RunBld(Root("other"), {"pull", registry_->host() + "/mount/one:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto third =
      RunBld(Root("other"), {"push", Name("mount/one:v1"), registry_->host() + "/mount/three:v1"});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(WaitForCount("POST", "/v2/mount/three/blobs/uploads/?mount=sha256:", 3), 3);
  EXPECT_EQ(Uploads("mount/three"), 0);
}

TEST_F(RegistryTest, MultiPlatformIndexPicksPlatform) {
  auto src = OpenStore(Root("src"));
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeOciIndex);
  std::map<std::string, oci::Descriptor> by_arch;
  for (const std::string arch : {"amd64", "arm64", "ppc64le"}) {
    oci::Descriptor d = WriteRandomImage(*src, 1, 10 + static_cast<unsigned>(arch[1]), 1000, arch);
    d.platform = oci::Platform{"linux", arch, "", "", {}};
    index.manifests.push_back(d);
    by_arch[arch] = d;
  }
  std::string index_json = index.ToJson();
  oci::Descriptor idx;
  idx.media_type = index.media_type;
  idx.digest = *src->WriteBlob(index_json);
  idx.size = static_cast<int64_t>(index_json.size());
  ASSERT_TRUE(src->SetTag(Name("multi/app:latest"), idx).ok());
  auto push = RunBld(Root("src"), {"push", registry_->host() + "/multi/app:latest"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(Trim(push.out), idx.digest.str());

  for (const std::string arch : {"arm64", "ppc64le"}) {
    std::string root = Root("pull-" + arch);
    auto pull =
        RunBld(root, {"pull", "--platform", "linux/" + arch, registry_->host() + "/multi/app"});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    auto dst = OpenStore(root);
    auto tag = dst->ResolveTag(Name("multi/app:latest"));
    ASSERT_TRUE(tag.ok());
    EXPECT_EQ(tag->digest, by_arch[arch].digest);
    EXPECT_EQ(*dst->ReadBlob(idx.digest), index_json);  // the index as served
    EXPECT_FALSE(dst->HasBlob(by_arch["amd64"].digest));
  }
  // The default is the host's platform.
  auto pull = RunBld(Root("pull-host"), {"pull", registry_->host() + "/multi/app:latest"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto host = OpenStore(Root("pull-host"));
  EXPECT_EQ(host->ResolveTag(Name("multi/app:latest"))->digest,
            by_arch[oci::Platform::Host().architecture].digest);
  auto none = RunBld(Root("pull-none"),
                     {"pull", "--platform", "linux/s390x", registry_->host() + "/multi/app"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no manifest for platform linux/s390x"), std::string::npos) << none.err;
}

TEST_F(RegistryTest, ClearErrors) {
  auto missing = RunBld(Root("x"), {"pull", registry_->host() + "/does/not-exist:v1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(registry_->host() + "/does/not-exist: GET "
                                                 "/v2/does/not-exist/manifests/v1: 404 Not Found"),
            std::string::npos)
      << missing.err;
  EXPECT_NE(missing.err.find("MANIFEST_UNKNOWN: manifest unknown"), std::string::npos)
      << missing.err;

  auto noimage = RunBld(Root("x"), {"push", "nothing-here:v1", registry_->host() + "/a:b"});
  EXPECT_NE(noimage.exit_code, 0);
  EXPECT_NE(noimage.err.find("nothing-here"), std::string::npos) << noimage.err;

  auto src = OpenStore(Root("src"));
  oci::Descriptor img = WriteRandomImage(*src, 1, 4);
  ASSERT_TRUE(src->SetTag(Name("comp/app:v1"), img).ok());
  auto comp = RunBld(Root("src"), {"push", "--compression", "zstd", Name("comp/app:v1")});
  EXPECT_EQ(comp.exit_code, 1);
  EXPECT_NE(comp.err.find("not supported yet"), std::string::npos) << comp.err;
  auto bad = RunBld(Root("src"), {"push", "--compression", "lz4", Name("comp/app:v1")});
  EXPECT_EQ(bad.exit_code, 2);

  // Nothing listens here: a clear error after the retries.
  int port = FreePort();
  auto down = RunBld(Root("x"), {"pull", "127.0.0.1:" + std::to_string(port) + "/a:b"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot reach the registry"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace bld::testing
