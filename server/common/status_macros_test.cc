#include "server/common/status_macros.h"

#include <memory>

#include "gtest/gtest.h"
#include "server/common/aws_error.h"

namespace evbus::common {
namespace {

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool ok) {
  if (!ok) return absl::NotFoundError("no int");
  return std::make_unique<int>(7);
}

absl::StatusOr<int> UseInt(bool ok) {
  EVBUS_ASSIGN_OR_RETURN(std::unique_ptr<int> v, MakeInt(ok));
  return *v + 1;
}

absl::Status Check(bool ok) {
  EVBUS_RETURN_IF_ERROR(ok ? absl::OkStatus()
                           : absl::InvalidArgumentError("bad"));
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnMovesOnlyValues) {
  EXPECT_EQ(*UseInt(true), 8);
  EXPECT_EQ(UseInt(false).status().code(), absl::StatusCode::kNotFound);
}

TEST(StatusMacrosTest, ReturnIfError) {
  EXPECT_TRUE(Check(true).ok());
  EXPECT_EQ(Check(false).code(), absl::StatusCode::kInvalidArgument);
}

TEST(AwsErrorTest, CarriesExceptionName) {
  absl::Status s = ResourceNotFound("Event bus x does not exist.");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  AwsErrorParts p = SplitAwsError(s);
  EXPECT_EQ(p.exception, "ResourceNotFoundException");
  EXPECT_EQ(p.message, "Event bus x does not exist.");
}

TEST(AwsErrorTest, DerivesExceptionFromCodeWhenAbsent) {
  AwsErrorParts p = SplitAwsError(absl::InvalidArgumentError("bad thing"));
  EXPECT_EQ(p.exception, "ValidationException");
  EXPECT_EQ(p.message, "bad thing");
}

TEST(AwsErrorTest, ConstraintMessages) {
  absl::Status one = ConstraintViolation(
      {ConstraintClause("x y", "name",
                        "satisfy regular expression pattern: "
                        "[a]+")});
  EXPECT_EQ(SplitAwsError(one).message,
            "1 validation error detected: Value 'x y' at 'name' failed to "
            "satisfy constraint: Member must satisfy regular expression "
            "pattern: [a]+");
  absl::Status two = ConstraintViolation({"a", "b"});
  EXPECT_EQ(SplitAwsError(two).message, "2 validation errors detected: a; b");
}

}  // namespace
}  // namespace evbus::common
