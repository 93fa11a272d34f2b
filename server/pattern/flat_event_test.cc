#include "server/pattern/flat_event.h"

#include <cmath>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace evbus::pattern
