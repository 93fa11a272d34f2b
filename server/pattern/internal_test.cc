// Unit tests for the leaf-level helpers in internal/.
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/pattern/internal/bigrams.h"
#include "server/pattern/internal/case_fold.h"
#include "server/pattern/internal/ip.h"
#include "server/pattern/internal/pattern_json.h"
#include "server/pattern/internal/short_string_map.h"
#include "server/pattern/internal/strings.h"
#include "server/pattern/internal/wildcard.h"

namespace evbus::pattern::internal {
namespace {

TEST(CaseFoldTest, SimpleFolding) {
  EXPECT_EQ(FoldCase("ABC xyz"), "abc xyz");
  EXPECT_EQ(FoldCase("ÄÖÜ"), "äöü");
  EXPECT_EQ(FoldCase("ΟΔΟΣ"), FoldCase("οδος"));
  EXPECT_EQ(FoldCase("ς"), "σ");            // final sigma
  EXPECT_EQ(FoldCase("\u212A"), "k");       // Kelvin sign
  EXPECT_EQ(FoldCase("ẞ"), "ß");            // capital sharp s (simple fold)
  EXPECT_EQ(FoldCase("ß"), "ß");            // never "ss"
  EXPECT_EQ(FoldCase("\u0130"), "\u0130");  // dotted I has no simple fold
  EXPECT_EQ(FoldCase("😀"), "😀");
  EXPECT_EQ(FoldCase("\xff\xfe"), "\xff\xfe");  // invalid bytes pass through
  EXPECT_EQ(SimpleFold(U'\U00010400'), U'\U00010428');  // Deseret
}

TEST(CaseFoldTest, Utf16Length) {
  EXPECT_EQ(Utf16Length("abc"), 3u);
  EXPECT_EQ(Utf16Length("é"), 1u);
  EXPECT_EQ(Utf16Length("😀"), 2u);
}

TEST(IpTest, ParsesBothFamilies) {
  ASSERT_TRUE(ParseIp("10.0.0.255").has_value());
  EXPECT_FALSE(ParseIp("10.0.0.256").has_value());
  EXPECT_FALSE(ParseIp("10.0.0").has_value());
  EXPECT_FALSE(ParseIp("1.2.3.4.5").has_value());
  EXPECT_FALSE(ParseIp("not-an-ip").has_value());
  EXPECT_FALSE(ParseIp("").has_value());
  EXPECT_EQ(ParseIp("2001:db8::1"), ParseIp("2001:0DB8:0:0:0:0:0:1"));
  EXPECT_TRUE(ParseIp("::").has_value());
  EXPECT_TRUE(ParseIp("::1").has_value());
  EXPECT_TRUE(ParseIp("fe80::").has_value());
  EXPECT_FALSE(ParseIp("1::2::3").has_value());
  EXPECT_FALSE(ParseIp("1:2:3:4:5:6:7:8:9").has_value());
  EXPECT_FALSE(ParseIp("12345::").has_value());
  EXPECT_FALSE(ParseIp("::ffff:1.2.3.4").has_value());  // as event-ruler
}

TEST(IpTest, CidrContains) {
  absl::StatusOr<Cidr> c = ParseCidr("10.0.0.5/24");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Contains(*ParseIp("10.0.0.0")));
  EXPECT_TRUE(c->Contains(*ParseIp("10.0.0.255")));
  EXPECT_FALSE(c->Contains(*ParseIp("10.0.1.0")));
  absl::StatusOr<Cidr> c6 = ParseCidr("2001:db8:1234:1a00::/64");
  ASSERT_TRUE(c6.ok());
  EXPECT_TRUE(
      c6->Contains(*ParseIp("2001:0db8:1234:1a00:0000:0000:0000:0001")));
  EXPECT_FALSE(c6->Contains(*ParseIp("2001:0db8:123f:1a01::")));
  EXPECT_FALSE(c6->Contains(*ParseIp("10.0.0.1")));
  absl::StatusOr<Cidr> odd = ParseCidr("192.168.1.0/31");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Contains(*ParseIp("192.168.1.1")));
  EXPECT_FALSE(odd->Contains(*ParseIp("192.168.1.2")));
  absl::StatusOr<Cidr> all = ParseCidr("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains(*ParseIp("8.8.8.8")));
}

TEST(IpTest, CidrErrors) {
  EXPECT_EQ(ParseCidr("10.0.0.0").status().message(),
            "Malformed CIDR, one '/' required");
  EXPECT_EQ(ParseCidr("10.0.0.0/").status().message(),
            "Malformed CIDR, one '/' required");
  EXPECT_EQ(ParseCidr("1/2/3").status().message(),
            "Malformed CIDR, one '/' required");
  EXPECT_EQ(ParseCidr("10.0.0.0/x").status().message(),
            "Malformed CIDR, mask bits must be an integer");
  EXPECT_EQ(ParseCidr("/8").status().message(), "Nonstandard IP address: ");
  EXPECT_EQ(ParseCidr("10.0.0.0/32").status().message(),
            "IPv4 mask bits must be < 32");
}

TEST(GlobTest, Matching) {
  auto g = [](std::string_view p) { return *Glob::Compile(p); };
  EXPECT_TRUE(g("a*b").Matches("ab"));
  EXPECT_TRUE(g("a*b").Matches("a/x/b"));
  EXPECT_FALSE(g("a*b").Matches("abc"));
  EXPECT_TRUE(g("*").Matches(""));
  EXPECT_TRUE(g("").Matches(""));
  EXPECT_FALSE(g("").Matches("x"));
  EXPECT_TRUE(g("a*b*c").Matches("a-b-b-c"));
  EXPECT_FALSE(g("a*b*c").Matches("a-b-b-cd"));
  EXPECT_TRUE(g("*aa*a").Matches("aaa"));
  EXPECT_FALSE(g("*aa*a").Matches("aa"));
  EXPECT_TRUE(g("a\\*b").Matches("a*b"));
  EXPECT_FALSE(g("a\\*b").Matches("axb"));
  EXPECT_TRUE(g("a\\\\b").Matches("a\\b"));
  EXPECT_TRUE(g("*東京*").Matches("ようこそ東京へ"));
  EXPECT_EQ(g("ab*c").LiteralPrefix(), "ab");
}

// Whole-string glob match by dynamic programming over (text, pattern)
// positions: the definition Glob::Matches must agree with.
bool ReferenceGlob(std::string_view pattern, std::string_view s) {
  std::vector<std::vector<char>> ok(s.size() + 1,
                                    std::vector<char>(pattern.size() + 1, 0));
  ok[s.size()][pattern.size()] = 1;
  for (size_t i = s.size() + 1; i-- > 0;) {
    for (size_t j = pattern.size(); j-- > 0;) {
      if (pattern[j] == '*') {
        ok[i][j] = ok[i][j + 1] || (i < s.size() && ok[i + 1][j]);
      } else {
        ok[i][j] = i < s.size() && s[i] == pattern[j] && ok[i + 1][j + 1];
      }
    }
  }
  return ok[0][0] != 0;
}

TEST(GlobTest, MatchesAgreesWithReference) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string pattern;
    const size_t plen = rng() % 14;
    for (size_t i = 0; i < plen; ++i) {
      const char c = "ab*c"[rng() % 4];
      if (c == '*' && !pattern.empty() && pattern.back() == '*') continue;
      pattern.push_back(c);
    }
    std::string s;
    const size_t slen = rng() % 40;
    for (size_t i = 0; i < slen; ++i) s.push_back("abc"[rng() % 3]);
    ASSERT_EQ(Glob::Compile(pattern)->Matches(s), ReferenceGlob(pattern, s))
        << "glob '" << pattern << "' text '" << s << "'";
  }
}

TEST(GlobTest, Errors) {
  EXPECT_EQ(Glob::Compile("**").status().message(),
            "Consecutive wildcard characters at pos 1");
  EXPECT_EQ(Glob::Compile("a\\b").status().message(),
            "Invalid escape character at pos 2");
  EXPECT_EQ(Glob::Compile("abc\\").status().message(),
            "Invalid escape character at pos 4");
  EXPECT_EQ(Glob::Compile("😀**").status().message(),
            "Consecutive wildcard characters at pos 3");  // UTF-16 index
  EXPECT_TRUE(Glob::Compile("a\\**").ok());
}

int Complexity(const std::vector<std::string>& patterns) {
  std::vector<Glob> globs;
  for (const auto& p : patterns) globs.push_back(*Glob::Compile(p));
  std::vector<const Glob*> ptrs;
  for (const auto& g : globs) ptrs.push_back(&g);
  return WildcardComplexity(ptrs, 100);
}

TEST(GlobTest, ComplexityMatchesEventRulerObservations) {
  EXPECT_EQ(Complexity({"/Users/*/dir/dir/dir/dir/dir/doc.txt"}), 7);
  EXPECT_EQ(Complexity({"*:*:*:*:*:event-bus/*"}), 11);
  EXPECT_EQ(Complexity({"*:stack/AppStack/*", "*:stack/DataStack/*",
                        "*:stack/SharedStack/*"}),
            9);
  EXPECT_EQ(Complexity({"*:stack/AppStack/*", "*:stack/DataStack/*",
                        "*:stack/SharedStack/*", "*:stack/MonitoringStack/*"}),
            12);
  EXPECT_GE(Complexity({"*a*a*a*a*a*a*"}), 11);
  EXPECT_EQ(Complexity({"*"}), 1);
  EXPECT_EQ(Complexity({"abc"}), 1);
}

// Every substring's byte pairs are among the string's (the filter never
// rules out a real match), and differing pairs mostly show: region names
// inside ARNs, which differ in a few characters, tell each other apart.
TEST(BigramMaskTest, SubstringsAreCoveredAndOthersMostlyNot) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    std::string s(static_cast<size_t>(round % 70), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    const uint64_t mask = BigramMask(s);
    for (size_t i = 0; i <= s.size(); ++i) {
      for (size_t n = 0; i + n <= s.size(); n += 3) {
        EXPECT_TRUE(Covers(mask, BigramMask(s.substr(i, n)))) << round;
      }
    }
  }
  EXPECT_EQ(BigramMask(""), 0u);
  EXPECT_EQ(BigramMask("a"), 0u);
  EXPECT_NE(BigramMask("ab"), BigramMask("ba"));
  const char* regions[] = {"us-east-1", "us-east-2",      "us-west-1",
                           "us-west-2", "eu-west-1",      "eu-central-1",
                           "sa-east-1", "ap-northeast-1", "ap-south-1"};
  for (const char* in : regions) {
    const uint64_t value =
        BigramMask(absl::StrCat("arn:aws:ec2:", in, ":123456789012:i-0abc"));
    for (const char* other : regions) {
      const bool covered =
          Covers(value, BigramMask(absl::StrCat(":", other, ":")));
      if (std::string_view(in) == other) {
        EXPECT_TRUE(covered) << in;
      } else {
        EXPECT_FALSE(covered) << in << " " << other;
      }
    }
  }
}

// Every key length from 0 to 40 (the word layouts for 0, 1-3, 4-7, 8-16
// and longer keys), keys differing in one byte anywhere, and strings that
// are not keys but share a key's first and last 8 bytes.
TEST(ShortStringMapTest, FindsExactlyTheKeys) {
  std::map<std::string, uint32_t> keys;
  uint32_t next = 0;
  for (size_t len = 0; len <= 40; ++len) {
    std::string k(len, 'a');
    for (size_t i = 0; i < len; ++i) k[i] = static_cast<char>('a' + i % 7);
    keys.emplace(k, next++);
  }
  ShortStringMap map = ShortStringMap::From(keys);
  EXPECT_EQ(map.size(), keys.size());
  for (const auto& [k, v] : keys) {
    const uint32_t* got = map.Find(k);
    ASSERT_NE(got, nullptr) << k;
    EXPECT_EQ(*got, v) << k;
    for (size_t i = 0; i < k.size(); ++i) {  // one byte changed
      std::string other = k;
      other[i] = 'Z';
      EXPECT_EQ(map.Find(other), nullptr) << other;
    }
    EXPECT_EQ(map.Find(k + "Z"), nullptr) << k;
  }
  EXPECT_EQ(ShortStringMap().Find("a"), nullptr);
  // A string with a NUL byte is not the shorter key without it.
  EXPECT_EQ(map.Find(std::string("ab\0", 3)), nullptr);
}

// FastStringHash reads every byte of keys of any length (0-3, 4-7, 8-16,
// and longer ones in 16-byte blocks plus an overlapping tail): a change to
// any one byte changes the hash, and equal strings hash equally wherever
// they sit in memory.
TEST(FastStringHashTest, EveryByteCounts) {
  std::set<size_t> seen;
  size_t strings = 0;
  for (size_t len = 0; len <= 70; ++len) {
    std::string k(len, 'a');
    for (size_t i = 0; i < len; ++i) k[i] = static_cast<char>('a' + i % 13);
    const size_t h = FastStringHash(k);
    EXPECT_EQ(FastStringHash(std::string(k)), h);
    EXPECT_EQ(FastStringHash(std::string_view(("x" + k).data() + 1, len)), h);
    seen.insert(h);
    ++strings;
    for (size_t i = 0; i < len; ++i) {
      std::string other = k;
      other[i] = static_cast<char>(other[i] ^ 0x20);
      EXPECT_NE(FastStringHash(other), h) << len << " " << i;
      seen.insert(FastStringHash(other));
      ++strings;
    }
  }
  // Distinct strings of a few hundred: no two hashes alike.
  EXPECT_EQ(seen.size(), strings);
  // A trailing NUL byte is part of the string.
  EXPECT_NE(FastStringHash(std::string("ab\0", 3)), FastStringHash("ab"));
}

TEST(PatternJsonTest, KeepsNumberTextAndLastDuplicate) {
  absl::StatusOr<PatternJson> v =
      ParsePatternJson(R"({"a":[1.50e2,-0],"b":1,"a":"x"})");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->members.size(), 2u);
  EXPECT_EQ(v->members[0].first, "a");
  EXPECT_EQ(v->members[0].second.text, "x");
  absl::StatusOr<PatternJson> n =
      ParsePatternJson(R"([1.50e2,-0,"\u00e9\ud83d\ude00"])");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->items[0].text, "1.50e2");
  EXPECT_EQ(n->items[1].text, "-0");
  EXPECT_EQ(n->items[2].text, "é😀");
}

TEST(PatternJsonTest, NumberValuesRoundAsJavaDoes) {
  EXPECT_EQ(JsonNumberValue("123e-2"), 1.23);
  EXPECT_EQ(JsonNumberValue("5e-324"), 4.9406564584124654e-324);
  // Too small for a double: zero, keeping the sign.
  for (std::string_view t :
       {"1e-400", "2.4e-324", "10e-401", "0.5e-330", "-1e-400"}) {
    EXPECT_EQ(JsonNumberValue(t), 0.0) << t;
  }
  EXPECT_TRUE(std::signbit(JsonNumberValue("-1e-400")));
  const std::string long_fraction = "0." + std::string(400, '0') + "1";
  EXPECT_EQ(JsonNumberValue(long_fraction), 0.0);
  // Too large: infinity.
  for (std::string_view t : {"1e400", "0.5e400"}) {
    EXPECT_TRUE(std::isinf(JsonNumberValue(t))) << t;
  }
  const std::string long_integer = "1" + std::string(400, '0');
  EXPECT_EQ(JsonNumberValue(long_integer),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(JsonNumberValue("-1e400"),
            -std::numeric_limits<double>::infinity());
}

TEST(PatternJsonTest, JacksonStyleErrors) {
  auto err = [](std::string_view s) {
    return std::string(ParsePatternJson(s).status().message());
  };
  EXPECT_NE(err("{\"a\" 1}")
                .find("was expecting a colon to separate field name and value"),
            std::string::npos);
  EXPECT_NE(err("[1 2]").find("was expecting comma to separate Array entries"),
            std::string::npos);
  EXPECT_NE(err("{\"a\":1 \"b\":2}")
                .find("was expecting comma to separate Object entries"),
            std::string::npos);
  EXPECT_NE(err("[01]").find("Leading zeroes not allowed"), std::string::npos);
  EXPECT_NE(err("[\"a\\q\"]").find("Unrecognized character escape"),
            std::string::npos);
  EXPECT_NE(err("[\"a\nb\"]")
                .find("Illegal unquoted character ((CTRL-CHAR, code 10))"),
            std::string::npos);
  EXPECT_NE(err("{} x").find("expected end-of-input"), std::string::npos);
  EXPECT_NE(err("[tru]").find("Unrecognized token 'tru'"), std::string::npos);
  std::string deep(300, '[');
  EXPECT_NE(err(deep).find("Maximum nesting depth exceeded"),
            std::string::npos);
}

}  // namespace
}  // namespace evbus::pattern::internal
