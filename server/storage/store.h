// File: server/storage/store.h
//
// Store: the one RocksDB database of evbusd, its column families, synced
// writes, and the error latch (docs/storage_format.md). The only component
// that includes RocksDB; callers see keys and values as bytes.
//
// Thread safety: Store is thread-safe. WriteBatch is thread-compatible.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Store>> store = Store::Open({.path = dir});
//   WriteBatch batch;
//   batch.Put(Family::kEvents, key, value);
//   absl::Status s = (*store)->Write(batch, /*sync=*/true);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "server/storage/store_options.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Cache;
}  // namespace rocksdb

namespace evbus::storage {

// The column families of docs/storage_format.md, in creation order.
enum class Family : int {
  kMeta = 0,
  kCatalog = 1,
  kEvents = 2,
  kQueue = 3,
  kDlq = 4,
  kLogs = 5,
  kArchive = 6,
  kSched = 7,
  kMetrics = 8,
};
inline constexpr int kNumFamilies = 9;

// The store format this build reads and writes.
// 2: delivery tasks may refer to the event log (DeliveryTask.event_key).
inline constexpr uint32_t kFormatVersion = 2;

// A group of writes applied atomically by Store::Write.
class WriteBatch {
 public:
  void Put(Family family, absl::string_view key, absl::string_view value);
  void Delete(Family family, absl::string_view key);
  // Deletes keys in [begin, end).
  void DeleteRange(Family family, absl::string_view begin,
                   absl::string_view end);
  size_t Count() const { return ops_.size(); }
  bool Empty() const { return ops_.empty(); }
  // Bytes of keys and values queued.
  size_t ByteSize() const { return bytes_; }

 private:
  friend class Store;
  enum class OpKind { kPut, kDelete, kDeleteRange };
  struct Op {
    OpKind kind;
    Family family;
    std::string key;
    std::string value;  // value, or the range end for kDeleteRange
  };
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

class Store {
 public:
  // Opens (or creates) the database at options.path, creating missing column
  // families. Errors:
  //   FailedPrecondition — the store's format version is newer than
  //     kFormatVersion, or the directory holds data that is not an evbus
  //     store; nothing is modified;
  //   Unavailable / DataLoss — RocksDB could not open it (I/O, corruption).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `batch` atomically. With sync, the WAL is fsynced before this
  // returns; concurrent synced writers share one fsync (RocksDB's write
  // group). Errors: Unavailable when the store is latched or the write
  // failed (which latches it).
  absl::Status Write(const WriteBatch& batch, bool sync = true);
  // Applies several batches as one atomic write (one WAL record, one fsync):
  // the GroupCommitter's write. Same errors as Write.
  absl::Status Write(absl::Span<const WriteBatch* const> batches, bool sync);

  // The value at `key`, or nullopt. Errors: Unavailable, DataLoss.
  absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                 absl::string_view key) const;

  // Calls fn(key, value) for keys in [begin, end) in key order until fn
  // returns false. An empty `end` means no upper bound.
  absl::Status Scan(
      Family family, absl::string_view begin, absl::string_view end,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const;

  // Like Scan, in descending key order, starting below `end` (empty: the
  // last key) down to `begin` inclusive.
  absl::Status ScanReverse(
      Family family, absl::string_view begin, absl::string_view end,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const;

  // Compacts the keys of `family` in [begin, end) (empty end: no bound), so
  // that the space of what was deleted there (range deletions included) is
  // given back now rather than whenever compaction reaches those files.
  // Blocks while it runs; call it off the write path. Errors: Unavailable.
  absl::Status CompactRange(Family family, absl::string_view begin,
                            absl::string_view end);

  // OK, or the error that latched the store.
  absl::Status Health() const;

  // Latches the store (ResourceExhausted naming the free space) when the
  // file system under it has less than `min_free_bytes` available, so that
  // writes stop before RocksDB meets a full disk (Debian's librocksdb
  // answers a failed WAL write on a full disk with an assertion failure,
  // not an error). Returns the latch error, or OK. 0 checks nothing.
  absl::Status CheckFreeSpace(uint64_t min_free_bytes);

  // How many synced writes were made (each one fsync of the WAL, unless
  // RocksDB grouped concurrent ones).
  uint64_t synced_writes() const {
    return synced_writes_.load(std::memory_order_relaxed);
  }

  // Syncs the WAL; used at shutdown.
  absl::Status SyncWal();

  // A consistent copy of the whole store in `dir` (which must not exist),
  // taken while serving (RocksDB checkpoint: hard links where the file
  // system allows, copies otherwise). The copy opens as a data directory.
  absl::Status Checkpoint(const std::string& dir);

  // The format version found (or written) at open.
  uint32_t format_version() const { return format_version_; }

  // With options.enable_fault_injection_for_testing: makes every following
  // WAL append and sync fail, as a full or broken disk would.
  void FailWritesForTesting();

 private:
  class FaultInjectingFileSystem;
  Store() = default;
  rocksdb::ColumnFamilyHandle* Handle(Family family) const;
  // Latches the store with `error`: every later write returns Unavailable
  // "store is latched <why>: <error>".
  absl::Status Latch(absl::Status error,
                     absl::string_view why = "after a failed write");
  absl::Status CheckFormat(const StoreOptions& options);

  std::string path_;  // the data directory
  std::shared_ptr<FaultInjectingFileSystem> fault_fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // destroyed before db_
  uint32_t format_version_ = 0;

  std::atomic<bool> latched_{false};
  std::atomic<uint64_t> synced_writes_{0};
  mutable absl::Mutex mu_;
  absl::Status latch_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::storage
