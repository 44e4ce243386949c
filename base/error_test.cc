#include "base/error.h"

#include <gtest/gtest.h>

#include <memory>

namespace bld {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  BLD_ASSIGN_OR_RETURN(int h, Half(x));
  BLD_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckQuarter(int x) {
  BLD_TRY_WRAP(Quarter(x), "quarter " + std::to_string(x));
  return Ok();
}

TEST(ErrorTest, WrapPrependsContext) {
  Error e = NotFoundError("no such image").Wrap("inspect foo");
  EXPECT_EQ(e.message(), "inspect foo: no such image");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
}

TEST(ErrorTest, PosixErrorMapsErrno) {
  Error e = PosixError("open /x", ENOENT);
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.message(), "open /x: No such file or directory");
  EXPECT_EQ(PosixError("", EACCES).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(PosixError("", EEXIST).code(), ErrorCode::kAlreadyExists);
}

TEST(ResultTest, MacrosPropagate) {
  ASSERT_TRUE(Quarter(8).ok());
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "odd: 3");
  Status s = CheckQuarter(6);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "quarter 6: odd: 3");
  EXPECT_TRUE(CheckQuarter(4).ok());
}

TEST(ResultTest, HoldsMoveOnly) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

}  // namespace
}  // namespace bld
