// Interop with the peers: an image pushed by bld is pulled by skopeo and
// unpacked by umoci with identical content; an image pushed by skopeo (OCI and
// Docker v2s2) is pulled by bld and inspects correctly.
#include <gtest/gtest.h>

#include <cstdlib>

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

class RegistryInteropTest : public ::testing::Test {
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
    if (registry_ == nullptr) GTEST_SKIP() << "needs docker-registry";
    if (!HaveProgram("skopeo") || !HaveProgram("umoci")) GTEST_SKIP() << "needs skopeo and umoci";
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    setenv("REGISTRY_AUTH_FILE", (tmp_->path() + "/auth.json").c_str(), 1);
    setenv("DOCKER_CONFIG", (tmp_->path() + "/docker").c_str(), 1);
  }
  std::string Root(const std::string& name) { return tmp_->path() + "/" + name; }
  std::string host() { return registry_->host(); }

  static TestRegistry* registry_;
  std::optional<TempDir> tmp_;
};
TestRegistry* RegistryInteropTest::registry_ = nullptr;

TEST_F(RegistryInteropTest, BldPushSkopeoPullUmociUnpack) {
  ASSERT_TRUE(ImportBusybox(Root("src"), "busybox:interop"));
  auto push = RunBld(Root("src"), {"push", "busybox:interop", host() + "/interop/busybox:v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err;

  std::string layout = Root("layout");
  auto copy =
      bld::testing::Run({"skopeo", "copy", "--src-tls-verify=false",
                         "docker://" + host() + "/interop/busybox:v1", "oci:" + layout + ":img"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  std::string bundle = Root("bundle");
  auto unpack = bld::testing::Run({"umoci", "unpack", "--image", layout + ":img", bundle});
  ASSERT_EQ(unpack.exit_code, 0) << unpack.err;

  // The unpacked tree is the busybox rootfs that was imported.
  std::string expected = Root("expected");
  ASSERT_TRUE(MkdirAll(expected).ok());
  auto untar = bld::testing::Run({"tar", "-xf", BusyboxRootfsTar(), "-C", expected});
  ASSERT_EQ(untar.exit_code, 0) << untar.err;
  auto diff = bld::testing::Run({"diff", "-r", "--no-dereference", expected, bundle + "/rootfs"});
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  EXPECT_EQ(*ReadFile(bundle + "/rootfs/bin/busybox"), *ReadFile(expected + "/bin/busybox"));
  // The pushed manifest is the one bld stored, byte for byte.
  auto src = oci::Store::Open(Root("src"));
  ASSERT_TRUE(src.ok());
  auto tag = (*src)->ResolveTag(oci::Reference::Parse("busybox:interop")->str());
  ASSERT_TRUE(tag.ok());
  auto inspect = bld::testing::Run({"skopeo", "inspect", "--raw", "--tls-verify=false",
                                    "docker://" + host() + "/interop/busybox:v1"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(inspect.out, *(*src)->ReadBlob(tag->digest));
}

TEST_F(RegistryInteropTest, SkopeoPushBldPull) {
  ASSERT_TRUE(ImportBusybox(Root("src"), "busybox:skopeo"));
  std::string name = oci::Reference::Parse("busybox:skopeo")->str();
  // bld's store is an OCI layout: skopeo pushes from it directly, once as OCI
  // and once converted to Docker v2s2.
  for (const auto& [repo, format] :
       {std::pair<std::string, std::string>{"sk/oci", "oci"}, {"sk/docker", "v2s2"}}) {
    SCOPED_TRACE(format);
    auto copy = bld::testing::Run({"skopeo", "copy", "--dest-tls-verify=false", "--format", format,
                                   "oci:" + Root("src") + ":" + name,
                                   "docker://" + host() + "/" + repo + ":v1"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    std::string root = Root("dst-" + format);
    auto pull = RunBld(root, {"pull", host() + "/" + repo + ":v1"});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    auto dst = oci::Store::Open(root);
    ASSERT_TRUE(dst.ok());
    auto tag = (*dst)->ResolveTag(oci::Reference::Parse(host() + "/" + repo + ":v1")->str());
    ASSERT_TRUE(tag.ok());
    EXPECT_EQ(tag->media_type,
              format == "oci" ? oci::kMediaTypeOciManifest : oci::kMediaTypeDockerManifest);
    auto raw = bld::testing::Run({"skopeo", "inspect", "--raw", "--tls-verify=false",
                                  "docker://" + host() + "/" + repo + ":v1"});
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_EQ(*(*dst)->ReadBlob(tag->digest), raw.out);  // stored exactly as served
    auto inspect = RunBld(root, {"inspect", host() + "/" + repo + ":v1"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_NE(inspect.out.find("\"sh\""), std::string::npos) << inspect.out;
    // And bld pushes it on unchanged (same digest), Docker media types included.
    auto push =
        RunBld(root, {"push", host() + "/" + repo + ":v1", host() + "/" + repo + "-again:v1"});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    EXPECT_EQ(push.out, tag->digest.str() + "\n");
  }
}

}  // namespace
}  // namespace bld::testing
