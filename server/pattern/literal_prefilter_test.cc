#include "server/pattern/literal_prefilter.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/pattern/pattern.h"
#include "server/pattern/rule_matcher.h"

namespace evbus::pattern {
namespace {

std::shared_ptr<const RuleMatcher> Rules(std::vector<std::string> patterns) {
  RuleMatcher::Builder builder;
  for (size_t i = 0; i < patterns.size(); ++i) {
    absl::StatusOr<Pattern> p = Pattern::Compile(patterns[i]);
    EXPECT_TRUE(p.ok()) << patterns[i] << ": " << p.status();
    builder.Add(static_cast<uint32_t>(i), *p);
  }
  return builder.Build();
}

// The prefilter of `patterns` with each scan: MayMatch asks both, expects
// the same answer and returns it.
class BothScans {
 public:
  explicit BothScans(const std::vector<std::string>& patterns) {
    std::vector<Pattern> compiled;
    std::vector<const internal::SubRule*> subrules;
    for (const std::string& text : patterns) {
      absl::StatusOr<Pattern> p = Pattern::Compile(text);
      EXPECT_TRUE(p.ok()) << text << ": " << p.status();
      if (p.ok()) compiled.push_back(*p);
    }
    for (const Pattern& p : compiled) {
      for (const internal::SubRule& sub : p.compiled()->subrules) {
        subrules.push_back(&sub);
      }
    }
    wide_ = LiteralPrefilter::Build(subrules);
    narrow_ = wide_;
    narrow_.set_wide_scan(false);
  }
  bool active() const { return wide_.active(); }
  bool MayMatch(std::string_view text) const {
    const bool narrow = narrow_.MayMatch(text);
    EXPECT_EQ(wide_.MayMatch(text), narrow) << text;
    return narrow;
  }

 private:
  LiteralPrefilter wide_;
  LiteralPrefilter narrow_;
};

TEST(LiteralPrefilterTest, ExactPrefixAndSuffixLiterals) {
  const BothScans both({R"({"source":["com.shop"],"detail-type":["Order"]})",
                        R"({"region":[{"prefix":"eu-"}]})",
                        R"({"detail":{"file":[{"suffix":".png"}]}})"});
  const BothScans* m = &both;
  ASSERT_TRUE(m->active());
  EXPECT_TRUE(m->MayMatch(
      R"({"source":"com.shop","detail-type":"Order","region":"us-east-1"})"));
  // One field of the first rule is missing, and nothing else is there.
  EXPECT_FALSE(m->MayMatch(
      R"({"source":"com.shop","detail-type":"Other","region":"us-east-1"})"));
  EXPECT_TRUE(m->MayMatch(R"({"region":"eu-west-1"})"));
  EXPECT_FALSE(m->MayMatch(R"({"region":"us-eu-1"})"));  // not a prefix
  EXPECT_TRUE(m->MayMatch(R"({"detail":{"file":"a/b.png"}})"));
  EXPECT_FALSE(m->MayMatch(R"({"detail":{"file":"a.png/b"}})"));
  // Literals at the very start and end of the text.
  EXPECT_TRUE(m->MayMatch(R"("eu-1")"));
  EXPECT_TRUE(m->MayMatch(R"(".png")"));
  EXPECT_FALSE(m->MayMatch(""));
}

// Opening and closing quotes are told apart per block (16 bytes, or 32 from
// offset 2 with AVX2) by the running parity of quotes, carried from block to
// block: shift the text by 0..40 bytes so that literals, and the strings
// before them, start, end and straddle block boundaries at every offset of
// both scans. In valid JSON a closing quote
// is followed by , : ] } or a space, so a literal starting with one of those
// (prefix ",") tells the two kinds apart; likewise a suffix ":" before an
// opening quote.
TEST(LiteralPrefilterTest, QuoteParityAtEveryBlockOffset) {
  const BothScans open_scans(
      {R"({"x":[{"prefix":","}],"source":["com.shop"]})"});
  const BothScans close_scans(
      {R"({"x":[{"suffix":":"}],"file":[{"suffix":".png"}]})"});
  const BothScans* opening = &open_scans;
  const BothScans* closing = &close_scans;
  ASSERT_TRUE(opening->active());
  ASSERT_TRUE(closing->active());
  for (size_t pad = 0; pad <= 40; ++pad) {
    const std::string p(pad, 'x');
    // Every closing quote below is followed by ',' (`",` at a closing quote).
    const std::string a =
        R"({"note":")" + p + R"(","x":",y","source":"com.shop"})";
    const std::string b =
        R"({"note":")" + p + R"(","x":"y,","source":"com.shop"})";
    const std::string c =
        R"({"note":")" + p + R"(","x":",y","source":"com.shoe"})";
    EXPECT_TRUE(opening->MayMatch(a)) << a;
    EXPECT_FALSE(opening->MayMatch(b)) << b;
    EXPECT_FALSE(opening->MayMatch(c)) << c;
    // Every opening quote of a value below follows ':' (`:"` there).
    const std::string d = R"({"note":")" + p + R"(","x":"y:","file":"a.png"})";
    const std::string e = R"({"note":")" + p + R"(","x":":y","file":"a.png"})";
    const std::string f = R"({"note":")" + p + R"(","x":"y:","file":"a.pnx"})";
    EXPECT_TRUE(closing->MayMatch(d)) << d;
    EXPECT_FALSE(closing->MayMatch(e)) << e;
    EXPECT_FALSE(closing->MayMatch(f)) << f;
  }
}

TEST(LiteralPrefilterTest, ConservativeWhereTheTextCouldSpellALiteral) {
  auto m = Rules({R"({"source":["aws.ec2"]})"});
  ASSERT_TRUE(m->has_prefilter());
  EXPECT_FALSE(m->MayMatch(R"({"source":"aws.s3"})"));
  // An escape could spell the value another way: always a maybe.
  EXPECT_TRUE(m->MayMatch(R"({"source":"aws.\u0065c2"})"));
  EXPECT_TRUE(m->MayMatch(R"({"source":"x","note":"a\"b"})"));
  // In an array, or as a key: a maybe (the matcher decides).
  EXPECT_TRUE(m->MayMatch(R"({"source":["x","aws.ec2"]})"));
  EXPECT_TRUE(m->MayMatch(R"({"aws.ec2":1})"));
}

TEST(LiteralPrefilterTest, InactiveWhenSomeRuleHasNoLiteralField) {
  for (const char* other : {
           R"({"detail":{"n":[{"numeric":[">",1]}]}})",
           R"({"source":[{"anything-but":"a"}]})",
           R"({"source":[{"equals-ignore-case":"a"}]})",
           R"({"source":[{"wildcard":"a*"}]})",
           R"({"source":["a",{"exists":false}]})",
           R"({"source":["a",{"prefix":"b"},{"numeric":["=",1]}]})",
           R"({"ip":["10.0.0.1"]})",  // other spellings of the address match
           R"({"source":[{"prefix":""}]})",
       }) {
    auto m = Rules({R"({"source":["aws.ec2"]})", other});
    EXPECT_FALSE(m->has_prefilter()) << other;
    EXPECT_TRUE(m->MayMatch(R"({"source":"zzz"})")) << other;
  }
  // A rule with one literal field and one other field is still filtered by
  // the literal field.
  auto m = Rules({R"({"source":["a"],"n":[{"numeric":[">",1]}]})"});
  ASSERT_TRUE(m->has_prefilter());
  EXPECT_FALSE(m->MayMatch(R"({"source":"b","n":5})"));
}

TEST(LiteralPrefilterTest, InactiveForManyRulesOrLiterals) {
  std::vector<std::string> patterns;
  for (int i = 0; i < 65; ++i) {
    patterns.push_back(R"({"source":["s)" + std::to_string(i) + R"("]})");
  }
  EXPECT_FALSE(Rules(patterns)->has_prefilter());  // 65 sub-rules
  patterns.resize(64);
  EXPECT_TRUE(Rules(patterns)->has_prefilter());
  patterns.resize(1);
  std::string many = R"({"source":[)";
  for (int i = 0; i < 65; ++i) {
    many += (i == 0 ? "" : ",") + std::string("\"v") + std::to_string(i) + "\"";
  }
  many += "]}";
  patterns.push_back(many);
  EXPECT_FALSE(Rules(patterns)->has_prefilter());  // 66 literals
}

// The AVX2 fingerprint scan (where the CPU has it) gives the SSE2 scan's
// answer: random rule sets of short exact, prefix and suffix literals
// (one-byte literals fit any second byte; more than eight distinct
// fingerprints share buckets; bytes >= 0x80 use the high nibble tables)
// against random JSON of random lengths whose strings are made of the
// literals' bytes.
TEST(LiteralPrefilterTest, WideScanAgreesWithNarrowScan) {
  std::mt19937 rng(20261128);
  auto pick = [&rng](size_t n) {
    return static_cast<size_t>(
        std::uniform_int_distribution<size_t>(0, n - 1)(rng));
  };
  const std::vector<std::string> alphabet = {"a", "b", ".", ":",
                                             "-", ",", "x", "\xc3\xa9"};  // é
  auto word = [&](size_t max_len) {
    std::string w;
    const size_t len = 1 + pick(max_len);
    for (size_t i = 0; i < len; ++i) w += alphabet[pick(alphabet.size())];
    return w;
  };
  size_t wide_cases = 0;
  size_t passed = 0;
  for (int set = 0; set < 200; ++set) {
    std::vector<std::string> patterns;
    const size_t rules = 1 + pick(12);
    for (size_t r = 0; r < rules; ++r) {
      std::string field = R"({"f)" + std::to_string(pick(3)) + R"(":[)";
      const size_t alternatives = 1 + pick(3);
      for (size_t a = 0; a < alternatives; ++a) {
        if (a > 0) field += ",";
        const std::string w = word(3);
        switch (pick(3)) {
          case 0:
            field += "\"" + w + "\"";
            break;
          case 1:
            field += R"({"prefix":")" + w + R"("})";
            break;
          default:
            field += R"({"suffix":")" + w + R"("})";
            break;
        }
      }
      patterns.push_back(field + "]}");
    }
    std::vector<Pattern> compiled;
    std::vector<const internal::SubRule*> subrules;
    for (const std::string& text : patterns) {
      absl::StatusOr<Pattern> p = Pattern::Compile(text);
      ASSERT_TRUE(p.ok()) << text << ": " << p.status();
      compiled.push_back(*p);
    }
    for (const Pattern& p : compiled) {
      for (const internal::SubRule& sub : p.compiled()->subrules) {
        subrules.push_back(&sub);
      }
    }
    LiteralPrefilter wide = LiteralPrefilter::Build(subrules);
    if (!wide.active()) continue;
    LiteralPrefilter narrow = wide;
    narrow.set_wide_scan(false);
    ASSERT_FALSE(narrow.wide_scan());
    if (!wide.wide_scan()) GTEST_SKIP() << "the CPU has no AVX2";
    for (int e = 0; e < 200; ++e) {
      std::string json = "{";
      const size_t fields = pick(12);
      for (size_t k = 0; k < fields; ++k) {
        if (k > 0) json += pick(2) == 0 ? "," : ", ";
        json += "\"" +
                (pick(2) == 0 ? word(5) : "f" + std::to_string(pick(3))) +
                "\":";
        if (pick(5) == 0) {
          json += std::to_string(pick(1000));
        } else if (pick(6) == 0) {
          json += "[\"" + word(6) + "\",\"" + word(6) + "\"]";
        } else {
          json += "\"" + word(8) + (pick(40) == 0 ? "\\\"" : "") + "\"";
        }
      }
      json += "}";
      ++wide_cases;
      const bool expect = narrow.MayMatch(json);
      passed += expect ? 1 : 0;
      ASSERT_EQ(wide.MayMatch(json), expect) << json << "\n" << patterns[0];
    }
  }
  // Both answers occur often (the test is not vacuous).
  EXPECT_GT(wide_cases, 10000u);
  EXPECT_GT(passed, wide_cases / 10);
  EXPECT_LT(passed, wide_cases * 9 / 10);
}

// One literal moved across every position of texts of every length up to
// 80 bytes, so that it falls before, on and after the scans' edges (the
// two-byte head, blocks of 16 or 32 bytes, the scalar tail).
TEST(LiteralPrefilterTest, LiteralAtEveryPositionOfEveryLength) {
  const BothScans opening({R"({"s":[{"prefix":"ab"}]})"});
  const BothScans closing({R"({"s":[{"suffix":"yz"}]})"});
  ASSERT_TRUE(opening.active());
  ASSERT_TRUE(closing.active());
  size_t cases = 0;
  for (size_t n = 6; n <= 80; ++n) {
    for (size_t at = 1; at + 5 <= n; ++at) {
      // ["ab"] padded with spaces to n bytes, the string opening at `at`.
      std::string text = "[" + std::string(at - 1, ' ') + "\"ab\"";
      text += std::string(n - 1 - text.size(), ' ') + "]";
      ASSERT_EQ(text.size(), n);
      ++cases;
      EXPECT_TRUE(opening.MayMatch(text)) << text;
      EXPECT_FALSE(closing.MayMatch(text)) << text;
      std::string other = text;
      other[at + 1] = 'c';  // "cb"
      EXPECT_FALSE(opening.MayMatch(other)) << other;
      other[at + 1] = 'y';
      other[at + 2] = 'z';  // "yz"
      EXPECT_TRUE(closing.MayMatch(other)) << other;
      EXPECT_FALSE(opening.MayMatch(other)) << other;
    }
  }
  EXPECT_GT(cases, 2500u);
}

}  // namespace
}  // namespace evbus::pattern
