#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/temp_dir.h"

namespace bld {
namespace {

TEST(FileTest, AtomicWriteAndRead) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string p = JoinPath(dir->path(), "a/b/c.txt");
  ASSERT_TRUE(MkdirAll(Dirname(p)).ok());
  ASSERT_TRUE(WriteFileAtomic(p, "hello", 0600).ok());
  auto s = ReadFile(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "hello");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto names = ListDir(Dirname(p));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 1u);  // no temp file left behind
}

TEST(FileTest, ReadMissingNamesPath) {
  auto r = ReadFile("/nonexistent/bld-file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("/nonexistent/bld-file"), std::string::npos);
}

TEST(FileTest, PathHelpers) {
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(Dirname("/a/b/"), "/a");
  EXPECT_EQ(Dirname("a"), ".");
  EXPECT_EQ(Dirname("/a"), "/");
  EXPECT_EQ(Basename("/a/b/"), "b");
}

TEST(TempDirTest, RemovedOnDestruction) {
  std::string path;
  {
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    ASSERT_TRUE(MkdirAll(JoinPath(path, "x/y")).ok());
    EXPECT_TRUE(IsDirectory(path));
  }
  EXPECT_FALSE(PathExists(path));
}

}  // namespace
}  // namespace bld
