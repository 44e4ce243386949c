// bld run --pull against a docker-registry on 127.0.0.1: a name not in the store is pulled
// (as docker run does), --pull always fetches the new image, --pull never does not.
#include <gtest/gtest.h>

#include "base/file.h"
#include "base/temp_dir.h"
#include "tests/registry_fixture.h"
#include "tests/testutil.h"

namespace bld::testing {
namespace {

TEST(CliRunPullTest, PullPolicies) {
  if (!IsRoot()) GTEST_SKIP() << "bld run needs root here";
  if (!PathExists(kRegistryBinary)) GTEST_SKIP() << "needs docker-registry";
  auto reg = TestRegistry::Start();
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  auto d = TempDir::Create("", "bld-run-pull-");
  ASSERT_TRUE(d.ok());
  std::string src = d->path() + "/src", dst = d->path() + "/dst";
  std::string name = (*reg)->host() + "/t/busybox:1";
  ASSERT_TRUE(ImportBusybox(src, "busybox"));
  ASSERT_EQ(RunBld(src, {"push", "busybox", name}).exit_code, 0);

  auto never = RunBld(dst, {"run", "--rm", "--pull", "never", name, "echo", "x"});
  EXPECT_EQ(never.exit_code, 125);
  EXPECT_EQ((*reg)->CountRequests("GET", "/v2/t/busybox/manifests"), 0) << (*reg)->Log();

  auto missing = RunBld(dst, {"run", "--rm", name, "echo", "pulled"});
  EXPECT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_EQ(missing.out, "pulled\n");
  EXPECT_NE(missing.err.find("Unable to find image '" + name + "' locally"), std::string::npos);
  int fetched = (*reg)->CountRequests("GET", "/v2/t/busybox/manifests");
  EXPECT_GE(fetched, 1);
  // Present now: missing does not ask the registry again.
  auto again = RunBld(dst, {"run", "--rm", name, "echo", "local"});
  EXPECT_EQ(again.out, "local\n");
  EXPECT_EQ((*reg)->CountRequests("GET", "/v2/t/busybox/manifests"), fetched);

  // always: the tag moved in the registry; the run uses the new image.
  std::string tar = BusyboxRootfsTar();
  ASSERT_EQ(RunBld(src, {"import", tar, "v2", "--change", "ENV WHICH=two"}).exit_code, 0);
  ASSERT_EQ(RunBld(src, {"push", "v2", name}).exit_code, 0);
  auto always = RunBld(dst, {"run", "--rm", "--pull=always", name, "sh", "-c", "echo $WHICH"});
  EXPECT_EQ(always.exit_code, 0) << always.err;
  EXPECT_EQ(always.out, "two\n");
}

}  // namespace
}  // namespace bld::testing
