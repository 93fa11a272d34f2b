#include "server/storage/store.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "evbus/v1/storage.pb.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"
#include "server/storage/rocksdb_status.h"

namespace evbus::storage {
namespace {

constexpr const char* kFamilyNames[kNumFamilies] = {
    "meta", "catalog", "events", "queue",  "dlq",
    "logs", "archive", "sched",  "metrics"};

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

}  // namespace

// A file system whose writable files start failing appends and syncs once
// told to: the latch tests' stand-in for a dying disk.
class Store::FaultInjectingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectingFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(std::move(base)) {}

  const char* Name() const override { return "EvbusFaultInjectingFS"; }

  void Fail() { failing_.store(true); }

  rocksdb::IOStatus NewWritableFile(const std::string& f,
                                    const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, opts, &file, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(file), &failing_);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f,
         const std::atomic<bool>* failing)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)),
          failing_(failing) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected");
      return rocksdb::FSWritableFileOwnerWrapper::Append(data, o, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected");
      return rocksdb::FSWritableFileOwnerWrapper::Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o,
                            rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected");
      return rocksdb::FSWritableFileOwnerWrapper::Fsync(o, dbg);
    }

   private:
    const std::atomic<bool>* failing_;
  };

  std::atomic<bool> failing_{false};
};

void WriteBatch::Put(Family family, absl::string_view key,
                     absl::string_view value) {
  bytes_ += key.size() + value.size();
  ops_.push_back(
      Op{OpKind::kPut, family, std::string(key), std::string(value)});
}

void WriteBatch::Delete(Family family, absl::string_view key) {
  bytes_ += key.size();
  ops_.push_back(Op{OpKind::kDelete, family, std::string(key), {}});
}

void WriteBatch::DeleteRange(Family family, absl::string_view begin,
                             absl::string_view end) {
  bytes_ += begin.size() + end.size();
  ops_.push_back(
      Op{OpKind::kDeleteRange, family, std::string(begin), std::string(end)});
}

namespace {

// An info log that keeps nothing (for the read-only look at a store).
class DiscardLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// ResourceExhausted when the file system under `path` has less than
// `min_free_bytes` available to evbusd; OK otherwise (and when it cannot
// be measured: the writes themselves will say what is wrong).
absl::Status FreeSpaceError(const std::string& path, uint64_t min_free_bytes) {
  if (min_free_bytes == 0) return absl::OkStatus();
  struct statvfs fs;
  if (::statvfs(path.c_str(), &fs) != 0) return absl::OkStatus();
  const uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  if (free_bytes >= min_free_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "only ", free_bytes >> 20, " MB free on the file system of ", path,
      "; evbusd keeps at least ", min_free_bytes >> 20,
      " MB free (--min-free-disk-mb) so that a full disk cannot cut a write "
      "in half: free some space, then restart evbusd"));
}

// Refuses, before anything is written, what Open must not turn into an
// evbus store: RocksDB files without the CURRENT file that names their
// MANIFEST (opening would create a new, empty database, and RocksDB would
// then delete the old files as obsolete), and a RocksDB database evbusd did
// not create (other column families, or data in the default one). OK for a
// missing or empty directory and for evbus's own stores.
absl::Status CheckExistingDatabase(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return absl::OkStatus();
  std::vector<std::string> rocksdb_files;
  bool has_current = false;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "CURRENT") has_current = true;
    // RocksDB's own names: NNNNNN.sst, NNNNNN.log, MANIFEST-NNNNNN,
    // OPTIONS-NNNNNN (not, say, an evbusd.log someone keeps there).
    const size_t dot = name.find('.');
    const bool numbered_file =
        dot != std::string::npos && dot > 0 &&
        (name.substr(dot) == ".sst" || name.substr(dot) == ".log") &&
        name.find_first_not_of("0123456789") == dot;
    if (numbered_file || absl::StartsWith(name, "MANIFEST-") ||
        absl::StartsWith(name, "OPTIONS-")) {
      rocksdb_files.push_back(name);
    }
  }
  if (!has_current) {
    if (rocksdb_files.empty()) return absl::OkStatus();
    std::sort(rocksdb_files.begin(), rocksdb_files.end());
    if (rocksdb_files.size() > 4) {
      rocksdb_files.resize(4);
      rocksdb_files.push_back("...");
    }
    return absl::DataLossError(absl::StrCat(
        "store at ", path, " has RocksDB files (",
        absl::StrJoin(rocksdb_files, ", "),
        ") but no CURRENT file, which names the MANIFEST to read; refusing "
        "to create a new store over them (restore the whole directory from "
        "a backup, or write the MANIFEST's name into CURRENT)"));
  }
  // Another process holding RocksDB's lock: said plainly, and before any
  // open (even a refused one renames the running daemon's info log).
  const std::string lock_file = path + "/LOCK";
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct flock probe = {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    const bool held =
        ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::close(fd);
    if (held) {
      return absl::UnavailableError(
          absl::StrCat("another process (pid ", probe.l_pid,
                       ", another evbusd?) is using the store at ", path));
    }
  }
  std::vector<std::string> families;
  rocksdb::Status listed =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families);
  if (!listed.ok()) {
    return FromRocksDb(listed, absl::StrCat("reading store at ", path));
  }
  std::set<std::string> ours = {rocksdb::kDefaultColumnFamilyName};
  for (const char* name : kFamilyNames) ours.insert(name);
  for (const std::string& f : families) {
    if (ours.count(f) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store at ", path, " has column family \"", f,
          "\", which evbus does not use; it is not an evbus store"));
    }
  }
  // evbus creates its families at once: a store that has them is ours.
  if (families.size() > 1) return absl::OkStatus();
  // Only the default family: data there (evbus writes none) means a foreign
  // database. Read without opening for writes, and without an info log of
  // its own (it would rename the LOG file).
  rocksdb::DB* raw = nullptr;
  rocksdb::Options read_options;
  read_options.info_log = std::make_shared<DiscardLogger>();
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(read_options, path, &raw);
  if (!s.ok()) return absl::OkStatus();  // left to the real open to report
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  const bool has_data = it->Valid();
  it.reset();
  db->Close().PermitUncheckedError();
  if (has_data) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store at ", path,
        " has data in RocksDB's default column family, where evbus writes "
        "nothing; it is not an evbus store"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("store path is empty");
  }
  std::error_code ec;
  if (options.create_if_missing) {
    std::filesystem::create_directories(options.path, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot create data directory ", options.path, ": ", ec.message()));
    }
  }
  absl::Status space = FreeSpaceError(options.path, options.min_free_bytes);
  if (!space.ok()) return space;

  absl::Status foreign = CheckExistingDatabase(options.path);
  if (!foreign.ok()) return foreign;

  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.wal_recovery_mode =
      options.accept_wal_loss
          ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
          : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = 64 << 20;
  if (options.enable_fault_injection_for_testing) {
    store->fault_fs_ = std::make_shared<FaultInjectingFileSystem>(
        rocksdb::FileSystem::Default());
    store->env_ = rocksdb::NewCompositeEnv(store->fault_fs_);
    db_options.env = store->env_.get();
  }

  store->cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = store->cache_;
  // Point reads (a delivery task by key, an event by id) skip the files
  // that cannot hold the key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The queue holds delivery tasks that are deleted once delivered. When
  // deliveries lag ingest, flushed files mix new tasks with tombstones of
  // old ones across the whole key range, and every L0 -> L1 compaction
  // rewrote all of L1 (write amplification 15 after 10 s at 40k tasks/s).
  // Compacting 16 L0 files at a time instead of 4 rewrites L1 a quarter as
  // often: +13 % ingest with a rule and a webhook (docs/performance.md).
  rocksdb::ColumnFamilyOptions queue_options = cf_options;
  queue_options.level0_file_num_compaction_trigger = 16;
  queue_options.level0_slowdown_writes_trigger = 36;
  queue_options.level0_stop_writes_trigger = 52;

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int f = 0; f < kNumFamilies; ++f) {
    families.emplace_back(kFamilyNames[f], f == static_cast<int>(Family::kQueue)
                                               ? queue_options
                                               : cf_options);
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families,
                                        &store->handles_, &raw);
  store->db_.reset(raw);
  if (!s.ok()) {
    absl::Status opened =
        FromRocksDb(s, absl::StrCat("opening store at ", options.path));
    if (s.IsCorruption() && !options.accept_wal_loss) {
      return absl::DataLossError(absl::StrCat(
          opened.message(),
          ". The store is damaged; when the damage is in the write-ahead "
          "log, starting with --wal-recovery=point-in-time keeps what "
          "precedes it and drops the rest (back up the data directory "
          "first)"));
    }
    return opened;
  }
  absl::Status format = store->CheckFormat(options);
  if (!format.ok()) return format;
  return store;
}

Store::~Store() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

absl::Status Store::CheckFormat(const StoreOptions& options) {
  absl::StatusOr<std::optional<std::string>> value =
      Get(Family::kMeta, keys::kFormatKey);
  if (!value.ok()) return value.status();
  if (value->has_value()) {
    evbus::v1::StoreFormat format;
    if (!format.ParseFromString(**value)) {
      return absl::DataLossError("store format record is corrupt");
    }
    if (format.version() > kFormatVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("store format version ", format.version(),
                       " is newer than this evbusd supports (", kFormatVersion,
                       "); refusing to open it"));
    }
    if (format.version() < kFormatVersion) {
      // Older formats are read as they are (each version only adds to the
      // previous one); recording the new version keeps an older evbusd from
      // misreading what this one writes (docs/storage_format.md).
      const uint32_t old_version = format.version();
      format.set_version(kFormatVersion);
      WriteBatch batch;
      batch.Put(Family::kMeta, keys::kFormatKey, format.SerializeAsString());
      absl::Status w = Write(batch, /*sync=*/true);
      if (!w.ok()) return w;
      EVBUS_LOG(INFO) << "store format upgraded from version " << old_version
                      << " to " << kFormatVersion;
    }
    format_version_ = format.version();
    return absl::OkStatus();
  }
  // No format record: a brand-new store, or not ours (the meta family
  // included: a foreign store may hold other keys there).
  for (int f = 0; f < kNumFamilies; ++f) {
    bool has_data = false;
    absl::Status scan = Scan(static_cast<Family>(f), "", "",
                             [&](absl::string_view, absl::string_view) {
                               has_data = true;
                               return false;
                             });
    if (!scan.ok()) return scan;
    if (has_data) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store at ", options.path,
          " has data but no format record; it is not an evbus store"));
    }
  }
  evbus::v1::StoreFormat format;
  format.set_version(kFormatVersion);
  format.set_created_by(options.created_by);
  WriteBatch batch;
  batch.Put(Family::kMeta, keys::kFormatKey, format.SerializeAsString());
  absl::Status w = Write(batch, /*sync=*/true);
  if (!w.ok()) return w;
  format_version_ = kFormatVersion;
  return absl::OkStatus();
}

rocksdb::ColumnFamilyHandle* Store::Handle(Family family) const {
  return handles_[static_cast<size_t>(family) + 1];
}

absl::Status Store::Latch(absl::Status error, absl::string_view why) {
  absl::MutexLock lock(&mu_);
  if (latch_error_.ok()) {
    latch_error_ = absl::UnavailableError(
        absl::StrCat("store is latched ", why, ": ", error.message()));
    latched_.store(true, std::memory_order_release);
  }
  return latch_error_;
}

absl::Status Store::CheckFreeSpace(uint64_t min_free_bytes) {
  if (latched_.load(std::memory_order_acquire)) return Health();
  absl::Status space = FreeSpaceError(path_, min_free_bytes);
  if (space.ok()) return space;
  EVBUS_LOG(ERROR) << space;
  return Latch(space, "for lack of disk space");
}

absl::Status Store::CompactRange(Family family, absl::string_view begin,
                                 absl::string_view end) {
  if (latched_.load(std::memory_order_acquire)) return Health();
  const rocksdb::Slice from(begin.data(), begin.size());
  const rocksdb::Slice to(end.data(), end.size());
  rocksdb::CompactRangeOptions options;
  // Files the range deletion covers are rewritten (to nothing) whatever
  // their level.
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  rocksdb::Status s = db_->CompactRange(options, Handle(family), &from,
                                        end.empty() ? nullptr : &to);
  if (!s.ok()) return FromRocksDb(s, "compacting the store");
  return absl::OkStatus();
}

absl::Status Store::Health() const {
  if (!latched_.load(std::memory_order_acquire)) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return latch_error_;
}

absl::Status Store::Write(const WriteBatch& batch, bool sync) {
  const WriteBatch* one[] = {&batch};
  return Write(one, sync);
}

absl::Status Store::Write(absl::Span<const WriteBatch* const> batches,
                          bool sync) {
  if (latched_.load(std::memory_order_acquire)) return Health();
  size_t reserve = 64;
  for (const WriteBatch* batch : batches) {
    reserve += batch->ByteSize() + 24 * batch->Count();
  }
  rocksdb::WriteBatch wb(reserve);
  for (const WriteBatch* batch : batches) {
    for (const WriteBatch::Op& op : batch->ops_) {
      rocksdb::Status s;
      switch (op.kind) {
        case WriteBatch::OpKind::kPut:
          s = wb.Put(Handle(op.family), ToSlice(op.key), ToSlice(op.value));
          break;
        case WriteBatch::OpKind::kDelete:
          s = wb.Delete(Handle(op.family), ToSlice(op.key));
          break;
        case WriteBatch::OpKind::kDeleteRange:
          s = wb.DeleteRange(Handle(op.family), ToSlice(op.key),
                             ToSlice(op.value));
          break;
      }
      if (!s.ok()) return FromRocksDb(s, "building write batch");
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  if (sync) synced_writes_.fetch_add(1, std::memory_order_relaxed);
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return Latch(FromRocksDb(s, "write"));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Store::Get(
    Family family, absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), Handle(family), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksDb(s, "get");
  return std::optional<std::string>(std::move(value));
}

absl::Status Store::Scan(
    Family family, absl::string_view begin, absl::string_view end,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper = ToSlice(end);
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(family)));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    if (!fn(absl::string_view(it->key().data(), it->key().size()),
            absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocksDb(it->status(), "scan");
}

absl::Status Store::ScanReverse(
    Family family, absl::string_view begin, absl::string_view end,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower = ToSlice(begin);
  ro.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(family)));
  if (end.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(ToSlice(end));
    if (it->Valid() && it->key() == ToSlice(end)) it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    if (!fn(absl::string_view(it->key().data(), it->key().size()),
            absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocksDb(it->status(), "scan");
}

absl::Status Store::SyncWal() {
  if (latched_.load(std::memory_order_acquire)) return Health();
  rocksdb::Status s = db_->FlushWAL(/*sync=*/true);
  if (!s.ok()) return Latch(FromRocksDb(s, "wal sync"));
  return absl::OkStatus();
}

absl::Status Store::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocksDb(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // Flushes the memtables first (log_size_for_flush 0), so the copy holds
  // every acknowledged write without needing the WAL.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocksDb(s, "checkpoint");
  return absl::OkStatus();
}

void Store::FailWritesForTesting() {
  if (fault_fs_ != nullptr) fault_fs_->Fail();
}

}  // namespace evbus::storage
