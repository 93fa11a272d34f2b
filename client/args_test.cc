#include "client/args.h"

#include <fstream>

#include "client/command_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::cli {
namespace {

TEST(ArgsTest, FlagsSwitchesAndPositionals) {
  auto a =
      Args::Parse({"--name", "x", "--limit=5", "--force", "pos"}, {"force"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a->Get("name"), "x");
  EXPECT_EQ(*a->Get("limit"), "5");
  EXPECT_TRUE(a->Has("force"));
  EXPECT_EQ(a->positional(), std::vector<std::string>{"pos"});
  EXPECT_TRUE(a->CheckKnown({"name", "limit", "force"}).ok());
  EXPECT_THAT(std::string(a->CheckKnown({"name"}).message()),
              ::testing::HasSubstr("Unknown options: --force, --limit"));
}

TEST(ArgsTest, WordsBelongToTheFlagTheyFollow) {
  auto a =
      Args::Parse({"--statistics", "Sum", "Average", "--extended-statistics",
                   "p99", "p50", "--force", "loose", "--x=1", "y"},
                  {"force"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->WordsAfter("statistics"), ::testing::ElementsAre("Average"));
  EXPECT_THAT(a->WordsAfter("extended-statistics"),
              ::testing::ElementsAre("p50"));
  EXPECT_THAT(a->WordsAfter("force"), ::testing::IsEmpty());  // a switch
  EXPECT_THAT(a->WordsAfter(""), ::testing::ElementsAre("loose"));
  EXPECT_THAT(a->WordsAfter("x"), ::testing::ElementsAre("y"));
}

TEST(ArgsTest, MissingValueAndRequired) {
  EXPECT_FALSE(Args::Parse({"--name"}, {}).ok());
  auto a = Args::Parse({}, {});
  EXPECT_THAT(std::string(a->Required("name").status().message()),
              ::testing::HasSubstr("required: --name"));
}

TEST(ArgsTest, FileValues) {
  std::string path = ::testing::TempDir() + "/evbus_args_test.json";
  std::ofstream(path) << "[1]";
  EXPECT_EQ(*ReadValue("file://" + path), "[1]");
  EXPECT_EQ(*ReadValue("[2]"), "[2]");
  EXPECT_FALSE(ReadValue("file:///no/such/file").ok());
}

TEST(ParseSinceArgTest, DurationsCountBackFromNow) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(*ParseSinceArg("since", "30s", now), 1799999970000);
  EXPECT_EQ(*ParseSinceArg("since", "10m", now), 1799999400000);
  EXPECT_EQ(*ParseSinceArg("since", "2h", now), 1799992800000);
  EXPECT_EQ(*ParseSinceArg("since", "1d", now), 1799913600000);
  EXPECT_EQ(*ParseSinceArg("since", "1w", now), 1799395200000);
  // Times as every other time argument takes them.
  EXPECT_EQ(*ParseSinceArg("since", "1700000000", now), 1700000000000);
  EXPECT_EQ(*ParseSinceArg("since", "2026-03-01T12:00:00Z", now),
            1772366400000);
  EXPECT_THAT(
      std::string(ParseSinceArg("since", "10x", now).status().message()),
      ::testing::HasSubstr("is not a duration (30s, 10m"));
  EXPECT_FALSE(ParseSinceArg("since", "-5m", now).ok());
  EXPECT_FALSE(ParseSinceArg("since", "m", now).ok());
}

}  // namespace
}  // namespace evbus::cli
