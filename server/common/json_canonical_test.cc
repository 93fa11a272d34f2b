#include "server/common/json_canonical.h"

#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/common/json.h"

namespace evbus::common {
namespace {

// What the slow path produces, or nullopt when ParseJson rejects `text`.
std::optional<std::string> Reference(absl::string_view text) {
  absl::StatusOr<Json> doc = ParseJson(text);
  if (!doc.ok()) return std::nullopt;
  return DumpJson(*doc);
}

// The fast path must either agree byte for byte with the reference or
// decline (return false); it may never accept what ParseJson rejects.
void ExpectAgrees(absl::string_view text, bool expect_fast = false) {
  std::string out = "prefix:";
  const bool fast = AppendCanonicalJson(text, {}, &out);
  std::optional<std::string> want = Reference(text);
  if (fast) {
    ASSERT_TRUE(want.has_value()) << "accepted invalid JSON: " << text;
    EXPECT_EQ(out, "prefix:" + *want) << text;
  } else {
    EXPECT_EQ(out, "prefix:") << "output left behind for " << text;
    EXPECT_FALSE(expect_fast) << "declined: " << text;
  }
}

TEST(CanonicalJsonTest, CommonShapesTakeTheFastPath) {
  for (
      const char* text : {
          R"({"a":1})",
          R"( { "a" : [ 1 , 2.5 , -3 , true , false , null ] } )",
          R"({"s":"caf\u00e9 \ud83d\ude00 \/ \" \\ \b\f\n\r\t \u0001 \u001f"})",
          R"({"raw":"café 😀 \u007f"})",
          R"({"n":[0,-0,1e2,1E-7,-0.0,0.1,1.7976931348623157e308,5e-324]})",
          R"({"big":9223372036854775807,"neg":-9223372036854775808})",
          R"({"u":18446744073709551615})",
          R"({"nested":{"a":{"b":{"c":[[],{}]}}},"e":{},"f":[]})",
          R"("just a string")",
          R"(12)",
          R"([1,[2,[3]]])",
      }) {
    ExpectAgrees(text, /*expect_fast=*/true);
  }
}

TEST(CanonicalJsonTest, DeclinesWhatTheSlowPathMustDecide) {
  for (const char* text : {
           R"({"a":1,"a":2})",    // duplicate keys: last wins
           R"({"a":1e400})",      // out of double range
           R"({"a":1e-400})",     // underflow
           R"({"a":"\ud800"})",   // lone surrogate
           R"({"a":"\udc00x"})",  // lone low surrogate
           "\xEF\xBB\xBF{}",      // byte order mark
           R"({"a":18446744073709551616})",
           R"({"a":-9223372036854775809})",
       }) {
    ExpectAgrees(text);
  }
}

TEST(CanonicalJsonTest, NeverAcceptsInvalidJson) {
  for (const char* text : {
           "",
           " ",
           "{",
           "}",
           "{\"a\"}",
           "{\"a\":}",
           "{\"a\":1,}",
           "[1,]",
           "{\"a\":01}",
           "{\"a\":1.}",
           "{\"a\":.5}",
           "{\"a\":1e}",
           "{\"a\":+1}",
           "{\"a\":-}",
           "{\"a\":tru}",
           "{\"a\":nul}",
           "{\"a\":\"x}",
           "{\"a\":\"\\x\"}",
           "{\"a\":\"\\u12\"}",
           "{\"a\":\"\x01\"}",
           "{\"a\":\"\xff\"}",
           "{\"a\":\"\xc0\xaf\"}",
           "{\"a\":\"\xed\xa0\x80\"}",
           "{\"a\":1} x",
           "{\"a\":1}{}",
           "{'a':1}",
           "{\"a\" 1}",
           "[1 2]",
           "{\"a\":NaN}",
           "{\"a\":Infinity}",
           "{\"a\":1}\x00",
       }) {
    ExpectAgrees(text);
  }
  ExpectAgrees(absl::string_view("{\"a\":1}\0", 8));
}

TEST(CanonicalJsonTest, LimitsDecline) {
  std::string out;
  EXPECT_FALSE(AppendCanonicalJson("[1]", {.require_object = true}, &out));
  EXPECT_FALSE(AppendCanonicalJson(R"({"a":9223372036854775808})",
                                   {.integers_fit_int64 = true}, &out));
  EXPECT_TRUE(AppendCanonicalJson(R"({"a":9223372036854775807})",
                                  {.integers_fit_int64 = true}, &out));
  // JsonDepth: {"a":{"b":1}} is 3.
  out.clear();
  EXPECT_TRUE(AppendCanonicalJson(R"({"a":{"b":1}})", {.max_depth = 3}, &out));
  EXPECT_FALSE(AppendCanonicalJson(R"({"a":{"b":1}})", {.max_depth = 2}, &out));
  EXPECT_TRUE(AppendCanonicalJson(R"({"a":{"b":{}}})", {.max_depth = 3}, &out));
  // Very deep nesting never recurses past the limit.
  std::string deep(100000, '[');
  EXPECT_FALSE(AppendCanonicalJson(deep, {.max_depth = 100}, &out));
}

TEST(CanonicalJsonTest, StringsEscapeLikeDumpJson) {
  for (const std::string& s :
       {std::string("plain"), std::string("q\"b\\s/"), std::string("\x01\x1f"),
        std::string("tab\tnl\ncr\rbs\bff\f"), std::string("\x7f"),
        std::string("é😀"), std::string("\0", 1)}) {
    std::string out;
    ASSERT_TRUE(AppendJsonString(s, &out));
    EXPECT_EQ(out, DumpJson(Json(s))) << s;
  }
  std::string out;
  EXPECT_FALSE(AppendJsonString("\xff", &out));
  EXPECT_TRUE(out.empty());
}

// Long strings are scanned 16 bytes at a time: a byte that ends the run
// (quote, backslash escape, control character) or a non-ASCII byte at every
// position of a block, valid or not, still gives the reference's answer.
TEST(CanonicalJsonTest, LongStringsAgreeAtEveryPosition) {
  const std::vector<std::string> inserts = {"\\\"",
                                            "\\\\",
                                            "\\n",
                                            "\\u00e9",
                                            "\x01",
                                            "\x1f",
                                            "\"",
                                            "\x7f",
                                            "\xc3\xa9",
                                            "\xff",
                                            "\xc3",
                                            "\xed\xa0\x80",
                                            "\xf0\x9f\x98\x80",
                                            " "};
  for (const std::string& insert : inserts) {
    for (size_t at = 0; at <= 40; ++at) {
      std::string body(48, 'x');
      body.insert(at, insert);
      ExpectAgrees("{\"k\":\"" + body + "\",\"n\":1}");
      // The same bytes as a raw value to escape.
      std::string raw(45, 'y');
      raw.insert(at, insert);
      const bool valid_utf8 =
          insert != "\xff" && insert != "\xc3" && insert != "\xed\xa0\x80";
      std::string escaped;
      EXPECT_EQ(AppendJsonString(raw, &escaped), valid_utf8) << at;
      if (valid_utf8) {
        EXPECT_EQ(escaped, DumpJson(Json(raw))) << at;
      }
    }
  }
  // Plain long ASCII takes the fast path.
  ExpectAgrees("{\"k\":\"" + std::string(1000, 'x') + "\"}", true);
}

// Random documents and random corruptions of them: the fast path agrees
// with ParseJson + DumpJson on every one it accepts.
TEST(CanonicalJsonTest, DifferentialAgainstTheJsonLibrary) {
  std::mt19937 rng(20261127);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> scalars = {
      "0",           "-0",          "1",
      "-17",         "3.25",        "1e2",
      "-1.5E-3",     "0.1",         "123456789012345678",
      "2.5e+10",     "1e308",       "true",
      "false",       "null",        "\"\"",
      "\"x\"",       "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
      "\"a\\nb\"",   "\"\\/\\\\\"", "\"é\"",
      "\"\\u0000\"", "\"\\u001F\"", "4.9e-324",
      "1.0",         "100.0"};
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    const int kind = depth > 4 ? 0 : pick(4);
    if (kind <= 1)
      return scalars[static_cast<size_t>(
          pick(static_cast<int>(scalars.size())))];
    const char* ws[] = {"", " ", "\n", "\t ", "\r\n"};
    std::string out;
    const int n = pick(5);
    if (kind == 2) {
      out = "{";
      for (int i = 0; i < n; ++i) {
        if (i > 0) out += ",";
        out += ws[pick(5)];
        out += "\"k" + std::to_string(pick(6)) + "\"";
        out += ws[pick(5)];
        out += ":";
        out += ws[pick(5)];
        out += gen(depth + 1);
      }
      out += ws[pick(5)];
      out += "}";
    } else {
      out = "[";
      for (int i = 0; i < n; ++i) {
        if (i > 0) out += ",";
        out += ws[pick(5)];
        out += gen(depth + 1);
      }
      out += "]";
    }
    return out;
  };
  int fast = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string doc = gen(0);
    if (pick(3) == 0 && !doc.empty()) {
      // Corrupt: delete, duplicate or replace one byte.
      const size_t at = static_cast<size_t>(pick(static_cast<int>(doc.size())));
      const char junk[] = {'"', ',', '}', ']', '\\', 'x', '0', '\x01', '\xc3'};
      switch (pick(3)) {
        case 0:
          doc.erase(at, 1);
          break;
        case 1:
          doc.insert(at, 1, doc[at]);
          break;
        default:
          doc[at] = junk[pick(sizeof(junk))];
      }
    }
    std::string out;
    const bool ok = AppendCanonicalJson(doc, {}, &out);
    std::optional<std::string> want = Reference(doc);
    if (ok) {
      ++fast;
      ASSERT_TRUE(want.has_value()) << "accepted invalid JSON: " << doc;
      ASSERT_EQ(out, *want) << doc;
    }
  }
  EXPECT_GT(fast, 2000);  // most documents take the fast path
}

}  // namespace
}  // namespace evbus::common
