// File: server/storage/rocksdb_status.h
//
// The single conversion point from rocksdb::Status to absl::Status.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace evbus::storage {

// Maps RocksDB codes onto canonical ones: NotFound→NotFound,
// Corruption→DataLoss, IOError/Busy/TimedOut/TryAgain→Unavailable,
// InvalidArgument/NotSupported→InvalidArgument, others→Internal. The message
// is "<context>: <rocksdb message>".
absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context);

}  // namespace evbus::storage
