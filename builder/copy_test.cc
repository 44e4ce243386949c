#include "builder/copy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace bld::builder {
namespace {

mode_t Chmod(mode_t m, const char* spec, bool dir = false) {
  auto r = ApplyChmod(m, dir, spec);
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : 0;
}

TEST(ApplyChmodTest, Octal) {
  EXPECT_EQ(Chmod(S_IFREG | 0644, "755"), S_IFREG | 0755);
  EXPECT_EQ(Chmod(S_IFREG | 0644, "0600"), S_IFREG | 0600);
  EXPECT_EQ(Chmod(S_IFDIR | 0755, "4711", true), S_IFDIR | 04711);
}

TEST(ApplyChmodTest, Symbolic) {
  EXPECT_EQ(Chmod(S_IFREG | 0644, "u+x"), S_IFREG | 0744);
  EXPECT_EQ(Chmod(S_IFREG | 0644, "a+x"), S_IFREG | 0755);
  EXPECT_EQ(Chmod(S_IFREG | 0644, "+x"), S_IFREG | 0755);
  EXPECT_EQ(Chmod(S_IFREG | 0666, "go-w"), S_IFREG | 0644);
  EXPECT_EQ(Chmod(S_IFREG | 0777, "u=rw,g=r,o="), S_IFREG | 0640);
  EXPECT_EQ(Chmod(S_IFREG | 0644, "a=rX"), S_IFREG | 0444);
  EXPECT_EQ(Chmod(S_IFDIR | 0700, "a=rX", true), S_IFDIR | 0555);
  EXPECT_EQ(Chmod(S_IFREG | 0744, "go+X"), S_IFREG | 0755);
  EXPECT_EQ(Chmod(S_IFREG | 0755, "u+s"), S_IFREG | 04755);
}

TEST(ApplyChmodTest, Invalid) {
  for (const char* bad : {"", "888", "07777777", "u+q", "z+x", "u", "u+x,,"}) {
    EXPECT_FALSE(ApplyChmod(0644, false, bad).ok()) << bad;
  }
}

TEST(UrlFileNameTest, LastComponent) {
  EXPECT_EQ(UrlFileName("http://127.0.0.1:8000/dir/file.txt"), "file.txt");
  EXPECT_EQ(UrlFileName("https://example.com/a/b.tar.gz?x=1#frag"), "b.tar.gz");
  EXPECT_EQ(UrlFileName("https://example.com/a/"), "a");
  EXPECT_EQ(UrlFileName("https://example.com"), "");
}

}  // namespace
}  // namespace bld::builder
