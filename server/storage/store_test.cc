#include "server/storage/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "evbus/v1/storage.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
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

// Writes `count` synced keys in a child process that then exits without
// closing the store, so that they are only in the write-ahead log (as after
// kill -9). Returns the WAL file's path.
std::string WriteAndCrash(const std::string& path, int count) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open({.path = path});
    if (!store.ok()) ::_exit(2);
    for (int i = 0; i < count; ++i) {
      WriteBatch batch;
      batch.Put(Family::kEvents, absl::StrCat("k", 1000 + i),
                std::string(200, 'v'));
      if (!(*store)->Write(batch, /*sync=*/true).ok()) ::_exit(3);
    }
    (void)store->release();  // no close, no flush: a crash
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string wal;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    if (e.path().extension() == ".log" &&
        std::filesystem::file_size(e.path()) > 0) {
      wal = e.path().string();
    }
  }
  return wal;
}

int CountKeys(Store& store) {
  int n = 0;
  EXPECT_THAT(store.Scan(Family::kEvents, "", "",
                         [&](absl::string_view, absl::string_view) {
                           ++n;
                           return true;
                         }),
              IsOk());
  return n;
}

TEST(StoreTest, WalDamagedBeforeItsEndIsRefusedUnlessLossIsAccepted) {
  evbus::testing::TempDir dir;
  const std::string wal = WriteAndCrash(dir.path(), 200);
  ASSERT_FALSE(wal.empty());
  {
    // Intact: every acknowledged write is back.
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    EXPECT_EQ(CountKeys(*store), 200);
  }
  const std::string crashed = WriteAndCrash(dir.path(), 200);
  ASSERT_FALSE(crashed.empty());
  {
    std::fstream f(crashed, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(
        static_cast<std::streamoff>(std::filesystem::file_size(crashed) / 2));
    f << "XXXXXXXXXXXXXXXX";
  }
  // Refused, with the way out named; nothing is dropped.
  EXPECT_THAT(Store::Open({.path = dir.path()}),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("--wal-recovery=point-in-time")));
  EXPECT_TRUE(std::filesystem::exists(crashed));
  // Accepted: what precedes the damage (the first 200 keys at least).
  EVBUS_ASSERT_OK_AND_ASSIGN(
      auto store, Store::Open({.path = dir.path(), .accept_wal_loss = true}));
  const int kept = CountKeys(*store);
  EXPECT_GE(kept, 200);
  EXPECT_LT(kept, 400);
}

TEST(StoreTest, FilesWithoutCurrentAreRefusedAndKept) {
  evbus::testing::TempDir dir;
  {
    EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
    WriteBatch batch;
    batch.Put(Family::kEvents, "k", "v");
    ASSERT_THAT(store->Write(batch, true), IsOk());
  }
  std::filesystem::remove(dir.Join("CURRENT"));
  std::vector<std::string> before;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    before.push_back(e.path().filename().string());
  }
  EXPECT_THAT(
      Store::Open({.path = dir.path()}),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("but no CURRENT file")));
  std::vector<std::string> after;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    after.push_back(e.path().filename().string());
  }
  EXPECT_THAT(after, ::testing::UnorderedElementsAreArray(before));
}

TEST(StoreTest, ForeignRocksDbIsRefusedAndLeftAsItWas) {
  evbus::testing::TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "a", "b").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_THAT(Store::Open({.path = dir.path()}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not an evbus store")));
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(),
                                              &families)
                  .ok());
  EXPECT_THAT(families, ::testing::ElementsAre("default"));

  // Other column families than evbus's.
  evbus::testing::TempDir other;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, other.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(
        db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "users", &h)
            .ok());
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_THAT(Store::Open({.path = other.path()}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("column family \"users\"")));
}

TEST(StoreTest, TooLittleFreeSpaceRefusesOrLatches) {
  evbus::testing::TempDir dir;
  constexpr uint64_t kExabyte = uint64_t{1} << 60;
  EXPECT_THAT(Store::Open({.path = dir.path(), .min_free_bytes = kExabyte}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("--min-free-disk-mb")));
  EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()}));
  EXPECT_THAT(store->CheckFreeSpace(1 << 20), IsOk());  // a megabyte is there
  EXPECT_THAT(store->CheckFreeSpace(kExabyte),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("MB free")));
  EXPECT_FALSE(store->Health().ok());
  WriteBatch batch;
  batch.Put(Family::kEvents, "k", "v");
  EXPECT_THAT(
      store->Write(batch, true),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("store is latched")));
}

TEST(StoreTest, AStoreInUseIsRefusedWithoutTouchingIt) {
  evbus::testing::TempDir dir;
  { EVBUS_ASSERT_OK_AND_ASSIGN(auto store, Store::Open({.path = dir.path()})); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open({.path = dir.path()});
    (void)::write(ready[1], store.ok() ? "y" : "n", 1);
    ::sleep(30);  // killed by the parent
    ::_exit(0);
  }
  char answer = 0;
  ASSERT_EQ(::read(ready[0], &answer, 1), 1);
  ASSERT_EQ(answer, 'y');
  auto logs = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      n += e.path().filename().string().rfind("LOG", 0) == 0 ? 1 : 0;
    }
    return n;
  };
  const int before = logs();
  EXPECT_THAT(Store::Open({.path = dir.path()}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("another process (pid ", pid))));
  EXPECT_EQ(logs(), before);  // the running one's info log is not rotated
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(StoreTest, EmptyPathIsInvalid) {
  EXPECT_THAT(Store::Open({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::storage
