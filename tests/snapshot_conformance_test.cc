// One conformance suite, run against every snapshotter (overlay and copy).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "oci/config.h"
#include "oci/store.h"
#include "snapshot/mount.h"
#include "snapshot/snapshotter.h"
#include "snapshot/testing.h"
#include "snapshot/unpack.h"

namespace bld::snapshot {
namespace {

using testing::DescribeTree;
using testing::MakeTar;
using testing::TarEntry;
using testing::TreeDiff;
using testing::WriteFileOrDie;

class SnapshotterTest : public ::testing::TestWithParam<SnapshotterType> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (mounts)";
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
    auto s = OpenSnapshotter(tmp_->path() + "/store", GetParam());
    ASSERT_TRUE(s.ok()) << s.error().message();
    sn_ = std::move(s).value();
    ASSERT_EQ(sn_->type(), GetParam() == SnapshotterType::kOverlay ? "overlay" : "copy");
    mnt_ = tmp_->path() + "/mnt";
    ASSERT_EQ(::mkdir(mnt_.c_str(), 0755), 0);
  }

  // Prepare `key` on `parent`, mount it, run `change` on the mounted tree, commit as `name`.
  void Layer(const std::string& name, const std::string& parent,
             const std::function<void(const std::string&)>& change) {
    std::string key = "active-" + name;
    auto m = sn_->Prepare(key, parent);
    ASSERT_TRUE(m.ok()) << m.error().message();
    {
      auto sm = ScopedMount::Create(*m, mnt_);
      ASSERT_TRUE(sm.ok()) << sm.error().message();
      change(mnt_);
      ASSERT_TRUE(sm->Release().ok());
    }
    ASSERT_TRUE(sn_->Commit(name, key).ok());
  }

  std::map<std::string, std::string> ViewTree(const std::string& parent) {
    std::string key = "view-" + std::to_string(views_++);
    auto m = sn_->View(key, parent);
    EXPECT_TRUE(m.ok()) << m.error().message();
    if (!m.ok()) return {};
    std::map<std::string, std::string> d;
    {
      auto sm = ScopedMount::Create(*m, mnt_);
      EXPECT_TRUE(sm.ok()) << sm.error().message();
      if (!sm.ok()) return {};
      d = DescribeTree(mnt_);
      // Views are read-only.
      int fd = ::open((mnt_ + "/new-file").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      EXPECT_LT(fd, 0);
      EXPECT_EQ(errno, EROFS);
      if (fd >= 0) ::close(fd);
    }
    EXPECT_TRUE(sn_->Remove(key).ok());
    return d;
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<Snapshotter> sn_;
  std::string mnt_;
  int views_ = 0;
};

TEST_P(SnapshotterTest, PrepareCommitViewRemove) {
  Layer("base", "", [](const std::string& m) { WriteFileOrDie(m + "/hello", "world"); });
  auto info = sn_->Stat("base");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, Kind::kCommitted);
  EXPECT_EQ(info->parent, "");
  EXPECT_TRUE(sn_->Stat("active-base").error().Is(ErrorCode::kNotFound));

  auto d = ViewTree("base");
  EXPECT_EQ(d.count("hello"), 1u);

  // Errors in containerd's terms.
  ASSERT_TRUE(sn_->Prepare("a", "base").ok());
  EXPECT_TRUE(sn_->Prepare("a", "base").error().Is(ErrorCode::kAlreadyExists));
  EXPECT_TRUE(sn_->Prepare("b", "missing").error().Is(ErrorCode::kNotFound));
  EXPECT_TRUE(sn_->Prepare("b", "a").error().Is(ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(sn_->Commit("base", "a").error().Is(ErrorCode::kAlreadyExists));
  EXPECT_TRUE(sn_->Stat("a").ok()) << "a failed commit leaves the active snapshot";
  ASSERT_TRUE(sn_->View("v", "base").ok());
  EXPECT_TRUE(sn_->Commit("x", "v").error().Is(ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(sn_->Mounts("base").error().Is(ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(sn_->Remove("base").error().Is(ErrorCode::kFailedPrecondition));

  std::set<std::string> seen;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) {
                   seen.insert(i.name + "/" + std::string(KindName(i.kind)));
                   return Ok();
                 })
                  .ok());
  EXPECT_EQ(seen, (std::set<std::string>{"base/committed", "a/active", "v/view"}));

  ASSERT_TRUE(sn_->Remove("a").ok());
  ASSERT_TRUE(sn_->Remove("v").ok());
  ASSERT_TRUE(sn_->Remove("base").ok());
  EXPECT_TRUE(sn_->Stat("base").error().Is(ErrorCode::kNotFound));
  EXPECT_TRUE(sn_->Remove("base").error().Is(ErrorCode::kNotFound));
}

TEST_P(SnapshotterTest, ChainOfThreeWithWhiteoutSemantics) {
  Layer("l1", "", [](const std::string& m) {
    WriteFileOrDie(m + "/keep", "k");
    WriteFileOrDie(m + "/delete-me", "d");
    WriteFileOrDie(m + "/recreate", "old");
    WriteFileOrDie(m + "/dir/a", "a");
    WriteFileOrDie(m + "/dir/sub/b", "b");
    WriteFileOrDie(m + "/todir", "file");
  });
  Layer("l2", "l1", [](const std::string& m) {
    ASSERT_EQ(::unlink((m + "/delete-me").c_str()), 0);
    ASSERT_EQ(::unlink((m + "/recreate").c_str()), 0);
    // Replace a directory: everything from below disappears.
    ASSERT_TRUE(RemoveAll(m + "/dir").ok());
    WriteFileOrDie(m + "/dir/new", "n");
    ASSERT_EQ(::unlink((m + "/todir").c_str()), 0);
    WriteFileOrDie(m + "/todir/inside", "i");
  });
  Layer("l3", "l2", [](const std::string& m) {
    WriteFileOrDie(m + "/recreate", "new");
    ASSERT_EQ(::chmod((m + "/keep").c_str(), 0600), 0);
  });
  auto d = ViewTree("l3");
  EXPECT_EQ(d.count("delete-me"), 0u);
  EXPECT_EQ(d.count("dir/a"), 0u);
  EXPECT_EQ(d.count("dir/sub"), 0u);
  EXPECT_EQ(d.count("dir/new"), 1u);
  EXPECT_EQ(d.count("todir/inside"), 1u);
  EXPECT_EQ(d["keep"].substr(0, 10), "file 0600 ");
  EXPECT_EQ(d.size(), 6u) << TreeDiff({}, d);
  std::string key = "check";
  auto m = sn_->Prepare(key, "l3");
  ASSERT_TRUE(m.ok());
  auto sm = ScopedMount::Create(*m, mnt_);
  ASSERT_TRUE(sm.ok());
  EXPECT_EQ(*ReadFile(mnt_ + "/recreate"), "new");
  // The middle layer still shows its own state.
  ASSERT_TRUE(sm->Release().ok());
  auto d2 = ViewTree("l2");
  EXPECT_EQ(d2.count("recreate"), 0u);
  EXPECT_EQ(d2["keep"].substr(0, 10), "file 0644 ");
}

TEST_P(SnapshotterTest, ChainOf150Layers) {
  // Layers as a pull would bring them (no mount per layer, which would only make this slow):
  // layer i adds f<i> and whites out f<i-1>.
  auto store = oci::Store::Open(tmp_->path() + "/store");
  ASSERT_TRUE(store.ok());
  std::vector<oci::Descriptor> layers;
  std::vector<oci::Digest> diff_ids;
  for (int i = 0; i < 150; ++i) {
    std::vector<TarEntry> entries = {{.path = "f" + std::to_string(i), .data = std::to_string(i)}};
    if (i == 0) entries.push_back({.path = "base", .data = "b"});
    if (i > 0) entries.push_back({.path = ".wh.f" + std::to_string(i - 1)});
    std::string tar = MakeTar(entries);
    auto d = (*store)->WriteBlob(tar);
    ASSERT_TRUE(d.ok());
    layers.push_back({.media_type = std::string(oci::kMediaTypeOciLayer),
                      .digest = *d,
                      .size = static_cast<int64_t>(tar.size())});
    diff_ids.push_back(*d);
  }
  auto top = Unpack(**store, layers, diff_ids, *sn_);
  ASSERT_TRUE(top.ok()) << top.error().message();
  std::string parent = *top;
  auto d = ViewTree(parent);
  EXPECT_EQ(d.size(), 2u) << TreeDiff({}, d);
  EXPECT_EQ(d.count("f149"), 1u);
  EXPECT_EQ(d.count("base"), 1u);
  // And writable on top.
  auto m = sn_->Prepare("top", parent);
  ASSERT_TRUE(m.ok()) << m.error().message();
  auto sm = ScopedMount::Create(*m, mnt_);
  ASSERT_TRUE(sm.ok()) << sm.error().message();
  WriteFileOrDie(mnt_ + "/top", "t");
  EXPECT_EQ(*ReadFile(mnt_ + "/f149"), "149");
}

TEST_P(SnapshotterTest, HardlinksXattrsSpecialFilesOwners) {
  Layer("rich", "", [](const std::string& m) {
    WriteFileOrDie(m + "/a", "linked");
    ASSERT_EQ(::link((m + "/a").c_str(), (m + "/b").c_str()), 0);
    ASSERT_EQ(::setxattr((m + "/a").c_str(), "user.k", "v", 1, 0), 0);
    ASSERT_EQ(::mkfifo((m + "/fifo").c_str(), 0600), 0);
    ASSERT_EQ(::mknod((m + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(::chmod((m + "/null").c_str(), 0666), 0);
    WriteFileOrDie(m + "/owned", "o", 04750);
    ASSERT_EQ(::chown((m + "/owned").c_str(), 1000, 2000), 0);
    ASSERT_EQ(::chmod((m + "/owned").c_str(), 04750), 0);
  });
  auto d = ViewTree("rich");
  EXPECT_EQ(d["a"], d["b"]);
  EXPECT_NE(d["a"].find("nlink=2"), std::string::npos) << d["a"];
  EXPECT_NE(d["a"].find("user.k="), std::string::npos) << d["a"];
  EXPECT_EQ(d["fifo"], "fifo 0600 0:0");
  EXPECT_EQ(d["null"], "char 0666 0:0 1,3");
  EXPECT_EQ(d["owned"].substr(0, 19), "file 4750 1000:2000");
}

// Diff of an active snapshot, then Unpack of that layer into a fresh chain: same tree.
TEST_P(SnapshotterTest, DiffAndUnpackRoundTrip) {
  auto store = oci::Store::Open(tmp_->path() + "/store");
  ASSERT_TRUE(store.ok()) << store.error().message();
  std::vector<oci::Descriptor> layers;
  std::vector<oci::Digest> diff_ids;
  std::string parent;
  for (int i = 0; i < 3; ++i) {
    std::string key = "build-" + std::to_string(i);
    auto m = sn_->Prepare(key, parent);
    ASSERT_TRUE(m.ok());
    {
      auto sm = ScopedMount::Create(*m, mnt_);
      ASSERT_TRUE(sm.ok());
      if (i == 0) {
        WriteFileOrDie(mnt_ + "/etc/conf", "v1");
        WriteFileOrDie(mnt_ + "/opt/x/1", "1");
        WriteFileOrDie(mnt_ + "/opt/x/2", "2");
        WriteFileOrDie(mnt_ + "/bin/tool", "t", 0755);
        ASSERT_EQ(::link((mnt_ + "/bin/tool").c_str(), (mnt_ + "/bin/tool2").c_str()), 0);
      } else if (i == 1) {
        WriteFileOrDie(mnt_ + "/etc/conf", "v2");
        ASSERT_TRUE(RemoveAll(mnt_ + "/opt/x").ok());
        WriteFileOrDie(mnt_ + "/opt/x/3", "3");
        ASSERT_EQ(::unlink((mnt_ + "/bin/tool2").c_str()), 0);
      } else {
        ASSERT_EQ(::symlink("conf", (mnt_ + "/etc/link").c_str()), 0);
        ASSERT_EQ(::setxattr((mnt_ + "/etc/conf").c_str(), "user.x", "1", 1, 0), 0);
      }
    }
    auto r = sn_->Diff(key, DiffOptions{}, **store);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE((*store)->HasBlob(r->descriptor.digest));
    layers.push_back(r->descriptor);
    diff_ids.push_back(r->diff_id);
    std::string name = "built-" + std::to_string(i);
    ASSERT_TRUE(sn_->Commit(name, key).ok());
    parent = name;
  }
  auto want = ViewTree(parent);
  auto top = Unpack(**store, layers, diff_ids, *sn_);
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(*top, oci::ChainId(diff_ids).str());
  EXPECT_EQ(TreeDiff(want, ViewTree(*top)), "");
  // Again: everything exists already, nothing is re-applied.
  auto again = Unpack(**store, layers, diff_ids, *sn_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *top);
  // A wrong diff ID fails and leaves no snapshot behind.
  std::vector<oci::Digest> bad = {oci::Digest::Of("x")};
  auto r = Unpack(**store, {layers[0]}, bad, *sn_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("diff ID mismatch"), std::string::npos) << r.error().message();
  int active = 0;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) {
                   if (i.kind == Kind::kActive) ++active;
                   return Ok();
                 })
                  .ok());
  EXPECT_EQ(active, 0);
}

// Layers with whiteouts, as a registry would serve them, applied through Unpack.
TEST_P(SnapshotterTest, UnpackAppliesWhiteoutsAndOpaqueDirs) {
  auto store = oci::Store::Open(tmp_->path() + "/store");
  ASSERT_TRUE(store.ok());
  std::vector<std::string> tars = {
      MakeTar({{.path = "a", .data = "a"},
               {.path = "d", .type = 'd', .mode = 0755},
               {.path = "d/x", .data = "x"},
               {.path = "d/y", .data = "y"},
               {.path = "e", .type = 'd', .mode = 0755},
               {.path = "e/z", .data = "z"},
               {.path = "f", .type = 'd', .mode = 0755},
               {.path = "f/old", .data = "o"}},
              oci::Compression::kGzip),
      MakeTar({{.path = ".wh.a"},
               {.path = "d", .type = 'd', .mode = 0755},
               {.path = "d/.wh..wh..opq"},
               {.path = "d/new", .data = "n"},
               {.path = "e", .type = 'd', .mode = 0755},
               {.path = "e/.wh.z"},
               // Deleted and re-created as a directory in the same layer.
               {.path = ".wh.f"},
               {.path = "f", .type = 'd', .mode = 0755},
               {.path = "f/new", .data = "n"}},
              oci::Compression::kZstd),
      MakeTar({{.path = "a", .data = "again"}}),
  };
  std::vector<oci::Descriptor> layers;
  std::vector<oci::Digest> diff_ids;
  for (size_t i = 0; i < tars.size(); ++i) {
    auto d = (*store)->WriteBlob(tars[i]);
    ASSERT_TRUE(d.ok());
    oci::Descriptor desc;
    desc.media_type = i == 0   ? std::string(oci::kMediaTypeOciLayerGzip)
                      : i == 1 ? std::string(oci::kMediaTypeOciLayerZstd)
                               : std::string(oci::kMediaTypeOciLayer);
    desc.digest = *d;
    desc.size = static_cast<int64_t>(tars[i].size());
    layers.push_back(desc);
    std::string raw = i == 2 ? tars[i] : "";
    if (i < 2) {
      // diff ID = sha256 of the uncompressed tar: apply once into scratch to learn it.
      auto t = TempDir::Create();
      ASSERT_TRUE(t.ok());
      size_t pos = 0;
      auto r = Apply(
          [&](void* p, size_t n) -> Result<size_t> {
            size_t k = std::min(n, tars[i].size() - pos);
            memcpy(p, tars[i].data() + pos, k);
            pos += k;
            return k;
          },
          t->path(), {});
      ASSERT_TRUE(r.ok()) << r.error().message();
      diff_ids.push_back(r->diff_id);
    } else {
      diff_ids.push_back(oci::Digest::Of(raw));
    }
  }
  auto top = Unpack(**store, layers, diff_ids, *sn_);
  ASSERT_TRUE(top.ok()) << top.error().message();
  auto mid = Unpack(**store, {layers[0], layers[1]}, {diff_ids[0], diff_ids[1]}, *sn_);
  ASSERT_TRUE(mid.ok());
  auto d = ViewTree(*mid);
  EXPECT_EQ(d.count("a"), 0u);
  EXPECT_EQ(d.count("d/x"), 0u);
  EXPECT_EQ(d.count("d/y"), 0u);
  EXPECT_EQ(d.count("d/new"), 1u);
  EXPECT_EQ(d.count("e"), 1u);
  EXPECT_EQ(d.count("e/z"), 0u);
  EXPECT_EQ(d.count("f/old"), 0u);
  EXPECT_EQ(d.count("f/new"), 1u);
  auto t = ViewTree(*top);
  EXPECT_EQ(t.count("a"), 1u);
  EXPECT_EQ(t.size(), 6u) << TreeDiff({}, t);  // a, d, d/new, e, f, f/new
}

// What a killed writer leaves: a commit cut off between its meta.json and the rename (the
// meta says "committed as c" in the active snapshot's directory) and temp directories.
// Walk does not report them as snapshots; RemoveStale deletes them and nothing else.
TEST_P(SnapshotterTest, RemoveStaleTakesKilledCommitsAndTemps) {
  Layer("base", "", [](const std::string& m) { WriteFileOrDie(m + "/hello", "world"); });
  ASSERT_TRUE(sn_->Prepare("cut", "base").ok());
  ASSERT_TRUE(sn_->Prepare("live", "base").ok());
  std::string dir = tmp_->path() + "/store/snapshots";
  // Find "cut"'s directory: the one whose meta.json names it.
  std::string cut_dir;
  auto names = ListDir(dir);
  ASSERT_TRUE(names.ok());
  for (const auto& n : *names) {
    auto meta = ReadFile(dir + "/" + n + "/meta.json");
    if (meta.ok() && meta->find("\"name\":\"cut\"") != std::string::npos) cut_dir = dir + "/" + n;
  }
  ASSERT_FALSE(cut_dir.empty());
  auto meta = ReadFile(cut_dir + "/meta.json");
  ASSERT_TRUE(meta.ok());
  std::string m = *meta;
  m.replace(m.find("\"name\":\"cut\""), 12, "\"name\":\"c\"");
  m.replace(m.find("\"kind\":\"active\""), 15, "\"kind\":\"committed\"");
  ASSERT_TRUE(WriteFileAtomic(cut_dir + "/meta.json", m).ok());
  ASSERT_EQ(::mkdir((dir + "/.tmp-killed").c_str(), 0700), 0);

  std::set<std::string> seen;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) {
                   seen.insert(i.name);
                   return Ok();
                 })
                  .ok());
  EXPECT_EQ(seen, (std::set<std::string>{"base", "live"}));
  EXPECT_TRUE(sn_->Stat("c").error().Is(ErrorCode::kNotFound));
  EXPECT_TRUE(sn_->Stat("cut").error().Is(ErrorCode::kNotFound));

  auto removed = sn_->RemoveStale();
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(*removed, 2);
  EXPECT_NE(::access(cut_dir.c_str(), F_OK), 0);
  EXPECT_NE(::access((dir + "/.tmp-killed").c_str(), F_OK), 0);
  EXPECT_TRUE(sn_->Stat("live").ok());
  // The base has no child left but "live": removing live frees it.
  ASSERT_TRUE(sn_->Remove("live").ok());
  EXPECT_TRUE(sn_->Remove("base").ok());
}

INSTANTIATE_TEST_SUITE_P(All, SnapshotterTest,
                         ::testing::Values(SnapshotterType::kOverlay, SnapshotterType::kCopy),
                         [](const auto& info) {
                           return info.param == SnapshotterType::kOverlay ? "overlay" : "copy";
                         });

TEST(SnapshotterChoice, AutoPicksOverlayAsRootAndHonoursEnv) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (mounts)";
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  auto s = OpenSnapshotter(t->path());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->type(), "overlay");
  ::setenv("BLD_SNAPSHOTTER", "copy", 1);
  auto c = OpenSnapshotter(t->path());
  ::unsetenv("BLD_SNAPSHOTTER");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->type(), "copy");
  // Each snapshotter sees only its own snapshots.
  ASSERT_TRUE((*s)->Prepare("k", "").ok());
  EXPECT_TRUE((*c)->Stat("k").error().Is(ErrorCode::kNotFound));
  EXPECT_FALSE(ParseSnapshotterType("zfs").ok());
}

// Rootless: the overlay snapshotter inside a user namespace (mounts with "userxattr",
// opaque dirs as user.overlay.opaque). Re-runs part of this suite under `unshare -Urm`.
constexpr char kInUserns[] = "BLD_SNAPSHOT_TEST_IN_USERNS";

TEST(SnapshotterUserNamespace, OverlaySuiteRunsRootless) {
  if (getenv(kInUserns)) GTEST_SKIP() << "already inside the user namespace";
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create the test's user namespace reliably";
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  exe[n] = 0;
  std::string filter =
      "--gtest_filter=All/SnapshotterTest.PrepareCommitViewRemove/overlay"
      ":All/SnapshotterTest.ChainOfThreeWithWhiteoutSemantics/overlay"
      ":All/SnapshotterTest.DiffAndUnpackRoundTrip/overlay"
      ":All/SnapshotterTest.UnpackAppliesWhiteoutsAndOpaqueDirs/overlay"
      ":SnapshotterUserNamespace.UsesUserxattr";
  auto r = RunCommand({"env", std::string(kInUserns) + "=1", "unshare", "-Urm", exe, filter});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE(r->out.find("[  PASSED  ] 5 tests"), std::string::npos) << r->out;
}

TEST(SnapshotterUserNamespace, UsesUserxattr) {
  if (!getenv(kInUserns)) GTEST_SKIP() << "runs inside OverlaySuiteRunsRootless";
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  auto s = OpenSnapshotter(t->path());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->type(), "overlay");
  EXPECT_EQ((*s)->whiteout_style(), WhiteoutStyle::kOverlayUserXattr);
  auto m = (*s)->Prepare("a", "");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*s)->Commit("c", "a").ok());
  auto m2 = (*s)->Prepare("b", "c");
  ASSERT_TRUE(m2.ok());
  ASSERT_EQ(m2->size(), 1u);
  EXPECT_EQ((*m2)[0].type, "overlay");
  EXPECT_NE((*m2)[0].str().find("userxattr"), std::string::npos) << (*m2)[0].str();
}

}  // namespace
}  // namespace bld::snapshot
