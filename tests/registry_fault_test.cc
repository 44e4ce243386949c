// Faults: connections dropped mid-transfer (a proxy in front of docker-registry)
// and a registry serving a blob whose content does not match its digest.
#include <gtest/gtest.h>

#include <cstdlib>

#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

class RegistryFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PathExists(kRegistryBinary)) GTEST_SKIP() << "needs docker-registry";
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/auth.json").c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.error().message();
    registry_ = std::move(*r);
    // An image with one 2 MB layer, pushed straight to the registry.
    auto s = oci::Store::Open(Root("src"));
    ASSERT_TRUE(s.ok());
    image_ = WriteRandomImage(**s, 1, 41, 2 << 20);
    ASSERT_TRUE(
        (*s)->SetTag(oci::Reference::Parse(registry_->host() + "/fault/app:v1")->str(), image_)
            .ok());
    auto push = RunBld(Root("src"), {"push", registry_->host() + "/fault/app:v1"});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    layer_ = oci::Manifest::Parse(*(*s)->ReadBlob(image_.digest))->layers[0].digest;
  }
  std::string Root(const std::string& name) { return tmp_->path() + "/" + name; }
  // Nothing of the image in the store at `root`, and no partial ingest left.
  void ExpectNothingStored(const std::string& root) {
    auto s = oci::Store::Open(root);
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE((*s)->HasBlob(layer_));
    EXPECT_FALSE((*s)->HasBlob(image_.digest));
    auto tags = (*s)->ListTags();
    ASSERT_TRUE(tags.ok());
    EXPECT_TRUE(tags->empty());
    auto ingest = ListDir(root + "/ingest");
    if (ingest.ok()) EXPECT_TRUE(ingest->empty());
  }

  std::optional<TempDir> tmp_;
  std::unique_ptr<TestRegistry> registry_;
  oci::Descriptor image_;
  oci::Digest layer_;
};

TEST_F(RegistryFaultTest, DroppedConnectionsAreRetriedThenFailClearly) {
  auto proxy = FaultProxy::Start(registry_->port(), 100000);
  ASSERT_TRUE(proxy.ok()) << proxy.error().message();
  std::string via = "127.0.0.1:" + std::to_string((*proxy)->port());
  auto pull = RunBld(Root("dst"), {"pull", via + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("blob " + layer_.str()), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("after 5 tries"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find("retrying"), std::string::npos) << pull.err;
  EXPECT_EQ((*proxy)->drops(), 5);
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, TransientDropIsSurvived) {
  auto proxy = FaultProxy::Start(registry_->port(), 100000, 1);
  ASSERT_TRUE(proxy.ok()) << proxy.error().message();
  std::string via = "127.0.0.1:" + std::to_string((*proxy)->port());
  auto pull = RunBld(Root("dst"), {"pull", via + "/fault/app:v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ((*proxy)->drops(), 1);
  auto s = oci::Store::Open(Root("dst"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->VerifyBlob(layer_).ok());
}

TEST_F(RegistryFaultTest, BlobWithWrongDigestIsRefused) {
  // Corrupt the registry's copy of the layer, keeping its size.
  std::string path = registry_->BlobDataPath(layer_.hex());
  auto data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.error().message();
  (*data)[1000] = static_cast<char>((*data)[1000] ^ 0x55);
  ASSERT_TRUE(WriteFileAtomic(path, *data).ok());

  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("blob " + layer_.str() + " does not match its descriptor; not stored"),
            std::string::npos)
      << pull.err;
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, ManifestNotMatchingDockerContentDigestIsRefused) {
  // Other bytes (still a valid manifest) behind the tag: the registry's
  // Docker-Content-Digest header still names the pushed manifest.
  std::string path = registry_->BlobDataPath(image_.digest.hex());
  auto data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.error().message();
  ASSERT_TRUE(WriteFileAtomic(path, *data + "\n").ok());

  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1) << pull.err;
  EXPECT_NE(pull.err.find("Docker-Content-Digest says " + image_.digest.str()), std::string::npos)
      << pull.err;
  ExpectNothingStored(Root("dst"));
}

TEST_F(RegistryFaultTest, RegistryStoppedFailsClearly) {
  registry_->Stop();
  auto pull = RunBld(Root("dst"), {"pull", registry_->host() + "/fault/app:v1"});
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("cannot reach the registry"), std::string::npos) << pull.err;
  ExpectNothingStored(Root("dst"));
}

}  // namespace
}  // namespace bld::testing
