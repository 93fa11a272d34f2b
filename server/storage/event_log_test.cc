#include "server/storage/event_log.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::storage {
namespace {

using ::evbus::testing::IsOk;

evbus::v1::StoredEvent Event(const std::string& bus, int64_t ms,
                             const std::string& id) {
  evbus::v1::StoredEvent e;
  e.set_event_bus_name(bus);
  e.set_ingest_time_ms(ms);
  e.set_event_id(id);
  e.set_envelope_json("{}");
  return e;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open({.path = dir_.path()});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    log_ = std::make_unique<EventLog>(*store_);
    WriteBatch batch;
    for (int i = 0; i < 10; ++i) {
      EventLog::AddTo(batch, Event("a", 1000 + i, "id" + std::to_string(i)));
    }
    EventLog::AddTo(batch, Event("b", 1005, "other"));
    ASSERT_THAT(store_->Write(batch), IsOk());
  }
  evbus::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, ListsOneBusOldestFirstWithinWindow) {
  auto page = log_->List({.bus = "a", .start_ms = 1002, .end_ms = 1005});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events.size(), 3u);
  EXPECT_EQ(page->events[0].event_id(), "id2");
  EXPECT_EQ(page->events[2].event_id(), "id4");
  EXPECT_TRUE(page->next_token.empty());
}

TEST_F(EventLogTest, PagesWithTokens) {
  std::vector<std::string> ids;
  std::string token;
  for (int round = 0; round < 10; ++round) {
    auto page = log_->List({.bus = "a", .max_items = 3, .page_token = token});
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->events) ids.push_back(e.event_id());
    token = page->next_token;
    if (token.empty()) break;
  }
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids.front(), "id0");
  EXPECT_EQ(ids.back(), "id9");
}

TEST_F(EventLogTest, BadTokenIsInvalidArgument) {
  EXPECT_EQ(log_->List({.bus = "a", .page_token = "!!"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EventLogTest, TrimDeletesOnlyOlderEventsOfThatBus) {
  ASSERT_THAT(log_->TrimBefore("a", 1007), IsOk());
  auto page = log_->List({.bus = "a"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 3u);
  EXPECT_EQ(page->events[0].event_id(), "id7");
  EXPECT_EQ(log_->List({.bus = "b"})->events.size(), 1u);
}

}  // namespace
}  // namespace evbus::storage
