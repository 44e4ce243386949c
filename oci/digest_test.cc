#include "oci/digest.h"

#include <gtest/gtest.h>

namespace bld::oci {
namespace {

constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, Of) {
  EXPECT_EQ(Digest::Of("").hex(), kEmpty);
  EXPECT_EQ(Digest::Of("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, StreamingMatchesOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Digest::Of("abc"));
}

TEST(DigestTest, ParseValid) {
  auto d = Digest::Parse(std::string("sha256:") + kEmpty);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->hex(), kEmpty);
  EXPECT_EQ(d->Short(), "e3b0c44298fc");
}

TEST(DigestTest, ParseRejects) {
  for (const char* bad : {"", "sha256", "sha256:", "sha256:abc", "md5:abc",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"}) {
    auto d = Digest::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(d.error().message().find("invalid digest"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace bld::oci
