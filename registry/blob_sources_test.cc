#include "registry/blob_sources.h"

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/temp_dir.h"

namespace bld::registry {
namespace {

TEST(BlobSources, RecordAndLookup) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  BlobSources s(dir->path());
  oci::Digest a = oci::Digest::Of("a"), b = oci::Digest::Of("b");
  EXPECT_TRUE(s.Lookup("reg", a).empty());  // no file yet
  ASSERT_TRUE(s.Record("reg", "one", {a, b}).ok());
  ASSERT_TRUE(s.Record("reg", "two", {a}).ok());
  ASSERT_TRUE(s.Record("other", "three", {a}).ok());
  EXPECT_EQ(s.Lookup("reg", a), (std::vector<std::string>{"two", "one"}));
  EXPECT_EQ(s.Lookup("reg", b), std::vector<std::string>{"one"});
  EXPECT_EQ(s.Lookup("other", a), std::vector<std::string>{"three"});
  // Re-recording moves a repository to the front; old ones are forgotten past a limit.
  ASSERT_TRUE(s.Record("reg", "one", {a}).ok());
  EXPECT_EQ(s.Lookup("reg", a), (std::vector<std::string>{"one", "two"}));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s.Record("reg", "r" + std::to_string(i), {a}).ok());
  EXPECT_EQ(s.Lookup("reg", a).size(), 8u);
  EXPECT_EQ(s.Lookup("reg", a).front(), "r19");
  EXPECT_TRUE(PathExists(dir->path() + "/registry/blob-sources.json"));
}

TEST(BlobSources, CorruptFileReadsAsEmpty) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(MkdirAll(dir->path() + "/registry").ok());
  ASSERT_TRUE(WriteFileAtomic(dir->path() + "/registry/blob-sources.json", "{garbage").ok());
  BlobSources s(dir->path());
  oci::Digest a = oci::Digest::Of("a");
  EXPECT_TRUE(s.Lookup("reg", a).empty());
  ASSERT_TRUE(s.Record("reg", "one", {a}).ok());
  EXPECT_EQ(s.Lookup("reg", a), std::vector<std::string>{"one"});
}

}  // namespace
}  // namespace bld::registry
