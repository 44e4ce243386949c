// Layer apply and diff: round trips, reproducibility, whiteouts, and hostile tars.
#include <fcntl.h>
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
#include "snapshot/apply.h"
#include "snapshot/diff.h"
#include "snapshot/fsutil.h"
#include "snapshot/testing.h"

namespace bld::snapshot {
namespace {

using testing::DescribeTree;
using testing::MakeTar;
using testing::TarEntry;
using testing::TreeDiff;
using testing::WriteFileOrDie;

// Reads from an in-memory blob.
ByteSource FromString(const std::string& s) {
  auto pos = std::make_shared<size_t>(0);
  return [&s, pos](void* p, size_t n) -> Result<size_t> {
    size_t k = std::min(n, s.size() - *pos);
    memcpy(p, s.data() + *pos, k);
    *pos += k;
    return k;
  };
}

struct Blob {
  std::string data;
  DiffResult result;
};

Blob DiffOf(const std::string& lower, const std::string& upper, DiffOptions o = {}) {
  Blob b;
  auto r = DiffTrees(lower, upper, o, [&](const void* p, size_t n) {
    b.data.append(static_cast<const char*>(p), n);
    return Ok();
  });
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (r.ok()) b.result = *r;
  return b;
}

bool Root() { return geteuid() == 0; }

// A tree with every kind of entry the layer format carries.
void MakeRichTree(const std::string& root) {
  WriteFileOrDie(root + "/etc/hostname", "bld\n");
  WriteFileOrDie(root + "/usr/bin/tool", std::string(300000, 'x') + "end", 04755);
  WriteFileOrDie(root + "/usr/bin/sgid", "g", 02755);
  ASSERT_EQ(::mkdir((root + "/tmp").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((root + "/tmp").c_str(), 01777), 0);
  ASSERT_EQ(::symlink("../etc/hostname", (root + "/usr/hn").c_str()), 0);
  ASSERT_EQ(::symlink("/absolute/target", (root + "/abs").c_str()), 0);
  ASSERT_EQ(::link((root + "/etc/hostname").c_str(), (root + "/etc/hostname2").c_str()), 0);
  WriteFileOrDie(root + "/empty", "");
  WriteFileOrDie(root + "/owned", "o", 0600);
  ASSERT_EQ(::chown((root + "/owned").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0640), 0);
  ASSERT_EQ(::mknod((root + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod((root + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  ASSERT_EQ(::setxattr((root + "/etc/hostname").c_str(), "user.note", "hello", 5, 0), 0);
  // cap_net_bind_service+ep, VFS_CAP_REVISION_2
  const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  ASSERT_EQ(::setxattr((root + "/usr/bin/tool").c_str(), "security.capability", cap, sizeof cap, 0),
            0);
  ASSERT_EQ(::mkdir((root + "/ro").c_str(), 0555), 0);
  WriteFileOrDie(root + "/deep/a/b/c/d/e/f", "deep");
  WriteFileOrDie(root + "/names/sp ace", "1");
  WriteFileOrDie(root + "/names/\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9", "utf-8");
  WriteFileOrDie(root + "/names/latin1-\xe9", "not utf-8");
  WriteFileOrDie(root + "/names/" + std::string(200, 'n'), "long");
}

TEST(LayerTest, RoundTripEveryEntryKind) {
  if (!Root()) GTEST_SKIP() << "needs root (device nodes, chown, security.capability)";
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string src = t->path() + "/src", dst = t->path() + "/dst";
  MakeRichTree(src);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  for (auto c : {oci::Compression::kGzip, oci::Compression::kZstd, oci::Compression::kNone}) {
    DiffOptions o;
    o.compression = c;
    Blob b = DiffOf("", src, o);
    ASSERT_TRUE(RemoveAll(dst).ok());
    ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
    ApplyOptions ao;
    ao.expected_diff_id = b.result.diff_id;
    ao.expected_digest = b.result.descriptor.digest;
    ao.compression = c;
    auto r = Apply(FromString(b.data), dst, ao);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->size, b.result.descriptor.size);
    EXPECT_EQ(r->uncompressed_size, b.result.uncompressed_size);
    EXPECT_EQ(TreeDiff(DescribeTree(src, true), DescribeTree(dst, true)), "");
  }
}

TEST(LayerTest, ReproducibleWithSourceDateEpoch) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string a = t->path() + "/a", b = t->path() + "/b";
  for (const auto& d : {a, b}) {
    WriteFileOrDie(d + "/x/y", "same");
    WriteFileOrDie(d + "/z", "zz", 0700);
    ASSERT_EQ(::symlink("x/y", (d + "/l").c_str()), 0);
  }
  // Different mtimes (b is touched later); the epoch clamps both.
  timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (a + "/z").c_str(), old, 0), 0);
  DiffOptions o;
  o.source_date_epoch = 1000;
  for (auto c : {oci::Compression::kGzip, oci::Compression::kZstd, oci::Compression::kNone}) {
    o.compression = c;
    Blob x = DiffOf("", a, o), y = DiffOf("", b, o), z = DiffOf("", a, o);
    EXPECT_EQ(x.result.descriptor.digest, y.result.descriptor.digest);
    EXPECT_EQ(x.result.descriptor.digest, z.result.descriptor.digest);
    EXPECT_EQ(x.data, y.data);
    EXPECT_EQ(x.result.diff_id, y.result.diff_id);
  }
  // Without the epoch, differing mtimes give differing layers.
  o.source_date_epoch.reset();
  o.compression = oci::Compression::kNone;
  EXPECT_NE(DiffOf("", a, o).result.diff_id, DiffOf("", b, o).result.diff_id);
}

TEST(LayerTest, DiffOfTwoTreesHasWhiteoutsAndOnlyChanges) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string lower = t->path() + "/lower", upper = t->path() + "/upper";
  WriteFileOrDie(lower + "/keep", "k");
  WriteFileOrDie(lower + "/gone", "g");
  WriteFileOrDie(lower + "/dir/a", "a");
  WriteFileOrDie(lower + "/dir/b", "b");
  WriteFileOrDie(lower + "/same-content", "s");
  ASSERT_TRUE(CopyTree(lower, upper).ok());
  ASSERT_EQ(::unlink((upper + "/gone").c_str()), 0);
  ASSERT_EQ(::unlink((upper + "/dir/b").c_str()), 0);
  WriteFileOrDie(upper + "/dir/c", "c");
  WriteFileOrDie(upper + "/same-content", "s");  // rewritten, same bytes: no change
  Blob b = DiffOf(lower, upper, {.compression = oci::Compression::kNone});
  // Apply into a copy of lower (copy semantics) and into an empty dir (overlay semantics).
  std::string copy = t->path() + "/copy";
  ASSERT_TRUE(CopyTree(lower, copy).ok());
  ASSERT_TRUE(Apply(FromString(b.data), copy, {}).ok());
  EXPECT_EQ(TreeDiff(DescribeTree(upper), DescribeTree(copy)), "");
  std::string only = t->path() + "/only";
  ASSERT_EQ(::mkdir(only.c_str(), 0755), 0);
  ApplyOptions ao;
  ao.whiteouts = WhiteoutStyle::kOverlay;
  if (Root()) {
    ASSERT_TRUE(Apply(FromString(b.data), only, ao).ok());
    auto d = DescribeTree(only);
    EXPECT_EQ(d.count("keep"), 0u);
    EXPECT_EQ(d.count("same-content"), 0u) << "unchanged content must not be in the layer";
    EXPECT_EQ(d["gone"], "char 0000 0:0 0,0");
    EXPECT_EQ(d["dir/b"], "char 0000 0:0 0,0");
    EXPECT_EQ(d.count("dir/c"), 1u);
  }
}

TEST(LayerTest, DiffOfUpperDirTranslatesOverlayMarkers) {
  if (!Root()) GTEST_SKIP() << "needs root (0/0 device, trusted xattrs)";
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string upper = t->path() + "/upper";
  WriteFileOrDie(upper + "/new", "n");
  ASSERT_EQ(::mknod((upper + "/deleted").c_str(), S_IFCHR, makedev(0, 0)), 0);
  WriteFileOrDie(upper + "/opq/inside", "i");
  ASSERT_EQ(::setxattr((upper + "/opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  std::string data;
  auto r =
      DiffUpperDir(upper, {.compression = oci::Compression::kNone}, [&](const void* p, size_t n) {
        data.append(static_cast<const char*>(p), n);
        return Ok();
      });
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto list = RunCommand({"tar", "-tvf", "-"}, data);
  ASSERT_TRUE(list.ok());
  EXPECT_NE(list->out.find(".wh.deleted"), std::string::npos) << list->out;
  EXPECT_NE(list->out.find("opq/.wh..wh..opq"), std::string::npos) << list->out;
  EXPECT_EQ(list->out.find("trusted.overlay"), std::string::npos);
  // Apply onto a tree that has "deleted" and opq/old: copy semantics remove them.
  std::string base = t->path() + "/base";
  WriteFileOrDie(base + "/deleted", "d");
  WriteFileOrDie(base + "/opq/old", "o");
  WriteFileOrDie(base + "/kept", "k");
  ASSERT_TRUE(Apply(FromString(data), base, {}).ok());
  auto d = DescribeTree(base);
  EXPECT_EQ(d.count("deleted"), 0u);
  EXPECT_EQ(d.count("opq/old"), 0u);
  EXPECT_EQ(d.count("opq/inside"), 1u);
  EXPECT_EQ(d.count("kept"), 1u);
  EXPECT_EQ(d.count("new"), 1u);
  // Overlay semantics: the opaque xattr comes back, no xattr leaks from the tar.
  std::string up2 = t->path() + "/up2";
  ASSERT_EQ(::mkdir(up2.c_str(), 0755), 0);
  ApplyOptions ao;
  ao.whiteouts = WhiteoutStyle::kOverlay;
  ASSERT_TRUE(Apply(FromString(data), up2, ao).ok());
  char v[4];
  EXPECT_EQ(::getxattr((up2 + "/opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  ao.whiteouts = WhiteoutStyle::kOverlayUserXattr;
  std::string up3 = t->path() + "/up3";
  ASSERT_EQ(::mkdir(up3.c_str(), 0755), 0);
  ASSERT_TRUE(Apply(FromString(data), up3, ao).ok());
  EXPECT_EQ(::getxattr((up3 + "/opq").c_str(), "user.overlay.opaque", v, sizeof v), 1);
  EXPECT_LT(::getxattr((up3 + "/opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
}

// A sink that fails as a full disk does (ENOSPC after some bytes), for every compression
// and at several points: a clear error, no crash (ASan catches the use after free that
// archive_write_free's final flush used to make into the destroyed hashes).
TEST(LayerTest, FailingSinkIsAnErrorNotACrash) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string upper = t->path() + "/upper";
  // Incompressible content (different in every file), so that every compression
  // overflows the limits below.
  uint32_t x = 12345;
  for (int i = 0; i < 20; ++i) {
    std::string data(300000, '\0');
    for (auto& ch : data) {
      x = x * 1664525u + 1013904223u;
      ch = static_cast<char>(x >> 24);
    }
    WriteFileOrDie(upper + "/f" + std::to_string(i), data);
  }
  for (auto c : {oci::Compression::kNone, oci::Compression::kGzip, oci::Compression::kZstd}) {
    for (int64_t limit : {0, 1000, 100000, 1000000}) {
      int64_t written = 0;
      auto r = DiffUpperDir(upper, {.compression = c}, [&](const void*, size_t n) -> Status {
        if (written + static_cast<int64_t>(n) > limit) {
          return PosixError("write /store/ingest/x", ENOSPC);
        }
        written += static_cast<int64_t>(n);
        return Ok();
      });
      ASSERT_FALSE(r.ok()) << "limit " << limit << " compression " << static_cast<int>(c) << " wrote " << written;
      EXPECT_NE(r.error().message().find("No space left on device"), std::string::npos)
          << r.error().message();
      EXPECT_NE(r.error().message().find("/store/ingest/x"), std::string::npos)
          << r.error().message();
    }
  }
}

TEST(LayerTest, WhiteoutsOnlyHideLowerLayers) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string dir = t->path();
  WriteFileOrDie(dir + "/old", "lower");
  WriteFileOrDie(dir + "/d/lower", "lower");
  std::string tar = MakeTar({
      {.path = "new", .data = "this layer"},
      {.path = ".wh.new"},  // same layer: must not delete "new"
      {.path = ".wh.old"},
      {.path = "old", .data = "re-created"},  // delete lower, re-create in the same layer
      {.path = "d", .type = 'd', .mode = 0755},
      {.path = "d/mine", .data = "m"},
      {.path = "d/.wh..wh..opq"},  // after a sibling of this layer: that one stays
      {.path = ".wh..wh.plnk"},    // aufs metadata: ignored
  });
  auto r = Apply(FromString(tar), dir, {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = DescribeTree(dir);
  EXPECT_EQ(d.count("new"), 1u);
  EXPECT_EQ(*ReadFile(dir + "/old"), "re-created");
  EXPECT_EQ(d.count("d/lower"), 0u);
  EXPECT_EQ(d.count("d/mine"), 1u);
  EXPECT_EQ(d.count(".wh..wh.plnk"), 0u);
}

TEST(LayerTest, VerifiesDiffIdAndDigest) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string tar = MakeTar({{.path = "f", .data = "x"}}, oci::Compression::kGzip);
  ApplyOptions o;
  o.expected_diff_id = oci::Digest::Of("nope");
  auto r = Apply(FromString(tar), t->path(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("diff ID mismatch"), std::string::npos) << r.error().message();
  o.expected_diff_id.reset();
  o.expected_digest = oci::Digest::Of("nope");
  ASSERT_TRUE(RemoveAll(t->path() + "/f").ok());
  r = Apply(FromString(tar), t->path(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos);
  // Declared compression contradicting the bytes.
  ApplyOptions z;
  z.compression = oci::Compression::kZstd;
  ASSERT_TRUE(RemoveAll(t->path() + "/f").ok());
  r = Apply(FromString(tar), t->path(), z);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("declared compression zstd"), std::string::npos);
  // Not a tar at all.
  r = Apply(FromString(std::string(2048, 'j')), t->path(), {});
  EXPECT_FALSE(r.ok());
}

TEST(LayerTest, EmptyLayer) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string src = t->path() + "/src";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  Blob b = DiffOf("", src);
  EXPECT_EQ(b.result.entries, 0);
  std::string dst = t->path() + "/dst";
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  auto r = Apply(FromString(b.data), dst, {.expected_diff_id = b.result.diff_id});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(DescribeTree(dst).empty());
}

// ---- Hostile tars -------------------------------------------------------------------

struct Hostile {
  std::string name;
  std::vector<TarEntry> entries;
  std::string culprit;  // the entry the error must name
};

class HostileTarTest : public ::testing::TestWithParam<oci::Compression> {};

std::vector<Hostile> HostileTars(const std::string& outside) {
  // `outside` is an absolute directory next to the target holding "secret" and "dir/x".
  return {
      {"absolute path", {{.path = outside + "/evil", .data = "x"}}, outside + "/evil"},
      {"dotdot", {{.path = "../evil", .data = "x"}}, "../evil"},
      {"dotdot inside", {{.path = "a/../../evil", .data = "x"}}, "a/../../evil"},
      {"write through absolute symlink",
       {{.path = "link", .type = 'l', .data = outside}, {.path = "link/evil", .data = "x"}},
       "link/evil"},
      {"write through relative symlink",
       {{.path = "link", .type = 'l', .data = "../outside"}, {.path = "link/evil", .data = "x"}},
       "link/evil"},
      {"symlink chain",
       {{.path = "a", .type = 'l', .data = "b"},
        {.path = "b", .type = 'l', .data = outside + "/dir"},
        {.path = "a/x", .data = "overwrite"}},
       "a/x"},
      {"hardlink to absolute path", {{.path = "h", .type = 'h', .data = outside + "/secret"}}, "h"},
      {"hardlink with dotdot", {{.path = "h", .type = 'h', .data = "../outside/secret"}}, "h"},
      {"hardlink through symlink",
       {{.path = "s", .type = 'l', .data = outside},
        {.path = "h", .type = 'h', .data = "s/secret"}},
       "h"},
      {"duplicate replacing file with symlink",
       {{.path = "x", .data = "1"},
        {.path = "x", .type = 'l', .data = outside + "/secret"},
        {.path = "x", .data = "overwrite"}},
       "x"},
      {"duplicate replacing dir with symlink",
       {{.path = "d", .type = 'd', .mode = 0755},
        {.path = "d", .type = 'l', .data = outside + "/dir"},
        {.path = "d/x", .data = "overwrite"}},
       "d"},
      {"whiteout through symlink",
       {{.path = "s", .type = 'l', .data = outside}, {.path = "s/.wh.secret"}},
       "s/.wh.secret"},
      {"opaque through symlink",
       {{.path = "s", .type = 'l', .data = outside + "/dir"}, {.path = "s/.wh..wh..opq"}},
       "s/.wh..wh..opq"},
      {"whiteout of dotdot", {{.path = ".wh.."}}, ".wh.."},
      {"whiteout with dotdot path", {{.path = "../.wh.secret"}}, "../.wh.secret"},
      {"root replaced by symlink", {{.path = "./", .type = 'l', .data = outside}}, "./"},
  };
}

TEST_P(HostileTarTest, RejectedAndNothingOutsideChanges) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string target = t->path() + "/target", outside = t->path() + "/outside";
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  WriteFileOrDie(outside + "/secret", "secret");
  WriteFileOrDie(outside + "/dir/x", "x");
  auto before = DescribeTree(t->path(), true);
  before.erase("target");
  auto cases = HostileTars(outside);
  ASSERT_GE(cases.size(), 12u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(RemoveAll(target).ok());
    ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
    for (auto style : {WhiteoutStyle::kDelete, WhiteoutStyle::kOverlay}) {
      if (style == WhiteoutStyle::kOverlay && !Root()) continue;
      ApplyOptions o;
      o.whiteouts = style;
      auto r = Apply(FromString(MakeTar(c.entries, GetParam())), target, o);
      ASSERT_FALSE(r.ok()) << "accepted";
      EXPECT_NE(r.error().message().find("entry " + c.culprit + ":"), std::string::npos)
          << r.error().message();
      auto after = DescribeTree(t->path(), true);
      for (auto it = after.begin(); it != after.end();) {
        it = (it->first == "target" || it->first.rfind("target/", 0) == 0) ? after.erase(it) : ++it;
      }
      EXPECT_EQ(TreeDiff(before, after), "");
      EXPECT_EQ(*ReadFile(outside + "/secret"), "secret");
      ASSERT_TRUE(RemoveAll(target).ok());
      ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndCompressed, HostileTarTest,
                         ::testing::Values(oci::Compression::kNone, oci::Compression::kGzip),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(LayerTest, SymlinksPointingOutsideAreStoredNotFollowed) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string target = t->path() + "/target";
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  WriteFileOrDie(t->path() + "/secret", "secret");
  std::string tar = MakeTar({{.path = "etc/passwd", .type = 'l', .data = t->path() + "/secret"},
                             {.path = "rel", .type = 'l', .data = "../../../../secret"}});
  ASSERT_TRUE(Apply(FromString(tar), target, {}).ok());
  auto d = DescribeTree(target);
  EXPECT_EQ(d["etc/passwd"], "symlink 0:0 -> " + t->path() + "/secret");
  EXPECT_EQ(*ReadFile(t->path() + "/secret"), "secret");
}

}  // namespace
}  // namespace bld::snapshot
