#include "server/pattern/pattern.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "server/pattern/flat_event.h"

namespace evbus::pattern {
namespace {

std::string Reason(std::string_view pattern, const PatternLimits& limits = {}) {
  absl::StatusOr<Pattern> p = Pattern::Compile(pattern, limits);
  if (p.ok()) return "OK";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg(p.status().message());
  const std::string prefix(kInvalidPatternPrefix);
  EXPECT_EQ(msg.substr(0, prefix.size()), prefix) << msg;
  return msg.substr(prefix.size());
}

// Wraps `detail` (a JSON object text) in a minimal envelope.
std::string Event(std::string_view detail, std::string_view extra = "") {
  return std::string(
             R"({"version":"0","id":"1","detail-type":"T","source":"s",)"
             R"("account":"1","time":"2024-01-01T00:00:00Z",)"
             R"("region":"us-east-1","resources":[])") +
         std::string(extra) + R"(,"detail":)" + std::string(detail) + "}";
}

bool Match(std::string_view pattern, std::string_view event_json) {
  absl::StatusOr<Pattern> p = Pattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status();
  if (!p.ok()) return false;
  absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(event_json);
  EXPECT_TRUE(ev.ok()) << event_json << ": " << ev.status();
  if (!ev.ok()) return false;
  return p->Matches(*ev);
}

bool D(std::string_view pattern_detail, std::string_view event_detail) {
  return Match(std::string(R"({"detail":)") + std::string(pattern_detail) + "}",
               Event(event_detail));
}

TEST(PatternValidationTest, StructuralErrors) {
  EXPECT_EQ(Reason(R"({"resources":[]})"), "Empty arrays are not allowed");
  EXPECT_EQ(Reason(R"({})"), "Empty objects are not allowed");
  EXPECT_EQ(Reason(R"({"detail":{}})"), "Empty objects are not allowed");
  EXPECT_EQ(Reason(R"([{"a":["b"]}])"), "Filter is not an object");
  EXPECT_EQ(Reason(R"("source")"), "Filter is not an object");
  EXPECT_EQ(Reason("   "), "Filter is not an object");
  EXPECT_EQ(Reason(R"({"int":42})"), "\"int\" must be an object or an array");
  EXPECT_EQ(Reason(R"({"x":null})"), "\"x\" must be an object or an array");
  EXPECT_EQ(Reason(R"({"s":[["a"]]})"),
            "Match value must be String, number, true, false, or null");
  EXPECT_EQ(Reason(R"({"s":[{}]})"), "Match expression name not found");
  EXPECT_EQ(Reason(R"({"s":[{"EXISTS":true}]})"),
            "Unrecognized match type EXISTS");
  EXPECT_EQ(Reason(R"({"s":[{"prefix":"a","suffix":"b"}]})"),
            "Only one key allowed in match expression");
}

TEST(PatternValidationTest, JsonSyntaxErrorsUseJacksonText) {
  EXPECT_EQ(Reason("{'source': ['a']}").substr(0, 84),
            "Unexpected character (''' (code 39)): was expecting double-quote "
            "to start field name");
  EXPECT_EQ(Reason("this is not json").substr(0, 23),
            "Unrecognized token 'thi");
  EXPECT_NE(Reason(R"({"source":["a",]})")
                .find("Unexpected character (']' (code 93))"),
            std::string::npos);
  EXPECT_NE(Reason(R"({"source":["a"])").find("Unexpected end-of-input"),
            std::string::npos);
  EXPECT_NE(
      Reason("{'a': 1}")
          .find("\n at [Source: (String)\"{'a': 1}\"; line: 1, column: 2]"),
      std::string::npos);
}

TEST(PatternValidationTest, OperatorErrors) {
  EXPECT_EQ(Reason(R"({"x":[{"prefix":5}]})"),
            "prefix match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"suffix":["a"]}]})"),
            "suffix match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"prefix":{"wildcard":"a*"}}]})"),
            "Unsupported prefix pattern: wildcard");
  EXPECT_EQ(Reason(R"({"x":[{"prefix":{"equals-ignore-case":1}}]})"),
            "equals-ignore-case match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"equals-ignore-case":["a"]}]})"),
            "equals-ignore-case match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"wildcard":["a*"]}]})"),
            "wildcard match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"wildcard":"a\\b"}]})"),
            "Invalid escape character at pos 2");
  EXPECT_EQ(Reason(R"({"x":[{"wildcard":"abc\\"}]})"),
            "Invalid escape character at pos 4");
  EXPECT_EQ(
      Reason(
          R"({"x":[{"wildcard":"arn:aws:events:us-east-1:**:event-bus/*"}]})"),
      "Consecutive wildcard characters at pos 26");
  EXPECT_EQ(Reason(R"({"x":[{"exists":"true"}]})"),
            "exists match pattern must be either true or false.");
  EXPECT_EQ(Reason(R"({"x":[{"exactly":1}]})"),
            "exact match pattern must be a string");
}

TEST(PatternValidationTest, AnythingButErrors) {
  EXPECT_EQ(
      Reason(R"({"x":[{"anything-but":null}]})"),
      "Value of anything-but must be an array or single string/number value.");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":["a",null]}]})"),
            "Inside anything but list, start|null|boolean is not supported.");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":["a",1]}]})"),
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":[]}]})"),
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":{"prefix":""}}]})"),
            "Null prefix/suffix not allowed");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":{"suffix":["a",""]}}]})"),
            "Null prefix/suffix not allowed");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":{"prefix":5}}]})"),
            "prefix/suffix match pattern must be a string");
  EXPECT_EQ(
      Reason(
          R"({"x":[{"anything-but":{"suffix":{"equals-ignore-case":".png"}}}]})"),
      "Value of anything-but must be an array or single string/number value.");
  EXPECT_EQ(
      Reason(R"({"x":[{"anything-but":{"equals-ignore-case":[1,2]}}]})"),
      "Inside anything-but/equals-ignore-case list, number|start|null|boolean "
      "is not supported.");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":{"wildcard":5}}]})"),
            "wildcard match pattern must be a string");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":{"numeric":[">",1]}}]})"),
            "Unsupported anything-but pattern: numeric");
  EXPECT_EQ(Reason(R"({"x":[{"anything-but":"a","prefix":"b"}]})"),
            "Too many elements in numeric expression");
}

TEST(PatternValidationTest, NumericErrors) {
  EXPECT_EQ(Reason(R"({"x":[{"numeric":5}]})"),
            "Value of numeric must be an array.");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[5,">"]}]})"),
            "Invalid member in numeric match: 5");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[]}]})"),
            "Invalid member in numeric match: ]");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":["!=",5]}]})"),
            "Unrecognized numeric range operator: !=");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":["<","10"]}]})"),
            "Value of < must be numeric");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":["=","5"]}]})"),
            "Value of equals must be numeric");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":["<",10,">",0]}]})"),
            "Too many elements in numeric expression");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":["=",5,"<",6]}]})"),
            "Too many elements in numeric expression");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[">",0,"<",5,"<",6]}]})"),
            "Too many terms in numeric range expression");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[">",0,">",0]}]})"),
            "Bad numeric range operator: >");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[">",0,5]}]})"),
            "Bad value in numeric range: 5");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[">=",5,"<=",5]}]})"),
            "Bottom must be less than top");
  EXPECT_EQ(Reason(R"({"x":[{"numeric":[">",1e400]}]})"),
            "Cannot compare number : 1e400");
}

TEST(PatternValidationTest, CidrErrors) {
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"bad-filter"}]})"),
            "Malformed CIDR, one '/' required");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"10.0.0.0/abc"}]})"),
            "Malformed CIDR, mask bits must be an integer");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"10.0.0.0/-1"}]})"),
            "Malformed CIDR, mask bits must not be negative");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"xx.11.xx/8"}]})"),
            "Nonstandard IP address: xx.11.xx");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":10}]})"),
            "prefix match pattern must be a string");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"10.0.0.0/33"}]})"),
            "IPv4 mask bits must be < 32");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"10.0.0.1/32"}]})"),
            "IPv4 mask bits must be < 32");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"::1/128"}]})"),
            "IPv6 mask bits must be < 128");
  EXPECT_EQ(Reason(R"({"ip":[{"cidr":"2001:db8::/127"}]})"), "OK");
}

TEST(PatternValidationTest, OrErrorsAndLimits) {
  EXPECT_EQ(Reason(R"({"$or":[{"source":["a"]}]})"),
            "There must have at least 2 Objects in $or relationship.");
  EXPECT_EQ(
      Reason(R"({"$or":[{"source":["a"]},{"detail":{"prefix":["b"]}}]})"),
      "prefix is Ruler reserved fieldName which cannot be used inside $or.");
  EXPECT_EQ(Reason(R"({"$or":[{"source":["a"]},"b"]})"),
            "Only JSON object is allowed in array of $or relationship.");
  // Operator names are fine as field names outside $or.
  EXPECT_EQ(Reason(R"({"prefix":["p"],"numeric":["n"]})"), "OK");
  // 10 x 10 x 11 = 1100 combinations > 1000.
  auto alts = [](int n) {
    std::string s = R"({"$or":[)";
    for (int i = 0; i < n; ++i) {
      if (i) s += ",";
      s += R"({"f)" + std::to_string(i) + R"(":["v"]})";
    }
    return s + "]}";
  };
  const std::string big = R"({"a":)" + alts(10) + R"(,"b":)" + alts(10) +
                          R"(,"c":)" + alts(11) + "}";
  PatternLimits roomy;
  roomy.max_pattern_chars = 100000;
  EXPECT_EQ(Reason(big, roomy),
            "The number of $or combinations exceeds the limit of 1000");
  const std::string ok = R"({"a":)" + alts(10) + R"(,"b":)" + alts(10) +
                         R"(,"c":)" + alts(10) + "}";
  EXPECT_EQ(Reason(ok, roomy), "OK");
  EXPECT_EQ(Pattern::Compile(ok, roomy)->subrule_count(), 1000u);
}

TEST(PatternValidationTest, LengthLimitCountsCharacters) {
  const std::string value(2040, 'x');
  const std::string p = R"({"a":[")" + value + R"("]})";  // 2040 + 10 chars
  EXPECT_NE(Reason(p).find("too long"), std::string::npos);
  PatternLimits test_event_pattern;
  test_event_pattern.max_pattern_chars = 4096;
  EXPECT_EQ(Reason(p, test_event_pattern), "OK");
}

TEST(PatternValidationTest, WildcardComplexity) {
  EXPECT_EQ(
      Reason(R"({"f":[{"wildcard":"/Users/*/dir/dir/dir/dir/dir/doc.txt"}]})"),
      "OK");
  EXPECT_EQ(
      Reason(R"({"f":[{"wildcard":"*:*:*:*:*:event-bus/*"}]})"),
      "Rule is too complex - try using fewer wildcard characters or fewer "
      "repeating character sequences after a wildcard character");
  EXPECT_EQ(
      Reason(R"({"s":[{"wildcard":"*:stack/A/*"},{"wildcard":"*:stack/B/*"},)"
             R"({"wildcard":"*:stack/C/*"}]})"),
      "OK");
  EXPECT_NE(
      Reason(R"({"s":[{"wildcard":"*:stack/A/*"},{"wildcard":"*:stack/B/*"},)"
             R"({"wildcard":"*:stack/C/*"},{"wildcard":"*:stack/D/*"}]})"),
      "OK");
  // A value listed twice counts once, as in event-ruler's machine (QA M-2),
  // also across $or branches on one path.
  EXPECT_EQ(
      Reason(R"({"s":[{"wildcard":"*:stack/A/*"},{"wildcard":"*:stack/A/*"},)"
             R"({"wildcard":"*:stack/B/*"},{"wildcard":"*:stack/C/*"}]})"),
      "OK");
  EXPECT_EQ(Reason(R"({"f":[{"wildcard":"*a*a*"},{"wildcard":"*a*a*"},)"
                   R"({"wildcard":"*a*a*"}]})"),
            "OK");
  EXPECT_EQ(Reason(R"({"$or":[{"s":[{"wildcard":"*:stack/A/*"},)"
                   R"({"wildcard":"*:stack/B/*"}]},{"s":[{"wildcard":)"
                   R"("*:stack/A/*"},{"wildcard":"*:stack/C/*"}]}]})"),
            "OK");
  // anything-but wildcards count as wildcards do (QA M-3), with them.
  EXPECT_EQ(
      Reason(
          R"({"f":[{"anything-but":{"wildcard":"*:*:*:*:*:event-bus/*"}}]})"),
      "Rule is too complex - try using fewer wildcard characters or fewer "
      "repeating character sequences after a wildcard character");
  EXPECT_NE(Reason(R"({"s":[{"anything-but":{"wildcard":["*:stack/A/*",)"
                   R"("*:stack/B/*","*:stack/C/*","*:stack/D/*"]}}]})"),
            "OK");
  EXPECT_EQ(Reason(R"({"s":[{"anything-but":{"wildcard":["*:stack/A/*",)"
                   R"("*:stack/B/*","*:stack/C/*"]}}]})"),
            "OK");
}

TEST(PatternMatchTest, ExactValues) {
  EXPECT_TRUE(Match(R"({"source":["s"]})", Event("{}")));
  EXPECT_FALSE(Match(R"({"source":["S"]})", Event("{}")));
  EXPECT_TRUE(D(R"({"n":[300]})", R"({"n":300.0})"));
  EXPECT_TRUE(D(R"({"n":[3e2]})", R"({"n":300})"));
  EXPECT_FALSE(D(R"({"n":[300]})", R"({"n":"300"})"));
  EXPECT_FALSE(D(R"({"n":["300"]})", R"({"n":300})"));
  EXPECT_TRUE(D(R"({"n":[0]})", R"({"n":-0.0})"));
  EXPECT_TRUE(D(R"({"b":[true]})", R"({"b":true})"));
  EXPECT_FALSE(D(R"({"b":[true]})", R"({"b":"true"})"));
  EXPECT_TRUE(D(R"({"x":[null]})", R"({"x":null})"));
  EXPECT_FALSE(D(R"({"x":[null]})", R"({})"));
  EXPECT_FALSE(D(R"({"x":[""]})", R"({"x":null})"));
  EXPECT_TRUE(D(R"({"x":["cafe\u0301"]})", "{\"x\":\"cafe\u0301\"}"));
  EXPECT_FALSE(D(R"({"x":["café"]})", "{\"x\":\"cafe\u0301\"}"));
  // Numbers beyond double range match only their literal spelling.
  EXPECT_TRUE(D(R"({"n":[1e400]})", R"({"n":1e400})"));
  EXPECT_FALSE(D(R"({"n":[1e400]})", R"({"n":2e400})"));
  // Numbers too small for a double are 0 (Java's Double.parseDouble) on
  // both sides, whichever reader flattened the event (a 1e400 elsewhere in
  // it sends it to the slow one).
  for (std::string_view other : {"", R"(,"x":1e400)"}) {
    const std::string tiny = R"({"n":1e-400)" + std::string(other) + "}";
    const std::string zero = R"({"n":0)" + std::string(other) + "}";
    EXPECT_TRUE(D(R"({"n":[1e-400]})", tiny)) << other;
    EXPECT_TRUE(D(R"({"n":[1e-400]})", zero)) << other;
    EXPECT_TRUE(D(R"({"n":[0]})", tiny)) << other;
    EXPECT_TRUE(D(R"({"n":[{"numeric":["<",1e-400]}]})", R"({"n":-1})"));
    EXPECT_FALSE(D(R"({"n":[{"numeric":[">",1e-400]}]})", tiny)) << other;
  }
  // IP literals are normalised (event-ruler behaviour).
  EXPECT_TRUE(D(R"({"ip":["2001:db8::1"]})",
                R"({"ip":"2001:0db8:0000:0000:0000:0000:0000:0001"})"));
}

TEST(PatternMatchTest, ArraysAndPresence) {
  EXPECT_TRUE(Match(R"({"resources":["r1","r9"]})",
                    Event("{}").replace(Event("{}").find("\"resources\":[]"),
                                        14, R"("resources":["r0","r1"])")));
  EXPECT_FALSE(Match(R"({"resources":[null]})", Event("{}")));
  EXPECT_FALSE(Match(R"({"resources":[{"exists":true}]})", Event("{}")));
  EXPECT_TRUE(Match(R"({"resources":[{"exists":false}]})", Event("{}")));
  EXPECT_TRUE(D(R"({"x":[{"exists":true}]})", R"({"x":null})"));
  EXPECT_FALSE(D(R"({"x":[{"exists":false}]})", R"({"x":null})"));
  EXPECT_FALSE(D(R"({"x":[{"exists":true}]})", R"({"x":{"y":1}})"));
  EXPECT_TRUE(D(R"({"x":[{"exists":false}]})", R"({"x":{"y":1}})"));
  EXPECT_TRUE(
      D(R"({"l1":{"l2":{"l3":[{"exists":false}]}}})", R"({"l1":{"l2":"s"}})"));
  EXPECT_FALSE(D(R"({"x":[{"exists":true}]})", R"({"x":[[],[]]})"));
  EXPECT_TRUE(D(R"({"tags":["b"]})", R"({"tags":[["a"],["b"]]})"));
  EXPECT_FALSE(
      D(R"({"mixed":[{"prefix":"k"}]})", R"({"mixed":[1,{"k":"kx"}]})"));
}

TEST(PatternMatchTest, ArrayConsistency) {
  EXPECT_FALSE(D(
      R"({"emp":{"first":["Anna"],"last":["Jones"]}})",
      R"({"emp":[{"first":"Anna","last":"Smith"},{"first":"Peter","last":"Jones"}]})"));
  EXPECT_TRUE(D(
      R"({"emp":{"first":["Peter"],"last":["Jones"]}})",
      R"({"emp":[{"first":"Anna","last":"Smith"},{"first":"Peter","last":"Jones"}]})"));
  // exists:false is judged inside the array element chosen by the others,
  // whatever the field order (README deviation 3).
  EXPECT_TRUE(D(R"({"emp":{"ids":[{"exists":false}],"first":["Anna"]}})",
                R"({"emp":[{"first":"John","ids":[1]},{"first":"Anna"}]})"));
  EXPECT_TRUE(D(R"({"emp":{"first":["Anna"],"ids":[{"exists":false}]}})",
                R"({"emp":[{"first":"John","ids":[1]},{"first":"Anna"}]})"));
  EXPECT_FALSE(D(R"({"emp":{"first":["John"],"ids":[{"exists":false}]}})",
                 R"({"emp":[{"first":"John","ids":[1]},{"first":"Anna"}]})"));
  // Alone, exists:false sees every element.
  EXPECT_FALSE(D(R"({"emp":{"ids":[{"exists":false}]}})",
                 R"({"emp":[{"first":"John","ids":[1]},{"first":"Anna"}]})"));
  EXPECT_TRUE(D(R"({"a":{"b":{"c":["x"]},"d":["y"]}})",
                R"({"a":[{"b":[{"c":"x"}],"d":"y"}]})"));
  EXPECT_FALSE(D(R"({"a":{"b":{"c":["x"]},"d":["y"]}})",
                 R"({"a":[{"b":[{"c":"x"}]},{"d":"y"}]})"));
}

TEST(PatternMatchTest, DotJoinedKeysAndDuplicates) {
  EXPECT_TRUE(Match(R"({"detail.state":["running"]})",
                    Event(R"({"state":"running"})")));
  EXPECT_TRUE(D(R"({"a":{"b":["x"]}})", R"({"a.b":"x"})"));
  EXPECT_FALSE(D(R"({"a.b":[{"exists":false}]})", R"({"a.b":1})"));
  // Duplicate keys: the last one wins.
  EXPECT_TRUE(Match(R"({"source":["x"],"source":["s"]})", Event("{}")));
  EXPECT_FALSE(Match(R"({"source":["s"],"source":["x"]})", Event("{}")));
  EXPECT_FALSE(D(R"({"a":["x"]},"detail":{"b":["y"]})", R"({"a":"x"})"));
  // The same path spelt two ways: the later spelling wins too.
  EXPECT_TRUE(Match(R"({"detail":{"a":["x"]},"detail.a":["y"]})",
                    Event(R"({"a":"y"})")));
  EXPECT_FALSE(Match(R"({"detail":{"a":["x"]},"detail.a":["y"]})",
                     Event(R"({"a":"x"})")));
}

TEST(PatternMatchTest, PrefixSuffixAndCase) {
  EXPECT_TRUE(D(R"({"x":[{"prefix":""}]})", R"({"x":""})"));
  EXPECT_FALSE(D(R"({"x":[{"prefix":""}]})", R"({"x":null})"));
  EXPECT_FALSE(D(R"({"x":[{"prefix":"12"}]})", R"({"x":123})"));
  EXPECT_TRUE(D(R"({"x":[{"prefix":{"equals-ignore-case":"EventB"}}]})",
                R"({"x":"EvEnTbridge"})"));
  EXPECT_TRUE(D(R"({"x":[{"suffix":{"equals-ignore-case":"МИР"}}]})",
                R"({"x":"привет мир"})"));
  EXPECT_FALSE(D(R"({"x":[{"suffix":".PNG"}]})", R"({"x":"a.png"})"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"ÄÖÜ"}]})", R"({"x":"äöü"})"));
  EXPECT_FALSE(D(R"({"x":[{"equals-ignore-case":""}]})", R"({"x":"v"})"));
  EXPECT_FALSE(D(R"({"x":[{"equals-ignore-case":"5"}]})", R"({"x":5})"));
}

TEST(PatternMatchTest, SimpleCaseFoldingDeviations) {
  // README deviation 2: simple Unicode case folding.
  EXPECT_FALSE(
      D(R"({"x":[{"equals-ignore-case":"STRASSE"}]})", R"({"x":"straße"})"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"ẞ"}]})", R"({"x":"ß"})"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"ΟΔΟΣ"}]})", R"({"x":"οδος"})"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"οδος"}]})", R"({"x":"οδοσ"})"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"k"}]})", "{\"x\":\"\u212a\"}"));
  EXPECT_TRUE(D(R"({"x":[{"equals-ignore-case":"😀"}]})", R"({"x":"😀"})"));
  EXPECT_FALSE(
      D(R"({"x":[{"equals-ignore-case":"i"}]})", "{\"x\":\"\u0130\"}"));
}

TEST(PatternMatchTest, AnythingBut) {
  EXPECT_TRUE(D(R"({"s":[{"anything-but":"init"}]})", R"({"s":null})"));
  EXPECT_FALSE(D(R"({"s":[{"anything-but":"init"}]})", R"({})"));
  EXPECT_FALSE(D(R"({"s":[{"anything-but":[100,200]}]})", R"({"s":100.0})"));
  EXPECT_TRUE(D(R"({"s":[{"anything-but":[100,200]}]})", R"({"s":"100"})"));
  EXPECT_TRUE(
      D(R"({"s":[{"anything-but":{"prefix":"init"}}]})", R"({"s":12})"));
  EXPECT_FALSE(D(R"({"s":[{"anything-but":{"prefix":["init","post"]}}]})",
                 R"({"s":"post-x"})"));
  EXPECT_TRUE(D(R"({"s":[{"anything-but":{"suffix":[".txt"]}}]})",
                R"({"s":"a.txt.bak"})"));
  EXPECT_FALSE(
      D(R"({"s":[{"anything-but":{"equals-ignore-case":["stopped"]}}]})",
        R"({"s":"Stopped"})"));
  EXPECT_FALSE(D(R"({"s":[{"anything-but":{"wildcard":"*/init/*"}}]})",
                 R"({"s":"d/init/f"})"));
  EXPECT_TRUE(D(R"({"s":[{"anything-but":{"wildcard":""}}]})", R"({"s":"d"})"));
  EXPECT_TRUE(
      D(R"({"t":[{"anything-but":"blocked"}]})", R"({"t":["blocked","ok"]})"));
  EXPECT_FALSE(
      D(R"({"t":[{"anything-but":"blocked"}]})", R"({"t":["blocked"]})"));
  EXPECT_FALSE(D(R"({"t":[{"anything-but":"blocked"}]})", R"({"t":[]})"));
}

TEST(PatternMatchTest, NumericAndCidr) {
  EXPECT_TRUE(D(R"({"c":[{"numeric":[">",0,"<=",5]}]})", R"({"c":5})"));
  EXPECT_FALSE(D(R"({"c":[{"numeric":[">",0,"<=",5]}]})", R"({"c":0})"));
  EXPECT_TRUE(D(R"({"c":[{"numeric":[">",5e9]}]})", R"({"c":6e9})"));
  EXPECT_TRUE(
      D(R"({"c":[{"numeric":["=",0.1]}]})", R"({"c":0.10000000000000001})"));
  EXPECT_FALSE(
      D(R"({"c":[{"numeric":["=",0.3]}]})", R"({"c":0.30000000000000004})"));
  EXPECT_FALSE(D(R"({"c":[{"numeric":[">",1]}]})", R"({"c":"2"})"));
  EXPECT_TRUE(D(R"({"c":[{"numeric":[">",1]}]})", R"({"c":[0,2]})"));
  EXPECT_FALSE(D(R"({"c":[{"numeric":[">",1]}]})", R"({"c":1e400})"));
  EXPECT_TRUE(D(R"({"ip":[{"cidr":"10.0.0.5/24"}]})", R"({"ip":"10.0.0.1"})"));
  EXPECT_FALSE(
      D(R"({"ip":[{"cidr":"10.0.0.0/24"}]})", R"({"ip":"10.0.0.256"})"));
  EXPECT_TRUE(D(R"({"ip":[{"cidr":"2001:db8::/32"}]})",
                R"({"ip":"2001:DB8:ffff::1"})"));
  EXPECT_FALSE(
      D(R"({"ip":[{"cidr":"10.0.0.0/24"}]})", R"({"ip":"2001:db8::1"})"));
}

TEST(PatternMatchTest, Wildcard) {
  EXPECT_TRUE(D(R"({"f":[{"wildcard":"a*b"}]})", R"({"f":"ab"})"));
  EXPECT_FALSE(D(R"({"f":[{"wildcard":"a\\*b"}]})", R"({"f":"axb"})"));
  EXPECT_TRUE(D(R"({"f":[{"wildcard":"a\\*b"}]})", R"({"f":"a*b"})"));
  EXPECT_TRUE(D(R"({"f":[{"wildcard":"a\\\\*"}]})", R"({"f":"a\\xyz"})"));
  EXPECT_FALSE(D(R"({"f":[{"wildcard":""}]})", R"({"f":"x"})"));
  EXPECT_TRUE(D(R"({"f":[{"wildcard":"*"}]})", R"({"f":""})"));
  EXPECT_FALSE(D(R"({"f":[{"wildcard":"*"}]})", R"({"f":null})"));
}

TEST(PatternMatchTest, Or) {
  EXPECT_TRUE(Match(
      R"({"source":["s"],"$or":[{"detail":{"x":[1]}},{"detail":{"y":[2]}}]})",
      Event(R"({"y":2})")));
  EXPECT_FALSE(Match(
      R"({"source":["z"],"$or":[{"detail":{"x":[1]}},{"detail":{"y":[2]}}]})",
      Event(R"({"y":2})")));
  EXPECT_TRUE(
      Match(R"({"$or":[{"detail":{"x":[1]}},{"$or":[{"detail":{"y":[2]}},)"
            R"({"detail":{"z":[3]}}]}]})",
            Event(R"({"z":3})")));
  // A $or whose value is an object is an ordinary field named "$or".
  EXPECT_TRUE(Match(R"({"detail":{"$or":{"a":["b"]}}})",
                    Event(R"({"$or":{"a":"b"}})")));
  EXPECT_EQ(Pattern::Compile(R"({"$or":[{"a":["1"]},{"b":["2"]}],"c":["3"]})")
                ->subrule_count(),
            2u);
}

}  // namespace
}  // namespace evbus::pattern
