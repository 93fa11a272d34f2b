#include "server/functions/function_config.h"

#include "gtest/gtest.h"

namespace evbus::functions {
namespace {

evbus::v1::Function Valid() {
  evbus::v1::Function fn;
  fn.set_function_name("health-check");
  fn.set_runtime("python3.11");
  fn.set_handler("app.lambda_handler");
  return fn;
}

TEST(FunctionConfig, FillsLambdaDefaults) {
  evbus::v1::Function fn = Valid();
  ASSERT_TRUE(NormalizeFunction(fn).ok());
  EXPECT_EQ(fn.timeout(), 3);
  EXPECT_EQ(fn.memory_size(), 128);
  EXPECT_EQ(MaxRetryAttempts(fn), 2);
  EXPECT_EQ(MaxEventAgeSeconds(fn), 21600);
}

TEST(FunctionConfig, RuntimeKinds) {
  EXPECT_EQ(RuntimeKindOf("python3"), RuntimeKind::kPython);
  EXPECT_EQ(RuntimeKindOf("python3.12"), RuntimeKind::kPython);
  EXPECT_EQ(RuntimeKindOf("nodejs20.x"), RuntimeKind::kNodejs);
  EXPECT_EQ(RuntimeKindOf("nodejs"), RuntimeKind::kNodejs);
  EXPECT_EQ(RuntimeKindOf("provided.al2023"), RuntimeKind::kProvided);
  EXPECT_EQ(RuntimeKindOf("java21"), RuntimeKind::kUnknown);
}

TEST(FunctionConfig, RejectsOutOfRangeValuesNamingTheField) {
  evbus::v1::Function fn = Valid();
  fn.set_timeout(901);
  absl::Status s = NormalizeFunction(fn);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'timeout'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("less than or equal to 900"), std::string::npos);

  fn = Valid();
  fn.set_memory_size(64);
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("'memorySize'"), std::string::npos) << s;

  fn = Valid();
  fn.set_runtime("java21");
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("'runtime'"), std::string::npos) << s;

  fn = Valid();
  fn.set_function_name("bad name");
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("'functionName'"), std::string::npos) << s;

  fn = Valid();
  fn.mutable_event_invoke_config()->set_maximum_retry_attempts(3);
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("maximumRetryAttempts"), std::string::npos) << s;
}

TEST(FunctionConfig, RejectsReservedAndOversizedEnvironment) {
  evbus::v1::Function fn = Valid();
  (*fn.mutable_environment())["AWS_REGION"] = "x";
  absl::Status s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("InvalidParameterValueException"),
            std::string::npos);
  EXPECT_NE(s.message().find("AWS_REGION"), std::string::npos);

  fn = Valid();
  (*fn.mutable_environment())["big"] = std::string(5000, 'x');
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("4KB"), std::string::npos) << s;

  fn = Valid();
  (*fn.mutable_environment())["1bad"] = "x";
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("environment.variables"), std::string::npos) << s;

  // A NUL would cut the value in the process environment.
  fn = Valid();
  (*fn.mutable_environment())["CUT"] = std::string("ab\0cd", 5);
  s = NormalizeFunction(fn);
  EXPECT_NE(s.message().find("InvalidParameterValueException"),
            std::string::npos)
      << s;
  EXPECT_NE(s.message().find("contain a NUL character"), std::string::npos)
      << s;
  EXPECT_NE(s.message().find(": CUT"), std::string::npos) << s;
}

TEST(FunctionConfig, NamesFromArns) {
  EXPECT_EQ(
      *FunctionNameOf("arn:aws:lambda:us-east-1:123456789012:function:f1"),
      "f1");
  EXPECT_EQ(*FunctionNameOf("function:f2"), "f2");
  EXPECT_EQ(*FunctionNameOf("f3"), "f3");
  EXPECT_FALSE(FunctionNameOf("arn:aws:sns:us-east-1:1:topic").ok());
  EXPECT_EQ(LogGroupOf("f1"), "/aws/lambda/f1");
}

}  // namespace
}  // namespace evbus::functions
