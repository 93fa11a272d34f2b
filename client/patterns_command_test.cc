#include "client/patterns_command.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace evbus::cli {
namespace {

constexpr char kEnvelope[] =
    R"({"version":"0","id":"1","detail-type":"T","source":"s","account":"1",)"
    R"("time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"n":300.0}})";

std::string Check(const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(RunPatternsCheck(in, out, pattern::PatternLimits{}), 0);
  return out.str();
}

TEST(PatternsCheckTest, AnswersEachLineInOrder) {
  const std::string input =
      std::string(
          R"({"id": "m", "pattern": "{\"detail\":{\"n\":[3e2]}}", "event": )") +
      kEnvelope + "}\n" +
      R"({"id": 2, "pattern": "{\"source\":[\"x\"]}", "event": )" + kEnvelope +
      "}\n\n" + R"({"id": "bad", "pattern": "{\"source\":[]}", "event": )" +
      kEnvelope + "}\n";
  EXPECT_EQ(
      Check(input),
      "{\"id\": \"m\", \"match\": true}\n"
      "{\"id\": 2, \"match\": false}\n"
      "{\"id\": \"bad\", \"error\": \"InvalidEventPatternException: Event "
      "pattern is not valid. Reason: Empty arrays are not allowed\"}\n");
}

TEST(PatternsCheckTest, EventMayBeAJsonString) {
  const std::string input =
      R"({"id": 1, "pattern": "{\"source\":[\"s\"]}", "event": "{\"id\":\"1\",)"
      R"(\"account\":\"1\",\"source\":\"s\",\"time\":\"t\",\"region\":\"r\",)"
      R"(\"detail-type\":\"d\"}"})"
      "\n";
  EXPECT_EQ(Check(input), "{\"id\": 1, \"match\": true}\n");
}

TEST(PatternsCheckTest, BadLinesNeverAbort) {
  const std::string input =
      std::string("not json\n") +
      R"({"id": 7, "pattern": "{\"source\":[\"s\"]}", "event": {"source":"s"}})" +
      "\n" + R"({"id": 8, "event": {}})" + "\n" +
      R"({"id": 9, "pattern": "{\"source\":[\"s\"]}", "event": )" + kEnvelope +
      "}\n";
  const std::string out = Check(input);
  std::istringstream lines(out);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].rfind("{\"id\": null, \"error\": \"InvalidLine: ", 0), 0u);
  EXPECT_EQ(got[1],
            "{\"id\": 7, \"error\": \"ValidationException: Parameter Event is "
            "not valid.\"}");
  EXPECT_EQ(got[2].rfind("{\"id\": 8, \"error\": \"InvalidLine: ", 0), 0u);
  EXPECT_EQ(got[3], "{\"id\": 9, \"match\": true}");
}

TEST(PatternsCheckTest, HonoursLimits) {
  pattern::PatternLimits tiny;
  tiny.max_pattern_chars = 10;
  std::istringstream in(
      std::string(R"({"id": 1, "pattern": "{\"source\":[\"s\"]}", "event": )") +
      kEnvelope + "}\n");
  std::ostringstream out;
  EXPECT_EQ(RunPatternsCheck(in, out, tiny), 0);
  EXPECT_NE(out.str().find("too long"), std::string::npos);
}

TEST(PatternsCheckTest, APatternLongerThanTheApiModelTakes) {
  // Over 4096 UTF-16 units: the API model's ValidationException, before the
  // pattern is read (QA M-4).
  const std::string source(4085, 'a');
  const std::string pattern = R"({\"source\":[\")" + source + R"(\"]})";
  std::istringstream in(std::string(R"({"id": 1, "pattern": ")") + pattern +
                        R"(", "event": )" + kEnvelope + "}\n");
  std::ostringstream out;
  pattern::PatternLimits limits;
  limits.max_pattern_chars = 4096;
  EXPECT_EQ(RunPatternsCheck(in, out, limits), 0);
  EXPECT_NE(out.str().find("\"error\": \"ValidationException: 1 validation "
                           "error detected: Value '{\\\"source\\\":"),
            std::string::npos)
      << out.str().substr(0, 200);
  EXPECT_NE(out.str().find("' at 'eventPattern' failed to satisfy "
                           "constraint: Member must have length less than or "
                           "equal to 4096\"}"),
            std::string::npos)
      << out.str().substr(out.str().size() - 200);
}

TEST(PatternsLintTest, ReportsEachFile) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/good.json";
  const std::string bad = dir + "/bad.json";
  std::ofstream(good) << R"({"source":["aws.ec2"]})";
  std::ofstream(bad) << R"({"source":"aws.ec2"})";
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunPatternsLint({good}, out, err), 0);
  EXPECT_EQ(out.str(), good + ": OK\n");
  out.str("");
  EXPECT_EQ(RunPatternsLint({good, bad, dir + "/missing.json"}, out, err), 1);
  EXPECT_EQ(out.str(),
            good + ": OK\n" + bad +
                ": InvalidEventPatternException: Event pattern is not "
                "valid. Reason: \"source\" must be an object or an array\n");
  EXPECT_EQ(err.str(), dir + "/missing.json: cannot read\n");
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace evbus::cli
