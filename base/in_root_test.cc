#include "base/in_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/temp_dir.h"

namespace bld {
namespace {

// <tmp>/root is the root; <tmp>/outside/secret is a host file that must stay unreachable.
class InRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_.emplace(std::move(*t));
    root_ = tmp_->path() + "/root";
    outside_ = tmp_->path() + "/outside";
    ASSERT_TRUE(MkdirAll(root_ + "/usr/lib").ok());
    ASSERT_TRUE(MkdirAll(outside_).ok());
    ASSERT_TRUE(WriteFileAtomic(outside_ + "/secret", "host").ok());
    ASSERT_TRUE(WriteFileAtomic(root_ + "/usr/lib/libc", "inside").ok());
    auto fd = OpenRoot(root_);
    ASSERT_TRUE(fd.ok());
    root_fd_ = std::move(*fd);
  }
  void Link(const std::string& target, const std::string& name) {
    ASSERT_EQ(symlink(target.c_str(), (root_ + "/" + name).c_str()), 0) << name;
  }
  std::string Read(const std::string& path) {
    auto fd = OpenInRoot(root_fd_.get(), path, O_RDONLY);
    if (!fd.ok()) return "error: " + fd.error().message();
    auto s = ReadFd(fd->get());
    return s.ok() ? *s : "error: " + s.error().message();
  }

  std::optional<TempDir> tmp_;
  std::string root_, outside_;
  UniqueFd root_fd_;
};

TEST_F(InRootTest, SymlinksResolveInsideTheRoot) {
  Link("usr/lib", "lib");
  Link("/usr/lib/libc", "abs");
  EXPECT_EQ(Read("/lib/libc"), "inside");
  EXPECT_EQ(Read("lib/libc"), "inside");
  EXPECT_EQ(Read("/abs"), "inside");
  EXPECT_EQ(Read("/usr/lib/../lib/libc"), "inside");
}

TEST_F(InRootTest, NothingOutsideTheRootIsReachable) {
  Link(outside_, "hostabs");                 // absolute host path
  Link("../../outside", "hostrel");          // relative escape
  Link("/../../../../" + outside_, "deep");  // ".." above the root
  ASSERT_TRUE(MkdirAll(root_ + "/d").ok());
  for (const char* p : {"/hostabs/secret", "/hostrel/secret", "/deep/secret", "/../outside/secret",
                        "/d/../../outside/secret"}) {
    std::string got = Read(p);
    EXPECT_NE(got, "host") << p;
    EXPECT_TRUE(got.starts_with("error: ")) << p << ": " << got;
  }
  // /proc magic links are never followed.
  Link("/proc/self/root", "magic");
  auto fd = OpenInRoot(root_fd_.get(), "/magic/" + outside_ + "/secret", O_RDONLY);
  EXPECT_FALSE(fd.ok());
}

TEST_F(InRootTest, OpenCreatesInResolvedParent) {
  Link("usr/lib", "lib");
  auto fd = OpenInRoot(root_fd_.get(), "/lib/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_TRUE(PathExists(root_ + "/usr/lib/new"));
  Link(outside_ + "/created", "dangling");
  // O_CREAT through a dangling link creates its target inside the root, never outside.
  ASSERT_TRUE(MkdirAll(root_ + outside_).ok());
  auto fd2 = OpenInRoot(root_fd_.get(), "/dangling", O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(fd2.ok()) << fd2.error().message();
  EXPECT_FALSE(PathExists(outside_ + "/created"));
  EXPECT_TRUE(PathExists(root_ + outside_ + "/created"));
}

TEST_F(InRootTest, OpenNoFollowGivesTheLinkItself) {
  Link("usr/lib", "lib");
  auto fd = OpenInRoot(root_fd_.get(), "/lib", O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(fd.ok());
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  auto err = OpenInRoot(root_fd_.get(), "/lib", O_RDONLY | O_NOFOLLOW);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message().find("/lib"), std::string::npos);
}

TEST_F(InRootTest, ResolveGivesTheSymlinkFreePath) {
  Link("usr/lib", "lib");
  Link("/lib", "lib2");
  Link("../../../../usr", "up");
  auto r = [&](std::string_view p, bool follow_last = true) {
    auto s = ResolveInRoot(root_fd_.get(), p, follow_last);
    return s.ok() ? *s : "error: " + s.error().message();
  };
  EXPECT_EQ(r("/lib/libc"), "/usr/lib/libc");
  EXPECT_EQ(r("lib2/libc"), "/usr/lib/libc");
  EXPECT_EQ(r("/up/lib"), "/usr/lib");
  EXPECT_EQ(r("/lib"), "/usr/lib");
  EXPECT_EQ(r("/lib", false), "/lib");
  EXPECT_EQ(r("/lib2/", false), "/lib2");
  EXPECT_EQ(r(""), "/");
  EXPECT_EQ(r("/.."), "/");
  EXPECT_EQ(r("/./usr//lib/."), "/usr/lib");
  // Missing components are appended as written.
  EXPECT_EQ(r("/lib/missing/a/../b"), "/usr/lib/missing/b");
  EXPECT_EQ(r("/usr/lib/libc/x"), "/usr/lib/libc/x");  // through a file
}

TEST_F(InRootTest, SymlinkLoopIsAnError) {
  Link("b", "a");
  Link("a", "b");
  auto s = ResolveInRoot(root_fd_.get(), "/a/x");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().Is(ErrorCode::kInvalidArgument));
  EXPECT_NE(s.error().message().find("symbolic links"), std::string::npos);
  EXPECT_FALSE(MkdirAllInRoot(root_fd_.get(), "/a/x").ok());
}

TEST_F(InRootTest, MkdirAllFollowsDanglingLinksInsideTheRoot) {
  Link("/target/dir", "link");
  Link(outside_ + "/made", "escape");
  auto fd = MkdirAllInRoot(root_fd_.get(), "/link/sub", 0750, getuid(), getgid());
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  struct stat st;
  ASSERT_EQ(stat((root_ + "/target/dir/sub").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);  // exact, no umask
  struct stat got;
  ASSERT_EQ(fstat(fd->get(), &got), 0);
  EXPECT_EQ(got.st_ino, st.st_ino);

  ASSERT_TRUE(MkdirAllInRoot(root_fd_.get(), "/escape/x").ok());
  EXPECT_FALSE(PathExists(outside_ + "/made"));
  EXPECT_TRUE(IsDirectory(root_ + outside_ + "/made/x"));
}

TEST_F(InRootTest, MkdirAllKeepsExistingAndRefusesFiles) {
  ASSERT_EQ(chmod((root_ + "/usr").c_str(), 0700), 0);
  ASSERT_TRUE(MkdirAllInRoot(root_fd_.get(), "/usr/lib/new", 0755).ok());
  struct stat st;
  ASSERT_EQ(stat((root_ + "/usr").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // existing directories untouched
  auto r = MkdirAllInRoot(root_fd_.get(), "/usr/lib/libc/sub");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().Is(ErrorCode::kFailedPrecondition));
  EXPECT_NE(r.error().message().find("/usr/lib/libc"), std::string::npos);
  auto root = MkdirAllInRoot(root_fd_.get(), "/");
  ASSERT_TRUE(root.ok());
}

}  // namespace
}  // namespace bld
