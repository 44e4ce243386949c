// Interop with the peers: layers bld writes are unpacked correctly by umoci; layers umoci
// and skopeo write are applied correctly by bld (both snapshotters), whiteouts included.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/config.h"
#include "oci/image.h"
#include "oci/store.h"
#include "snapshot/diff.h"
#include "snapshot/fsutil.h"
#include "snapshot/mount.h"
#include "snapshot/snapshotter.h"
#include "snapshot/testing.h"
#include "snapshot/unpack.h"

namespace bld::snapshot {
namespace {

using testing::DescribeTree;
using testing::TreeDiff;
using testing::WriteFileOrDie;

bool Have(const std::string& prog) {
  auto r = RunCommand({"sh", "-c", "command -v " + prog});
  return r.ok() && r->exit_code == 0;
}

void Sh(const std::string& cmd) {
  auto r = RunCommand({"sh", "-c", cmd});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << cmd << "\n" << r->out << r->err;
}

// umoci's bundles and bld's views agree on everything but the top directory.
std::map<std::string, std::string> Tree(const std::string& root) { return DescribeTree(root); }

std::map<std::string, std::string> StripNlink(std::map<std::string, std::string> t) {
  for (auto& [k, v] : t) {
    size_t p = v.find(" nlink=");
    if (p != std::string::npos)
      v.erase(p,
              v.find(' ', p + 1) == std::string::npos ? std::string::npos : v.find(' ', p + 1) - p);
  }
  return t;
}

// First state: a bit of everything.
void Populate1(const std::string& r) {
  WriteFileOrDie(r + "/etc/os-release", "ID=test\n");
  WriteFileOrDie(r + "/etc/keep2", "k2");
  WriteFileOrDie(r + "/etc/caf\xc3\xa9", "utf-8 name");
  WriteFileOrDie(r + "/usr/bin/app", std::string(100000, 'a'), 0755);
  WriteFileOrDie(r + "/usr/bin/suid", "s", 04755);
  ASSERT_EQ(::chmod((r + "/usr/bin/suid").c_str(), 04755), 0);
  ASSERT_EQ(::link((r + "/usr/bin/app").c_str(), (r + "/usr/bin/app-link").c_str()), 0);
  ASSERT_EQ(::symlink("usr/bin", (r + "/bin").c_str()), 0);
  WriteFileOrDie(r + "/opt/old/1", "1");
  WriteFileOrDie(r + "/opt/old/2", "2");
  WriteFileOrDie(r + "/var/lib/data", "d", 0600);
  ASSERT_EQ(::chown((r + "/var/lib/data").c_str(), 100, 101), 0);
  WriteFileOrDie(r + "/replace-me/inner", "i");
  WriteFileOrDie(r + "/deleted", "x");
  ASSERT_EQ(::mkdir((r + "/tmp").c_str(), 01777), 0);
  ASSERT_EQ(::chmod((r + "/tmp").c_str(), 01777), 0);
}

// Second state: deletions, a directory replaced by a file, a directory emptied and refilled.
void Change2(const std::string& r) {
  ASSERT_EQ(::unlink((r + "/deleted").c_str()), 0);
  ASSERT_TRUE(RemoveAll(r + "/replace-me").ok());
  WriteFileOrDie(r + "/replace-me", "now a file");
  ASSERT_TRUE(RemoveAll(r + "/opt/old").ok());
  WriteFileOrDie(r + "/opt/old/3", "3");
  WriteFileOrDie(r + "/etc/os-release", "ID=test2\n");
  ASSERT_EQ(::unlink((r + "/usr/bin/app-link").c_str()), 0);
}

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (umoci unpack as root, mounts)";
    if (!Have("umoci")) GTEST_SKIP() << "umoci not installed (apt-get install umoci)";
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
  }

  // Unpacks image `tag` of the OCI layout at `layout` with bld and returns the tree.
  std::map<std::string, std::string> BldUnpack(const std::string& layout, const std::string& tag,
                                               SnapshotterType type) {
    auto store = oci::Store::Open(layout);
    EXPECT_TRUE(store.ok()) << store.error().message();
    if (!store.ok()) return {};
    auto desc = (*store)->ResolveTag(tag);
    EXPECT_TRUE(desc.ok()) << desc.error().message();
    if (!desc.ok()) return {};
    auto image = oci::LoadImage(**store, *desc);
    EXPECT_TRUE(image.ok()) << image.error().message();
    if (!image.ok()) return {};
    std::string sroot = tmp_->path() + "/bld-" + std::to_string(++unpacks_);
    auto sn = OpenSnapshotter(sroot, type);
    EXPECT_TRUE(sn.ok());
    auto top = Unpack(**store, image->manifest.layers, image->config.diff_ids, **sn);
    EXPECT_TRUE(top.ok()) << top.error().message();
    if (!top.ok()) return {};
    auto mounts = (*sn)->View("view", *top);
    EXPECT_TRUE(mounts.ok()) << mounts.error().message();
    if (!mounts.ok()) return {};
    std::string mnt = sroot + "/mnt";
    EXPECT_TRUE(MkdirAll(mnt).ok());
    auto sm = ScopedMount::Create(*mounts, mnt);
    EXPECT_TRUE(sm.ok()) << sm.error().message();
    if (!sm.ok()) return {};
    return Tree(mnt);
  }

  std::unique_ptr<TempDir> tmp_;
  int unpacks_ = 0;
};

TEST_F(InteropTest, UmociUnpacksLayersBldWrote) {
  std::string a = tmp_->path() + "/a", b = tmp_->path() + "/b", root = tmp_->path() + "/store";
  Populate1(a);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(CopyTree(a, b).ok());
  Change2(b);
  if (HasFatalFailure()) return;
  // Third layer straight from an overlay upper dir: a whiteout and an opaque directory.
  std::string upper = tmp_->path() + "/upper";
  WriteFileOrDie(upper + "/opt/fresh", "f");
  ASSERT_EQ(::setxattr((upper + "/opt").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::mkdir((upper + "/etc").c_str(), 0755), 0);
  ASSERT_EQ(::mknod((upper + "/etc/keep2").c_str(), S_IFCHR, makedev(0, 0)), 0);

  auto store = oci::Store::Open(root);
  ASSERT_TRUE(store.ok());
  std::vector<oci::Descriptor> layers;
  oci::ImageConfig config;
  // umoci 0.4 reads gzip and plain layers (not zstd).
  DiffOptions gz, plain;
  plain.compression = oci::Compression::kNone;
  for (auto r : {DiffTrees("", a, gz, **store), DiffTrees(a, b, plain, **store),
                 DiffUpperDir(upper, gz, **store)}) {
    ASSERT_TRUE(r.ok()) << r.error().message();
    layers.push_back(r->descriptor);
    config.diff_ids.push_back(r->diff_id);
  }
  auto m = oci::WriteImage(**store, config, layers);
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE((*store)->SetTag("t", *m).ok());

  std::string bundle = tmp_->path() + "/bundle";
  Sh("umoci unpack --image " + root + ":t " + bundle);
  if (HasFatalFailure()) return;
  // What the image should hold: b, minus etc/keep2, with opt/ replaced.
  std::string want = tmp_->path() + "/want";
  ASSERT_TRUE(CopyTree(b, want).ok());
  ASSERT_EQ(::unlink((want + "/etc/keep2").c_str()), 0);
  ASSERT_TRUE(RemoveAll(want + "/opt").ok());
  WriteFileOrDie(want + "/opt/fresh", "f");
  ASSERT_EQ(::chmod((want + "/opt").c_str(), 0755), 0);
  auto got = Tree(bundle + "/rootfs");
  EXPECT_EQ(TreeDiff(Tree(want), got), "");
  // And bld agrees with umoci on its own image. (overlayfs reports a lower file's link
  // count even when a name of it is whited out above, so nlink is not compared there.)
  EXPECT_EQ(TreeDiff(got, BldUnpack(root, "t", SnapshotterType::kCopy)), "");
  EXPECT_EQ(TreeDiff(StripNlink(got), StripNlink(BldUnpack(root, "t", SnapshotterType::kOverlay))),
            "");
}

TEST_F(InteropTest, BldAppliesLayersUmociAndSkopeoWrote) {
  std::string layout = tmp_->path() + "/layout", bundle = tmp_->path() + "/bundle";
  Sh("umoci init --layout " + layout + " && umoci new --image " + layout +
     ":t && umoci unpack --image " + layout + ":t " + bundle);
  if (HasFatalFailure()) return;
  std::string rootfs = bundle + "/rootfs";
  Populate1(rootfs);
  if (HasFatalFailure()) return;
  Sh("umoci repack --image " + layout + ":t " + bundle);
  if (HasFatalFailure()) return;
  Change2(rootfs);
  if (HasFatalFailure()) return;
  Sh("umoci repack --image " + layout + ":t " + bundle);
  if (HasFatalFailure()) return;
  // Re-create something deleted two layers down.
  WriteFileOrDie(rootfs + "/deleted", "back");
  Sh("umoci repack --image " + layout + ":t " + bundle);
  if (HasFatalFailure()) return;
  auto want = Tree(rootfs);
  ASSERT_EQ(want.count("deleted"), 1u);
  ASSERT_EQ(want.count("opt/old/1"), 0u);

  for (auto type : {SnapshotterType::kOverlay, SnapshotterType::kCopy}) {
    SCOPED_TRACE(type == SnapshotterType::kOverlay ? "overlay" : "copy");
    EXPECT_EQ(TreeDiff(want, BldUnpack(layout, "t", type)), "");
  }

  // The same image recompressed by skopeo as zstd.
  if (!Have("skopeo")) GTEST_SKIP() << "skopeo not installed";
  std::string zlayout = tmp_->path() + "/zlayout";
  Sh("skopeo copy --quiet --dest-compress-format zstd oci:" + layout + ":t oci:" + zlayout + ":t");
  if (HasFatalFailure()) return;
  auto zindex = ReadFile(zlayout + "/index.json");
  ASSERT_TRUE(zindex.ok());
  auto zstore = oci::Store::Open(zlayout);
  ASSERT_TRUE(zstore.ok());
  auto image = oci::LoadImage(**zstore, *(*zstore)->ResolveTag("t"));
  ASSERT_TRUE(image.ok()) << image.error().message();
  ASSERT_FALSE(image->manifest.layers.empty());
  EXPECT_EQ(image->manifest.layers[0].media_type, oci::kMediaTypeOciLayerZstd);
  for (auto type : {SnapshotterType::kOverlay, SnapshotterType::kCopy}) {
    SCOPED_TRACE(type == SnapshotterType::kOverlay ? "overlay zstd" : "copy zstd");
    EXPECT_EQ(TreeDiff(want, BldUnpack(zlayout, "t", type)), "");
  }
}

}  // namespace
}  // namespace bld::snapshot
