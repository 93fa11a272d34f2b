// File: server/storage/store_options.h
//
// Options for Store::Open. A plain struct; every field states its default.
#pragma once

#include <cstddef>
#include <string>

namespace evbus::storage {

struct StoreOptions {
  // Directory holding the RocksDB database. Created if missing.
  // Default: none (required).
  std::string path;

  // Create the directory and database when absent.
  // Default: true.
  bool create_if_missing = true;

  // Size of RocksDB's block cache in bytes.
  // Default: 8 MiB (the event log is mostly written, rarely read).
  size_t block_cache_bytes = 8 << 20;

  // Memtable size per column family in bytes.
  // Default: 16 MiB.
  size_t write_buffer_bytes = 16 << 20;

  // Open a store whose write-ahead log is damaged before its end, keeping
  // what precedes the damage and dropping the rest (RocksDB's
  // kPointInTimeRecovery). Default false: such a store is refused with
  // DataLoss, and only an incomplete last record (a write cut by a crash,
  // so never acknowledged) is dropped (kTolerateCorruptedTailRecords).
  bool accept_wal_loss = false;

  // Free space the file system under the store must have for Open to
  // proceed (see Store::CheckFreeSpace, which the daemon then runs every
  // 200 ms). Default 0: not checked (evbusd passes --min-free-disk-mb).
  uint64_t min_free_bytes = 0;

  // Version string stored in a new store's format record.
  // Default: "evbusd".
  std::string created_by = "evbusd";

  // Wraps the file system so that the next WAL sync or append fails, for the
  // latch tests. Default: false.
  bool enable_fault_injection_for_testing = false;
};

}  // namespace evbus::storage
