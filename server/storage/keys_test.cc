#include "server/storage/keys.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace evbus::storage::keys {
namespace {

TEST(KeysTest, BigEndianRoundTripAndOrder) {
  std::string a, b;
  AppendBigEndian64(&a, 255);
  AppendBigEndian64(&b, 256);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_LT(a, b);  // byte order is numeric order
  EXPECT_EQ(ReadBigEndian64(a), 255u);
  EXPECT_EQ(ReadBigEndian64(b), 256u);
  std::string max;
  AppendBigEndian64(&max, UINT64_MAX);
  EXPECT_EQ(ReadBigEndian64(max), UINT64_MAX);
}

TEST(KeysTest, EventKeyRoundTrip) {
  std::string key = EventKey("orders", 1700000000123, 42,
                             "0cc35aee-07b3-415a-a941-9c1f1a357958");
  absl::StatusOr<EventKeyParts> p = ParseEventKey(key);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->bus, "orders");
  EXPECT_EQ(p->ingest_ms, 1700000000123u);
  EXPECT_EQ(p->sequence, 42u);
  EXPECT_EQ(p->event_id, "0cc35aee-07b3-415a-a941-9c1f1a357958");
}

TEST(KeysTest, EventKeysSortByBusThenTime) {
  EXPECT_LT(EventKey("a", 2, 9, "z"), EventKey("a", 10, 0, "a"));
  // Same millisecond: arrival sequence decides, not the random id.
  EXPECT_LT(EventKey("a", 2, 1, "z"), EventKey("a", 2, 2, "a"));
  EXPECT_LT(EventKey("a", UINT64_MAX >> 1, 0, "z"), EventKey("b", 0, 0, "a"));
  // A bus whose name extends another's never interleaves with it.
  EXPECT_LT(EventKey("a", UINT64_MAX, 0, "z"), EventKey("a.b", 0, 0, "a"));
  EXPECT_LT(EventKeyLowerBound("a", 5), EventKey("a", 5, 0, "x"));
}

TEST(KeysTest, MalformedEventKeyIsDataLoss) {
  EXPECT_EQ(ParseEventKey("nobus").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseEventKey(std::string("a\0shortkey12345", 16)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeysTest, CatalogKeys) {
  EXPECT_EQ(CatalogKey("bus", "x"), std::string("bus\0x", 5));
  EXPECT_EQ(*CatalogName("bus", CatalogKey("bus", "orders")), "orders");
  EXPECT_FALSE(CatalogName("rule", CatalogKey("bus", "orders")).ok());
}

}  // namespace
}  // namespace evbus::storage::keys

namespace evbus::storage::keys {
namespace {

TEST(KeysTest, QueueKeysSortByDueTime) {
  std::string id_a(36, 'z'), id_b(36, 'a');
  std::string a = QueueKey(5, id_a, TargetKey("bus", "r", "t"));
  std::string b = QueueKey(6, id_b, TargetKey("bus", "r", "t2"));
  EXPECT_LT(a, b);
  ASSERT_TRUE(IsQueueKey(b));
  EXPECT_EQ(QueueKeyDueMs(b), 6u);
  EXPECT_EQ(QueueKeyTaskId(b), id_b);
  EXPECT_EQ(QueueKeyTargetKey(b), TargetKey("bus", "r", "t2"));
  // Every target key of a bus starts with its prefix; a longer bus name's
  // do not.
  EXPECT_TRUE(
      absl::StartsWith(TargetKey("bus", "r", "t"), TargetBusPrefix("bus")));
  EXPECT_FALSE(
      absl::StartsWith(TargetKey("bus2", "r", "t"), TargetBusPrefix("bus")));
  EXPECT_FALSE(IsQueueKey("short"));
}

TEST(KeysTest, DeadLetterKeysNestUnderRuleAndTarget) {
  std::string k = DeadLetterKey("bus", "rule", "t1", 7, "task");
  EXPECT_EQ(k.rfind(DeadLetterPrefix("bus", "rule", "t1"), 0), 0u);
  EXPECT_EQ(k.rfind(DeadLetterRulePrefix("bus", "rule"), 0), 0u);
  // Target "t" is not a prefix match of target "t1".
  EXPECT_NE(k.rfind(DeadLetterPrefix("bus", "rule", "t"), 0), 0u);
}

TEST(KeysTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  std::string p = LogGroupPrefix("g");
  EXPECT_LT(LogKey("g", UINT64_MAX, UINT64_MAX), PrefixEnd(p));
  EXPECT_GT(LogKey("g", 0, 0), p);
}

}  // namespace
}  // namespace evbus::storage::keys
