#include "server/api/grpc/status_conversion.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::api {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(StatusConversionTest, CodesAndShortMessagesAreKept) {
  grpc::Status s = ToGrpcStatus(
      absl::NotFoundError("ResourceNotFoundException: Rule r does not exist."));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(),
            "ResourceNotFoundException: Rule r does not exist.");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(StatusConversionTest, LongMessagesKeepBothEnds) {
  // A constraint message echoing a 9,000-character Input.
  const std::string message = absl::StrCat(
      "ValidationException: 1 validation error detected: Value '",
      std::string(9000, 'x'),
      "' at 'targets.1.member.input' failed to satisfy constraint: Member "
      "must have length less than or equal to 8192");
  grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(s.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_THAT(s.error_message(), StartsWith("ValidationException: 1 "));
  EXPECT_THAT(s.error_message(),
              EndsWith("at 'targets.1.member.input' failed to satisfy "
                       "constraint: Member must have length less than or "
                       "equal to 8192"));
  EXPECT_THAT(s.error_message(), HasSubstr(" bytes omitted ...] "));
}

TEST(StatusConversionTest, CutsDoNotSplitUtf8) {
  std::string message;
  for (int i = 0; i < 3000; ++i) message += "\xc3\xa9";  // é
  const std::string fitted = FitStatusMessage(message);
  EXPECT_LE(fitted.size(), kMaxStatusMessageBytes);
  const size_t note = fitted.find(" [...");
  ASSERT_NE(note, std::string::npos);
  EXPECT_EQ(note % 2, 0u);
  EXPECT_EQ((fitted.size() - fitted.find("...] ") - 5) % 2, 0u);
}

}  // namespace
}  // namespace evbus::api
