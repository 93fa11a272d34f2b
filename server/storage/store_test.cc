#include "server/storage/store.h"

#include <filesystem>
#include <fstream>

#include "evbus/v1/storage.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::storage {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

TEST(StoreTest, WritesSurviveReopen) {
  evbus::testing::TempDir dir;
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    WriteBatch batch;
    batch.Put(Family::kCatalog, "k1", "v1");
    batch.Put(Family::kEvents, "k2", "v2");
    ASSERT_THAT(store->Write(batch, true), IsOk());
  }
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  EXPECT_EQ(*store->Get(Family::kCatalog, "k1").value(), "v1");
  EXPECT_EQ(*store->Get(Family::kEvents, "k2").value(), "v2");
  EXPECT_FALSE(store->Get(Family::kEvents, "k1").value().has_value());
  EXPECT_EQ(store->format_version(), kFormatVersion);
}

TEST(StoreTest, ScanRangeAndReverse) {
  evbus::testing::TempDir dir;
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  WriteBatch batch;
  for (char c = 'a'; c <= 'e'; ++c) {
    batch.Put(Family::kEvents, std::string(1, c), std::string(1, c));
  }
  ASSERT_THAT(store->Write(batch), IsOk());
  std::string seen;
  ASSERT_THAT(store->Scan(Family::kEvents, "b", "e",
                          [&](absl::string_view k, absl::string_view) {
                            seen.append(k.data(), k.size());
                            return true;
                          }),
              IsOk());
  EXPECT_EQ(seen, "bcd");
  seen.clear();
  ASSERT_THAT(store->ScanReverse(Family::kEvents, "b", "",
                                 [&](absl::string_view k, absl::string_view) {
                                   seen.append(k.data(), k.size());
                                   return seen.size() < 3;
                                 }),
              IsOk());
  EXPECT_EQ(seen, "edc");
}

TEST(StoreTest, DeleteRange) {
  evbus::testing::TempDir dir;
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  WriteBatch batch;
  for (char c = 'a'; c <= 'e'; ++c) {
    batch.Put(Family::kEvents, std::string(1, c), "x");
  }
  batch.DeleteRange(Family::kEvents, "b", "d");
  ASSERT_THAT(store->Write(batch), IsOk());
  std::string seen;
  ASSERT_THAT(store->Scan(Family::kEvents, "", "",
                          [&](absl::string_view k, absl::string_view) {
                            seen.append(k.data(), k.size());
                            return true;
                          }),
              IsOk());
  EXPECT_EQ(seen, "ade");
}

TEST(StoreTest, NewerFormatVersionIsRefusedAndLeftAlone) {
  evbus::testing::TempDir dir;
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    evbus::v1::StoreFormat newer;
    newer.set_version(kFormatVersion + 1);
    WriteBatch batch;
    batch.Put(Family::kMeta, keys::kFormatKey, newer.SerializeAsString());
    batch.Put(Family::kCatalog, "keep", "me");
    ASSERT_THAT(store->Write(batch), IsOk());
  }
  EXPECT_THAT(Store::Open({.path = dir.path()}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer than this evbusd supports")));
  // Still refused (nothing was rewritten by the failed open).
  EXPECT_THAT(Store::Open({.path = dir.path()}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StoreTest, OlderFormatVersionIsUpgradedInPlace) {
  evbus::testing::TempDir dir;
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    evbus::v1::StoreFormat older;
    older.set_version(1);
    older.set_created_by("evbusd 0.1");
    WriteBatch batch;
    batch.Put(Family::kMeta, keys::kFormatKey, older.SerializeAsString());
    batch.Put(Family::kCatalog, "keep", "me");
    ASSERT_THAT(store->Write(batch), IsOk());
  }
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    EXPECT_EQ(store->format_version(), kFormatVersion);
    EXPECT_EQ(*store->Get(Family::kCatalog, "keep").value(), "me");
  }
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  evbus::v1::StoreFormat format;
  ASSERT_TRUE(format.ParseFromString(
      *store->Get(Family::kMeta, keys::kFormatKey).value()));
  EXPECT_EQ(format.version(), kFormatVersion);
  EXPECT_EQ(format.created_by(), "evbusd 0.1");
}

TEST(StoreTest, FailedWriteLatchesTheStore) {
  evbus::testing::TempDir dir;
  StoreOptions options{.path = dir.path()};
  options.enable_fault_injection_for_testing = true;
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(options));
  WriteBatch ok_batch;
  ok_batch.Put(Family::kEvents, "before", "x");
  ASSERT_THAT(store->Write(ok_batch, true), IsOk());
  EXPECT_THAT(store->Health(), IsOk());

  store->FailWritesForTesting();
  WriteBatch batch;
  batch.Put(Family::kEvents, "during", "x");
  EXPECT_THAT(store->Write(batch, true),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("store is latched after a failed write")));
  EXPECT_THAT(store->Health(), StatusIs(absl::StatusCode::kUnavailable));
  // Every later write is refused with the same latched error.
  WriteBatch later;
  later.Put(Family::kEvents, "after", "x");
  EXPECT_THAT(store->Write(later, true),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("latched")));
  // Reads still work and what was acknowledged is there.
  EXPECT_EQ(*store->Get(Family::kEvents, "before").value(), "x");
}

TEST(StoreTest, DirectoryWithForeignDataIsRefused) {
  evbus::testing::TempDir dir;
  std::ofstream(dir.Join("CURRENT")) << "garbage\n";
  EXPECT_FALSE(Store::Open({.path = dir.path()}).ok());
}

TEST(StoreTest, EmptyPathIsInvalid) {
  EXPECT_THAT(Store::Open({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::storage
