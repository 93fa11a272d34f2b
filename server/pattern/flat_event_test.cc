#include "server/pattern/flat_event.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace evbus::pattern {
namespace {

std::vector<std::string> Paths(const FlatEvent& ev) {
  std::vector<std::string> out;
  for (const auto& l : ev.leaves()) out.emplace_back(ev.path(l));
  return out;
}

TEST(FlatEventTest, FlattensPathsAndArrays) {
  absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(
      R"({"b":{"c":[1,[2,3]],"d.e":"x","e":{}},"a":null,"f":[],"g":[{"h":true}]})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(Paths(*ev), (std::vector<std::string>{"a", "b.c", "b.c", "b.c",
                                                  "b.d.e", "g.h"}));
  auto [begin, end] = ev->FindPath("b.c");
  EXPECT_EQ(end - begin, 3u);
  EXPECT_EQ(ev->leaf(begin).number, 1);
  EXPECT_EQ(ev->positions(ev->leaf(begin + 1)).size(), 2u);
  auto [nb, ne] = ev->FindPath("f");
  EXPECT_EQ(nb, ne);
  EXPECT_EQ(ev->leaf(0).kind, ValueKind::kNull);
  EXPECT_EQ(ev->text(ev->leaf(4)), "x");
}

TEST(FlatEventTest, ConsistencyFollowsArrayElements) {
  absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(
      R"({"e":[{"f":"A","l":"S"},{"f":"P","l":"J"}],"t":["x"]})");
  ASSERT_TRUE(ev.ok());
  auto [fb, fe] = ev->FindPath("e.f");
  auto [lb, le] = ev->FindPath("e.l");
  auto [tb, te] = ev->FindPath("t");
  ASSERT_EQ(fe - fb, 2u);
  ASSERT_EQ(le - lb, 2u);
  EXPECT_TRUE(ev->Consistent(ev->leaf(fb), ev->leaf(lb)));
  EXPECT_FALSE(ev->Consistent(ev->leaf(fb), ev->leaf(lb + 1)));
  EXPECT_TRUE(ev->Consistent(ev->leaf(fb + 1), ev->leaf(lb + 1)));
  EXPECT_TRUE(ev->Consistent(ev->leaf(fb), ev->leaf(tb)));
}

TEST(FlatEventTest, UnescapesStringsAndKeepsHugeNumbers) {
  absl::StatusOr<FlatEvent> ev =
      FlatEvent::Parse(R"({"s":"a\"b\u00e9","n":1e400,"m":-2.5})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  auto [sb, se] = ev->FindPath("s");
  ASSERT_EQ(se - sb, 1u);
  EXPECT_EQ(ev->text(ev->leaf(sb)), "a\"bé");
  auto [nb, ne] = ev->FindPath("n");
  ASSERT_EQ(ne - nb, 1u);
  EXPECT_EQ(ev->text(ev->leaf(nb)), "1e400");
  EXPECT_TRUE(std::isinf(ev->leaf(nb).number));
  auto [mb, me] = ev->FindPath("m");
  EXPECT_EQ(ev->leaf(mb).number, -2.5);
}

TEST(FlatEventTest, RejectsNonObjectsAndBadJson) {
  EXPECT_EQ(FlatEvent::Parse("[1]").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FlatEvent::Parse("{\"a\":").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FlatEvent::Parse("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(FlatEvent::Parse("{} {}").ok());
}

TEST(FlatEventTest, FilterKeepsOnlyNamedPaths) {
  const std::vector<std::string> paths = {"detail.a.b", "source"};
  PathFilter filter = PathFilter::FromPaths(paths);
  absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(
      R"({"source":"s","detail":{"a":[{"b":1},{"b":2,"c":3}],"a.b":4,"x":{"y":1}},"z":5})",
      filter);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(Paths(*ev), (std::vector<std::string>{"detail.a.b", "detail.a.b",
                                                  "detail.a.b", "source"}));
}

TEST(FlatEventTest, ParserReusesBuffers) {
  FlatEventParser parser;
  FlatEvent ev;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(parser.Parse(R"({"a":[1,2],"b":"x"})", nullptr, &ev).ok());
    EXPECT_EQ(ev.size(), 3u);
  }
  EXPECT_FALSE(parser.Parse("nope", nullptr, &ev).ok());
  EXPECT_EQ(ev.size(), 0u);
}

TEST(FlatEventTest, PathFilterMatchesWholeSegmentsOnly) {
  // Keys of every length up to 40 against keys differing in one byte.
  std::vector<std::string> paths;
  for (size_t n = 1; n <= 40; ++n) {
    std::string key;
    for (size_t i = 0; i < n; ++i) key += static_cast<char>('a' + i % 26);
    paths.push_back(key);
  }
  // Five children at a time, all 40 (slot tables), then over 64 (a hash map).
  std::vector<std::vector<std::string>> groups;
  for (size_t first = 0; first + 5 <= paths.size(); first += 5) {
    groups.emplace_back(paths.begin() + static_cast<ptrdiff_t>(first),
                        paths.begin() + static_cast<ptrdiff_t>(first + 5));
  }
  groups.push_back(paths);
  std::vector<std::string> many = paths;
  for (int i = 0; i < 60; ++i) many.push_back(absl::StrCat("k", i, "-key"));
  groups.push_back(many);
  for (const std::vector<std::string>& some : groups) {
    const PathFilter filter = PathFilter::FromPaths(some);
    for (const std::string& key : some) {
      EXPECT_NE(filter.Child(filter.root(), key), PathFilter::kNone) << key;
      EXPECT_NE(filter.ChildOfSegment(filter.root(), key), PathFilter::kNone);
      for (size_t i = 0; i < key.size(); ++i) {
        std::string other = key;
        other[i] = 'X';
        EXPECT_EQ(filter.Child(filter.root(), other), PathFilter::kNone)
            << other;
        EXPECT_EQ(filter.ChildOfSegment(filter.root(), other),
                  PathFilter::kNone)
            << other;
      }
      EXPECT_EQ(filter.Child(filter.root(), key + "X"), PathFilter::kNone);
    }
  }
}

// ---- The scanner (fast path) against simdjson's DOM (force_dom) ----

// Compares two parses of `json` leaf by leaf (every field, the arena views
// and the array positions). Returns an empty string when they agree.
std::string Diff(const absl::Status& fast_status, const FlatEvent& fast,
                 const absl::Status& dom_status, const FlatEvent& dom) {
  if (fast_status.ok() != dom_status.ok() ||
      fast_status.message() != dom_status.message()) {
    return absl::StrCat("status: fast=", fast_status.ToString(),
                        " dom=", dom_status.ToString());
  }
  if (fast.size() != dom.size()) {
    return absl::StrCat("leaf count: fast=", fast.size(), " dom=", dom.size());
  }
  for (size_t i = 0; i < fast.size(); ++i) {
    const FlatEvent::Leaf& a = fast.leaf(i);
    const FlatEvent::Leaf& b = dom.leaf(i);
    uint64_t na = 0;
    uint64_t nb = 0;
    std::memcpy(&na, &a.number, sizeof(na));
    std::memcpy(&nb, &b.number, sizeof(nb));
    const bool same_number =
        na == nb || (std::isnan(a.number) && std::isnan(b.number));
    if (a.kind != b.kind || fast.path(a) != dom.path(b) ||
        fast.text(a) != dom.text(b) || !same_number ||
        a.path_offset != b.path_offset || a.path_size != b.path_size ||
        a.text_offset != b.text_offset || a.text_size != b.text_size ||
        a.pos_offset != b.pos_offset || a.pos_size != b.pos_size) {
      std::ostringstream out;
      out << "leaf " << i << ": fast=" << fast.path(a) << " "
          << static_cast<int>(a.kind) << " " << fast.text(a) << " "
          << absl::StrFormat("%a", a.number) << " dom=" << dom.path(b) << " "
          << static_cast<int>(b.kind) << " " << dom.text(b) << " "
          << absl::StrFormat("%a", b.number);
      return out.str();
    }
    const auto pa = fast.positions(a);
    const auto pb = dom.positions(b);
    for (size_t k = 0; k < pa.size(); ++k) {
      if (pa[k].array_id != pb[k].array_id || pa[k].index != pb[k].index) {
        std::ostringstream out;
        out << "leaf " << i << " (" << fast.path(a) << ") position " << k
            << ": fast=" << pa[k].array_id << "/" << pa[k].index
            << " dom=" << pb[k].array_id << "/" << pb[k].index;
        return out.str();
      }
    }
  }
  return "";
}

// Parses with both paths; returns a description of any difference.
class DifferentialParser {
 public:
  std::string Compare(std::string_view text, const PathFilter* filter) {
    // An exactly sized copy, so that a sanitizer sees any read past the end.
    const std::unique_ptr<char[]> copy(new char[text.size()]);
    if (!text.empty()) std::memcpy(copy.get(), text.data(), text.size());
    const std::string_view json(copy.get(), text.size());
    const uint64_t dom_before = fast_.DomParseCountForTesting();
    const absl::Status a = fast_.Parse(json, filter, &fast_event_);
    used_fast_path_ = fast_.DomParseCountForTesting() == dom_before;
    const absl::Status b = dom_.Parse(json, filter, &dom_event_);
    std::string diff = Diff(a, fast_event_, b, dom_event_);
    // Valid text the scanner took: the trusted skip (which checks nothing
    // it skips) gives exactly the same flattening, also on the scanner.
    // (Where the checking parse left the scanner, e.g. for a skipped 1e400,
    // the two may differ: see FlatEventParser::Options::trusted.)
    if (diff.empty() && b.ok() && used_fast_path_) {
      const uint64_t trusted_dom_before = trusted_.DomParseCountForTesting();
      const absl::Status t = trusted_.Parse(json, filter, &trusted_event_);
      diff = Diff(t, trusted_event_, a, fast_event_);
      if (diff.empty() &&
          trusted_dom_before != trusted_.DomParseCountForTesting()) {
        diff = "left the scanner";
      }
      if (!diff.empty()) diff = "trusted: " + diff;
    }
    return diff;
  }
  bool used_fast_path() const { return used_fast_path_; }
  const FlatEvent& fast_event() const { return fast_event_; }

 private:
  FlatEventParser fast_;
  FlatEventParser dom_{FlatEventParser::Options{.force_dom = true}};
  FlatEventParser trusted_{FlatEventParser::Options{.trusted = true}};
  FlatEvent fast_event_;
  FlatEvent dom_event_;
  FlatEvent trusted_event_;
  bool used_fast_path_ = false;
};

// A small deterministic generator (std::mt19937 is specified exactly; the
// standard distributions are not, so they are not used).
class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  std::mt19937 rng_;
};

// Raw (already escaped) JSON key texts; several unescape to the same key.
constexpr const char* kKeys[] = {
    "a", "b", "c", "x", "d.e", "a.b", "", "\\u0061", "a\\u002eb", "k\\u0041",
    "\\t", "\xC3\xA9", "a.", ".a", "a..b", "long-key-name-over-sixteen-bytes",
    "\\ud83d\\ude00", "x.a", "b.c.d", "d",
    // Dots past the first 8 bytes of a 16-byte block, and in a second block.
    "abcdefgh.ijklm", "abcdefgh.ijklmnop", "abcdefghijklmnopqrstuvwxy.z",
    // Same length as a filter key, equal but for the last bytes.
    "abcdefghijX", "abcdX", "long-key-name-over-sixteen-bytez"};

// Paths the filters are built from.
const char* const kFilterPaths[] = {"a",
                                    "b",
                                    "c",
                                    "x",
                                    "a.b",
                                    "a.c",
                                    "b.c",
                                    "d.e",
                                    "d",
                                    "kA",
                                    "a.b.c",
                                    "\t",
                                    "",
                                    "\xC3\xA9",
                                    "x.a",
                                    "c.x.b",
                                    "a.",
                                    "b.c.d",
                                    "long-key-name-over-sixteen-bytes",
                                    "\xF0\x9F\x98\x80",
                                    "abcdefgh.ijklmnop",
                                    "abcdefgh.ijklm",
                                    "abcdefghijklmnopqrstuvwxy.z",
                                    "abcdefghijk",
                                    "abcde"};

// Raw (already escaped) JSON string bodies.
constexpr const char* kStrings[] = {
    "",
    "x",
    "hello world",
    "fifteen-chars!!",
    "sixteen-chars!!!",
    "seventeen-chars!!",
    "a string that is well over thirty-two bytes long",
    "a\\\"b",
    "\\\\",
    "\\/",
    "\\b\\f\\n\\r\\t",
    "\\u00e9",
    "\\u0000",
    // Code points at the UTF-8 length boundaries.
    "\\u007f\\u0080\\u07ff\\u0800\\u20ac\\uffff",
    "\\ud800\\udc00\\udbff\\udfff",
    "\\ud83d\\ude00",
    "\\uD83D\\uDE00",
    "\xC3\xA9t\xC3\xA9",
    "\xE6\x97\xA5\xE6\x9C\xAC",
    "\xF0\x9F\x98\x80",
    "escape late in a long string: \\n end",
    "sixteen-chars!!\\\"",
    "0123456789abcdef\\\\0123456789abcdef",
    "has.dots.in.it",
    // Brackets inside strings (a skipped container's end is found by its
    // brackets outside strings), and long enough to cross 64-byte blocks.
    "{[}]",
    "]}",
    "a string with brackets { [ ] } and a closing } past the first sixty-four "
    "bytes of its block ]]",
    // simdjson decodes these oddly or not at all: the scanner defers.
    "\\ud800\\ue000",
    "\\ud800\\u0041",
    "\\ud800",
    "\\udc00",
};

constexpr const char* kNumbers[] = {
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "-0.0",
    "42",
    "1315.17",
    "0.2248",
    "1.5e-7",
    "1E+2",
    "1e22",
    "1e23",
    "9007199254740993",
    "9007199254740993.0",
    "12345678901234567890",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "-12345678901234567890",
    "1e400",
    "-1e400",
    "1e-400",
    "1e-330",
    "4.9e-324",
    "2.2250738585072014e-308",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "0e999",
    "-0e-999",
    "3.141592653589793238462643383279",
    "123456789012345678901234567890e-10",
    "0.000000000000000000000000000001",
    "1234567890.123456789",
    "-1234567890.123456789e-400",
    "100000000000000000000000e-343",
    "5e-324",
    "2.5e-324",
    "8.98846567431158e307",
    "1e308",
    "10e308",
    "0.1e309",
    "123.456e-2",
    "1e0000000000000000000001",
    // Edges of the exact (Clinger) conversion.
    "1e-22",
    "1e-23",
    "123e-23",
    "4.5e-23",
    "0.0000000000000000000001",
    "9007199254740992e-22",
    "9007199254740993e-22",
    "9007199254740992e22",
    "9007199254740993e22",
    "9007199254740992e23",
    // Edges of the integer range.
    "10000000000000000000",
    "-10000000000000000000",
    "19999999999999999999",
    "20000000000000000000",
    "28446744073709551616",
    "-99999999999999999999",
    "-9223372036854775807",
    // Edges of simdjson's zero cut-off.
    "1e-342",
    "1e-343",
    "12e-344",
    "9999999999999999999e-343",
    "9999999999999999999e-342",
};

constexpr const char* kSpace[] = {"", "", "", " ", "\n", "\t", "\r\n  "};

class DocumentGen {
 public:
  explicit DocumentGen(Gen* gen) : gen_(*gen) {}

  std::string Object(int depth) {
    std::string out = "{";
    Space(&out);
    const size_t members = gen_.Below(depth > 3 ? 2 : 6);
    for (size_t i = 0; i < members; ++i) {
      if (i > 0) {
        out += ",";
        Space(&out);
      }
      out += "\"";
      out += gen_.Pick(kKeys);
      out += "\"";
      Space(&out);
      out += ":";
      Space(&out);
      Value(depth + 1, &out);
      Space(&out);
    }
    out += "}";
    return out;
  }

 private:
  void Space(std::string* out) { *out += gen_.Pick(kSpace); }

  void Value(int depth, std::string* out) {
    switch (gen_.Below(depth > 4 ? 6 : 9)) {
      case 0:
      case 1:
        *out += "\"";
        *out += gen_.Pick(kStrings);
        *out += "\"";
        return;
      case 2:
      case 3:
        *out += gen_.Pick(kNumbers);
        return;
      case 4:
        *out += gen_.OneIn(2) ? "true" : (gen_.OneIn(2) ? "false" : "null");
        return;
      case 5:
        *out += "[]";
        return;
      case 6:
      case 7:
        *out += Object(depth);
        return;
      default: {
        *out += "[";
        Space(out);
        const size_t items = gen_.Below(4);
        for (size_t i = 0; i < items; ++i) {
          if (i > 0) {
            *out += ",";
            Space(out);
          }
          Value(depth + 1, out);
          Space(out);
        }
        *out += "]";
        return;
      }
    }
  }

  Gen& gen_;
};

// Breaks a valid document in one of several ways.
std::string Corrupt(Gen* gen, std::string doc) {
  static constexpr char kBytes[] = {
      '"', '\\', '{', '}',    '[',    ']',    ',',  ':',  '0', '-', 'e', '.',
      'a', ' ',  'x', '\x01', '\x80', '\xff', '\0', '\t', 'n', 't', '+', 'E'};
  if (doc.empty()) return doc;
  switch (gen->Below(6)) {
    case 0:
      doc.resize(gen->Below(doc.size()));
      break;
    case 1:
      doc[gen->Below(doc.size())] = gen->Pick(kBytes);
      break;
    case 2:
      doc.insert(doc.begin() + static_cast<ptrdiff_t>(gen->Below(doc.size())),
                 gen->Pick(kBytes));
      break;
    case 3:
      doc.erase(gen->Below(doc.size()), 1);
      break;
    case 4:
      doc += gen->OneIn(2) ? " x" : "{}";
      break;
    default:
      doc[gen->Below(doc.size())] = gen->Pick(kBytes);
      doc[gen->Below(doc.size())] = gen->Pick(kBytes);
      break;
  }
  return doc;
}

PathFilter RandomFilter(Gen* gen) {
  std::vector<std::string> paths;
  const size_t n = gen->Below(6);
  for (size_t i = 0; i < n; ++i) paths.emplace_back(gen->Pick(kFilterPaths));
  return PathFilter::FromPaths(paths);
}

TEST(FlatEventScannerTest, MatchesDomOnGeneratedDocuments) {
  Gen gen(20240611);
  DifferentialParser parser;
  int fast = 0;
  int valid = 0;
  int failures = 0;
  for (int i = 0; i < 4000 && failures < 5; ++i) {
    DocumentGen docs(&gen);
    std::string doc = docs.Object(0);
    if (gen.OneIn(3)) doc = Corrupt(&gen, std::move(doc));
    const PathFilter filter = RandomFilter(&gen);
    const PathFilter* filters[] = {nullptr, &filter};
    for (const PathFilter* f : filters) {
      const std::string diff = parser.Compare(doc, f);
      if (!diff.empty()) {
        ADD_FAILURE() << diff << "\n  document: " << doc
                      << "\n  filtered: " << (f != nullptr);
        ++failures;
      }
      if (parser.used_fast_path()) ++fast;
      ++valid;
    }
  }
  // Most documents are handled without simdjson (the rest hold numbers such
  // as 1e400, odd surrogates or errors).
  EXPECT_GT(fast, valid / 4);
}

// Duplicate keys each give a leaf, on every path: the scanner, simdjson's
// DOM, and the slow reader for numbers a double cannot hold (1e400), which
// kept only the last duplicate before. A skipped 1e400 therefore changes
// nothing, so skipping it unchecked (the trusted parse) changes nothing.
TEST(FlatEventScannerTest, DuplicateKeysAreLeavesOnEveryPath) {
  const std::vector<std::string> paths = {"a", "b"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  FlatEventParser checking;
  FlatEventParser trusted(FlatEventParser::Options{.trusted = true});
  for (const char* doc :
       {R"({"a":"x","a":"y"})", R"({"a":"x","a":"y","z":1e400})",
        R"({"a":"x","z":[1e400],"a":"y"})"}) {
    for (FlatEventParser* parser : {&checking, &trusted}) {
      FlatEvent event;
      ASSERT_TRUE(parser->Parse(doc, &filter, &event).ok()) << doc;
      ASSERT_EQ(event.size(), 2u) << doc;
      EXPECT_EQ(event.text(event.leaf(0)), "x") << doc;
      EXPECT_EQ(event.text(event.leaf(1)), "y") << doc;
    }
  }
  // A kept 1e400 takes the slow reader on both, duplicates and all.
  FlatEvent event;
  ASSERT_TRUE(
      trusted.Parse(R"({"b":1e400,"a":"x","a":"y"})", &filter, &event).ok());
  EXPECT_EQ(event.size(), 3u);
}

TEST(FlatEventScannerTest, MatchesDomOnEveryPrefix) {
  // Every truncation of documents that exercise each token kind.
  const std::string docs[] = {
      R"({"a":[1,-2.5e+3,{"b":"x\u00e9\n"}],"c":true,"d":false,"e":null})",
      R"( { "a.b" : [ [ ] , { } , "s" ] , "x" : { "a" : 1e400 } } )",
      R"({"k\u0041":"\ud83d\ude00","long-key-name-over-sixteen-bytes":0})",
  };
  const std::vector<std::string> paths = {"a", "a.b", "x.a", "kA", "c"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  DifferentialParser parser;
  for (const std::string& doc : docs) {
    for (size_t n = 0; n <= doc.size(); ++n) {
      const std::string prefix = doc.substr(0, n);
      EXPECT_EQ(parser.Compare(prefix, nullptr), "") << prefix;
      EXPECT_EQ(parser.Compare(prefix, &filter), "") << prefix;
    }
  }
}

TEST(FlatEventScannerTest, NumbersAsSimdjson) {
  DifferentialParser parser;
  for (const char* number : kNumbers) {
    const std::string doc = absl::StrCat(R"({"n":)", number, "}");
    EXPECT_EQ(parser.Compare(doc, nullptr), "") << number;
    const std::string in_array = absl::StrCat(R"({"n":[)", number, "]}");
    EXPECT_EQ(parser.Compare(in_array, nullptr), "") << number;
    // Skipped by the filter: still checked the same way.
    const std::vector<std::string> paths = {"m"};
    const PathFilter filter = PathFilter::FromPaths(paths);
    const std::string skipped = absl::StrCat(R"({"m":1,"n":)", number, "}");
    EXPECT_EQ(parser.Compare(skipped, &filter), "") << number;
  }
  const char* bad[] = {"01",  "-",    "1.",  ".5", "+1",  "1e",       "1e+",
                       "-01", "1.e5", "0x1", "1a", "NaN", "Infinity", "--1"};
  for (const char* number : bad) {
    const std::string doc = absl::StrCat(R"({"n":)", number, "}");
    EXPECT_EQ(parser.Compare(doc, nullptr), "") << number;
    EXPECT_FALSE(FlatEvent::Parse(doc).ok()) << number;
  }
}

TEST(FlatEventScannerTest, SpecificNumbers) {
  struct Case {
    const char* literal;
    double want;
  };
  const Case cases[] = {
      {"-0", 0.0},  // simdjson: the integer 0
      {"-0.0", -0.0},
      {"1.5e-7", 1.5e-7},
      {"12345678901234567890", 12345678901234567890.0},
      {"9007199254740993", 9007199254740992.0},
      {"-9223372036854775808", -9223372036854775808.0},
      {"0.1", 0.1},
      {"2.2250738585072014e-308", 2.2250738585072014e-308},
  };
  FlatEventParser parser;
  FlatEvent ev;
  for (const Case& c : cases) {
    const std::string doc = absl::StrCat(R"({"n":)", c.literal, "}");
    ASSERT_TRUE(parser.Parse(doc, nullptr, &ev).ok()) << c.literal;
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev.leaf(0).number, c.want) << c.literal;
    EXPECT_EQ(std::signbit(ev.leaf(0).number), std::signbit(c.want))
        << c.literal;
    EXPECT_EQ(ev.text(ev.leaf(0)), "") << c.literal;  // no text for numbers
  }
  EXPECT_EQ(parser.DomParseCountForTesting(), 0u);
  // Beyond simdjson's range: the slower reader keeps the literal.
  ASSERT_TRUE(parser.Parse(R"({"n":-9223372036854775809})", nullptr, &ev).ok());
  EXPECT_EQ(ev.text(ev.leaf(0)), "-9223372036854775809");
  ASSERT_TRUE(parser.Parse(R"({"n":1e400,"m":2})", nullptr, &ev).ok());
  EXPECT_EQ(ev.text(ev.leaf(1)), "1e400");
  EXPECT_EQ(ev.text(ev.leaf(0)), "2");
  EXPECT_EQ(parser.DomParseCountForTesting(), 2u);
}

TEST(FlatEventScannerTest, StringsKeysAndEscapes) {
  DifferentialParser parser;
  const std::vector<std::string> paths = {"kA", "a.b", "s", "\t"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  const char* docs[] = {
      R"({"k\u0041":"v\n","a\u002eb":"dot","s":"\ud83d\ude00"})",
      R"({"a":{"b":"x"},"a.b":"y","\t":"tab"})",
      R"({"s":"\u0000"})",
      R"({"s":"\ud800"})",         // lone high surrogate: an error
      R"({"s":"\udc00"})",         // lone low surrogate: an error
      R"({"s":"\ud800\ue000"})",   // simdjson accepts this pair
      R"({"s":"\x"})",             // bad escape
      R"({"s":"\u12g4"})",         // bad hex
      "{\"s\":\"tab\there\"}",     // raw control character
      "{\"s\":\"\xC3\"}",          // truncated UTF-8
      "{\"s\":\"\xED\xA0\x80\"}",  // UTF-8 surrogate
      "{\"x\":\"\xC3\"}",          // ... also in a skipped string
      R"({"x":"\x"})",             // ... and a bad escape there
      "\xEF\xBB\xBF{}",            // byte order mark
  };
  for (const char* doc : docs) {
    EXPECT_EQ(parser.Compare(doc, nullptr), "") << doc;
    EXPECT_EQ(parser.Compare(doc, &filter), "") << doc;
  }
  ASSERT_EQ(parser.Compare(docs[0], &filter), "");
  EXPECT_TRUE(parser.used_fast_path());
  const FlatEvent& ev = parser.fast_event();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev.path(ev.leaf(0)), "a.b");
  EXPECT_EQ(ev.text(ev.leaf(1)), "v\n");
  EXPECT_EQ(ev.text(ev.leaf(2)), "\xF0\x9F\x98\x80");
}

TEST(FlatEventScannerTest, SyntaxErrorsAsSimdjson) {
  DifferentialParser parser;
  const char* docs[] = {
      "",
      " ",
      "{",
      "}",
      "{}x",
      "{} {}",
      "[1]",
      "1",
      "\"s\"",
      "null",
      "{,}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{\"a\":[1,]}",
      "{\"a\" 1}",
      "{\"a\":1 \"b\":2}",
      "{\"a\":tru}",
      "{\"a\":truex}",
      "{\"a\":nul}",
      "{\"a\":[1 2]}",
      "{\"a\":{\"b\":1}",
      "{'a':1}",
      "{\"a\":1}\x0b",
      "\x0c{}",
      "{\"a\":\x01}",
      "{\"a\":[1]]}",
      "{\"a\":1}\0",
      "{\"a\":\"x\"\"y\"}",
      "{\"a\":1\"b\"}",
  };
  for (const char* doc : docs) {
    EXPECT_EQ(parser.Compare(doc, nullptr), "") << doc;
  }
  // Embedded NULs are part of the text, not terminators.
  const std::string with_nul("{\"a\":1}\0", 8);
  EXPECT_EQ(parser.Compare(with_nul, nullptr), "");
  EXPECT_FALSE(FlatEvent::Parse(with_nul).ok());
}

TEST(FlatEventScannerTest, DeepNesting) {
  DifferentialParser parser;
  for (int depth : {2, 100, 511, 512, 513, 600, 1023, 1024, 1025, 2000}) {
    std::string doc;
    for (int i = 0; i < depth - 1; ++i) doc += R"({"a":)";
    doc += "{}";
    for (int i = 0; i < depth - 1; ++i) doc += "}";
    EXPECT_EQ(parser.Compare(doc, nullptr), "") << depth;
    std::string arrays = R"({"a":)";
    for (int i = 0; i < depth - 1; ++i) arrays += "[";
    arrays += "1";
    for (int i = 0; i < depth - 1; ++i) arrays += "]";
    arrays += "}";
    EXPECT_EQ(parser.Compare(arrays, nullptr), "") << depth;
    const std::vector<std::string> paths = {"b"};
    const PathFilter filter = PathFilter::FromPaths(paths);
    EXPECT_EQ(parser.Compare(arrays, &filter), "") << depth;  // skipped
  }
}

TEST(FlatEventScannerTest, ArraysNumberedInDocumentOrder) {
  // Arrays under skipped subtrees get no id (the DOM walk never sees them).
  const std::vector<std::string> paths = {"a", "b.c"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  const char* doc =
      R"({"a":[1,[2]],"s":[[3]],"b":[{"c":[4],"d":[5]}],"x":{"y":[6]}})";
  DifferentialParser parser;
  ASSERT_EQ(parser.Compare(doc, &filter), "");
  EXPECT_TRUE(parser.used_fast_path());
  const FlatEvent& ev = parser.fast_event();
  ASSERT_EQ(ev.size(), 3u);
  // a: 1 in array 0; 2 in arrays 0 and 1.
  ASSERT_EQ(ev.positions(ev.leaf(0)).size(), 1u);
  EXPECT_EQ(ev.positions(ev.leaf(0))[0].array_id, 0u);
  ASSERT_EQ(ev.positions(ev.leaf(1)).size(), 2u);
  EXPECT_EQ(ev.positions(ev.leaf(1))[1].array_id, 1u);
  EXPECT_EQ(ev.positions(ev.leaf(1))[1].index, 0u);
  // b.c: arrays 2 (b) and 3 (c); "d" under b is not walked.
  ASSERT_EQ(ev.positions(ev.leaf(2)).size(), 2u);
  EXPECT_EQ(ev.positions(ev.leaf(2))[0].array_id, 2u);
  EXPECT_EQ(ev.positions(ev.leaf(2))[1].array_id, 3u);
}

TEST(FlatEventScannerTest, SortsStablyWithFewAndManyLeaves) {
  DifferentialParser parser;
  // With a filter, many kept leaves are sorted by the rank of their node (a
  // counting sort); without one, by path text.
  const std::vector<std::string> paths = {"k4", "k0", "k2", "k1", "k3", "zz"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  for (const PathFilter* f :
       {static_cast<const PathFilter*>(nullptr), &filter}) {
    for (int n : {3, 16, 17, 31, 32, 33, 100}) {
      std::string doc = "{";
      for (int i = 0; i < n; ++i) {
        if (i > 0) doc += ",";
        // Paths out of order, repeated, with array elements in between.
        absl::StrAppend(&doc, "\"k", (i * 7) % 5, "\":[", i, ",", i + 1000,
                        "]");
      }
      doc += "}";
      ASSERT_EQ(parser.Compare(doc, f), "") << doc;
      const FlatEvent& ev = parser.fast_event();
      ASSERT_EQ(ev.size(), 2u * n);
      for (size_t i = 1; i < ev.size(); ++i) {
        ASSERT_LE(ev.path(ev.leaf(i - 1)), ev.path(ev.leaf(i)));
        if (ev.path(ev.leaf(i - 1)) == ev.path(ev.leaf(i))) {
          // Document order: earlier arrays have smaller ids, and within one
          // array the first element comes first.
          const auto& a = ev.positions(ev.leaf(i - 1))[0];
          const auto& b = ev.positions(ev.leaf(i))[0];
          EXPECT_TRUE(a.array_id < b.array_id ||
                      (a.array_id == b.array_id && a.index < b.index))
              << doc;
        }
      }
    }
  }
}

// A filter node rejects keys whose length no child has before hashing
// them; lengths of 63 and more share one bit.
TEST(FlatEventScannerTest, FilterKeysOfManyLengths) {
  const std::string k63(63, 'a');
  const std::string k64(64, 'a');
  const std::string k70 = std::string(69, 'b') + "c";
  const std::vector<std::string> paths = {k63, k70, "d.x"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  std::string doc = "{";
  for (const std::string& key :
       {std::string(62, 'a'), k63, k64, std::string(65, 'a'), k70,
        std::string(70, 'b'), std::string(71, 'b'), std::string("d")}) {
    absl::StrAppend(&doc, doc.size() > 1 ? "," : "", "\"", key,
                    "\":", key == "d" ? R"({"x":1,"y":2})" : "1");
  }
  doc += "}";
  DifferentialParser parser;
  ASSERT_EQ(parser.Compare(doc, &filter), "");
  EXPECT_TRUE(parser.used_fast_path());
  const FlatEvent& ev = parser.fast_event();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev.path(ev.leaf(0)), k63);
  EXPECT_EQ(ev.path(ev.leaf(1)), k70);
  EXPECT_EQ(ev.path(ev.leaf(2)), "d.x");
}

TEST(FlatEventScannerTest, TypicalEventTakesTheFastPath) {
  const std::string event =
      R"({"version":"0","id":"74988232-6b94-79c8","detail-type":"Payment Failed",)"
      R"("source":"aws.ecs","account":"349713253687","time":"2024-04-14T17:24:54Z",)"
      R"("region":"us-east-2","resources":["arn:aws:ecs:ap-south-1:3216:thing/s"],)"
      R"("detail":{"state":"queued","user":{"name":"o.b","id":"u-6"},)"
      R"("order":{"id":"ord-6","total":1315.17,"coupon":null},"priority":3,)"
      R"("enabled":true,"tags":["critical"],"note":"golf kilo charlie"}})";
  const std::vector<std::string> paths = {"source", "detail.state",
                                          "detail.order.total", "region"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  DifferentialParser parser;
  ASSERT_EQ(parser.Compare(event, &filter), "");
  EXPECT_TRUE(parser.used_fast_path());
  EXPECT_EQ(parser.fast_event().size(), 4u);
  ASSERT_EQ(parser.Compare(event, nullptr), "");
  EXPECT_TRUE(parser.used_fast_path());
}

// Child keys whose fingerprints (size, first and last 8 bytes) are equal:
// the slot table cannot tell them apart, so lookups must compare the middle
// bytes (or use the hash map).
TEST(FlatEventTest, PathFilterKeysWithEqualFingerprints) {
  const std::string a = "abcdefgh-A-ijklmnop";
  const std::string b = "abcdefgh-B-ijklmnop";
  const std::string c = "abcdefgh-C-ijklmnop";  // not a child
  for (const std::vector<std::string>& paths :
       std::vector<std::vector<std::string>>{{a}, {a, b}, {a, b, "x", "y"}}) {
    const PathFilter filter = PathFilter::FromPaths(paths);
    for (const std::string& key : paths) {
      EXPECT_NE(filter.ChildOfSegment(filter.root(), key), PathFilter::kNone);
    }
    EXPECT_EQ(filter.ChildOfSegment(filter.root(), c), PathFilter::kNone);
    if (paths.size() == 1) {
      EXPECT_EQ(filter.ChildOfSegment(filter.root(), b), PathFilter::kNone);
    }
    // The same through the scanner (keys read in place from the text).
    DifferentialParser parser;
    const std::string doc = absl::StrCat(R"({")", a, R"(":1,")", b, R"(":2,")",
                                         c, R"(":3,"pad":"0123456789"})");
    ASSERT_EQ(parser.Compare(doc, &filter), "");
    EXPECT_TRUE(parser.used_fast_path());
    EXPECT_EQ(parser.fast_event().size(), paths.size() >= 2 ? 2u : 1u);
  }
}

// Keys of every size from 0 to 20 at the very start and end of documents of
// every length around 16 bytes: the filter lookup reads 8-byte windows of the
// text around keys when they fit inside it, and copies otherwise.
TEST(FlatEventScannerTest, KeysAtTheEdgesOfTheText) {
  DifferentialParser parser;
  for (size_t size = 0; size <= 20; ++size) {
    std::string key;
    for (size_t i = 0; i < size; ++i) key += static_cast<char>('a' + i % 26);
    std::string other = key;
    if (!other.empty()) other.back() = 'Z';
    const std::vector<std::string> paths = {key, "k", key + "Q"};
    const PathFilter filter = PathFilter::FromPaths(paths);
    for (size_t pad = 0; pad <= 18; ++pad) {
      const std::string fill(pad, 'p');
      const std::string docs[] = {
          absl::StrCat(R"({")", key, R"(":1})"),
          absl::StrCat(R"({")", other, R"(":1})"),
          absl::StrCat(R"({")", key, R"(":")", fill, R"("})"),
          absl::StrCat(R"({"k":")", fill, R"(",")", key, R"(":2})"),
          absl::StrCat(R"({"k":")", fill, R"(",")", other, R"(":2})"),
          absl::StrCat(R"({"k":")", fill, R"(",")", key, R"(":{"k":2}})"),
          absl::StrCat(R"({"k":")", fill, R"(",")", key, R"(\u0051":2})"),
      };
      for (const std::string& doc : docs) {
        EXPECT_EQ(parser.Compare(doc, &filter), "") << doc;
      }
    }
  }
}

// Leaves of a filtered parse are ordered by the filter's node ranks; that
// must be the order of their path strings ('-' < '.' < 'a'), stable within
// a path.
TEST(FlatEventScannerTest, FilteredLeavesSortedByPathText) {
  const std::vector<std::string> paths = {
      "b", "a.c", "a",  "a-b", "a.c.d",    "a.b",  "",
      "A", "ab",  "a.", "a..", "\xC3\xA9", "z.y.x"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  const char* docs[] = {
      R"({"b":1,"a":{"c":[2,{"d":3}],"b":4,"":5},"a-b":6,"":7,"A":8,"ab":9})",
      R"({"z":{"y":{"x":1}},"a.c":[1,2],"a":{"c":3},"a.b":4,"\u00e9":5,"b":6})",
      R"({"a":[{"c":1},{"b":2},{"c":3}],"a.":{"":4},"a":{"c":5},"b":[7,8]})",
  };
  DifferentialParser parser;
  for (const char* doc : docs) {
    ASSERT_EQ(parser.Compare(doc, &filter), "") << doc;
    EXPECT_TRUE(parser.used_fast_path()) << doc;
    const FlatEvent& ev = parser.fast_event();
    EXPECT_EQ(ev.filter_id(), filter.id());
    for (size_t i = 1; i < ev.size(); ++i) {
      EXPECT_LE(ev.path(ev.leaf(i - 1)), ev.path(ev.leaf(i))) << doc;
    }
    for (const FlatEvent::Leaf& leaf : ev.leaves()) {
      EXPECT_EQ(leaf.node, filter.Child(filter.root(), ev.path(leaf)));
    }
  }
  // Without a filter: no filter id, no nodes.
  absl::StatusOr<FlatEvent> all = FlatEvent::Parse(docs[0]);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->filter_id(), 0u);
  EXPECT_EQ(all->leaf(0).node, PathFilter::kAll);
  // Filters built separately have different ids, copies the same.
  const PathFilter again = PathFilter::FromPaths(paths);
  const PathFilter copy = filter;
  EXPECT_NE(again.id(), filter.id());
  EXPECT_EQ(copy.id(), filter.id());
  EXPECT_NE(filter.id(), 0u);
}

// Skipped numbers are checked by a loop-free fast path when at least 17
// bytes follow them: every number form, followed by every kind of byte, at
// the end of documents of every length.
TEST(FlatEventScannerTest, SkippedNumbersAsSimdjson) {
  std::vector<std::string> numbers(std::begin(kNumbers), std::end(kNumbers));
  for (const char* extra : {"1x",
                            "1.5e",
                            "1.",
                            "01",
                            "-",
                            "-0",
                            "-01",
                            "1.5.3",
                            "1+2",
                            "1-2",
                            "0.e1",
                            "-.5",
                            ".5",
                            "1e5",
                            "1E5",
                            "123456789012345",
                            "1234567890123456",
                            "12345678901234567",
                            "1.2345678901234",
                            "1.23456789012345",
                            "-1.2345678901234",
                            "0.00000000000001",
                            "-",
                            "--1",
                            "1..2",
                            "1.2e+3",
                            "2.",
                            "00",
                            "-00",
                            "0x10",
                            "1_0",
                            "1/2",
                            "1\\u0030"}) {
    numbers.emplace_back(extra);
  }
  const std::vector<std::string> paths = {"k"};
  const PathFilter filter = PathFilter::FromPaths(paths);
  DifferentialParser parser;
  for (const std::string& number : numbers) {
    for (const char* after : {"", " ", ",", "}", "]", "\"", "x", "e", "E", ".",
                              "+", "-", "0", "\t", "\n", "\x01"}) {
      for (size_t pad = 0; pad <= 20; pad += 4) {
        const std::string fill(pad, 'p');
        const std::string docs[] = {
            absl::StrCat(R"({"n":)", number, after, R"(,"k":")", fill, R"("})"),
            absl::StrCat(R"({"n":[)", number, after, R"(],"k":")", fill,
                         R"("})"),
            absl::StrCat(R"({"k":")", fill, R"(","n":)", number, after, "}"),
        };
        for (const std::string& doc : docs) {
          EXPECT_EQ(parser.Compare(doc, &filter), "") << doc;
        }
      }
    }
  }
}

}  // namespace
}  // namespace evbus::pattern
