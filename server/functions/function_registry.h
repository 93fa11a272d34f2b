// File: server/functions/function_registry.h
//
// FunctionRegistry: functions as resources (Lambda's CreateFunction,
// UpdateFunctionCode, UpdateFunctionConfiguration, GetFunction,
// ListFunctions, DeleteFunction). Configurations live in the `catalog`
// family ("function" 0x00 name); code is copied into
// <code_root>/<name>/<revision>/ before the configuration that names it is
// committed, so a crash leaves at most an unreferenced directory (removed at
// Load).
//
// Thread safety: thread-safe.
//
// Example:
//   FunctionRegistry functions(store, clock, {.code_root = dir});
//   EVBUS_RETURN_IF_ERROR(functions.Load());
//   EVBUS_ASSIGN_OR_RETURN(evbus::v1::Function fn,
//                          functions.Create(config, code));
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/function.pb.h"
#include "server/common/clock.h"
#include "server/storage/store.h"

namespace evbus::functions {

struct FunctionRegistryOptions {
  std::string account = "123456789012";
  std::string region = "us-east-1";
  // Where code is kept: <data-dir>/functions/code.
  std::string code_root;
  // Each code directory is root's alone (0700) when written, copied or
  // loaded; the FunctionPool opens it to its function's group when the
  // function starts (a uid per function: FunctionPoolOptions::
  // function_uids). Otherwise code is readable by every user (functions
  // run as one user). Needs root.
  bool private_code = false;
};

class FunctionRegistry {
 public:
  FunctionRegistry(storage::Store& store, common::Clock& clock,
                   FunctionRegistryOptions options);

  // Reads every function and removes code directories nothing names.
  absl::Status Load();

  absl::StatusOr<evbus::v1::Function> Create(
      evbus::v1::Function config, const evbus::v1::FunctionCode& code);
  absl::StatusOr<evbus::v1::Function> UpdateCode(
      const std::string& name_or_arn, const evbus::v1::FunctionCode& code);
  // Changes the fields named in `mask` (function.proto field names).
  absl::StatusOr<evbus::v1::Function> UpdateConfiguration(
      const evbus::v1::Function& changes, const std::vector<std::string>& mask);
  absl::StatusOr<evbus::v1::Function> Get(const std::string& name_or_arn) const;
  std::vector<evbus::v1::Function> List() const;
  absl::Status Delete(const std::string& name_or_arn);

  // The directory holding `fn`'s code (of its revision).
  std::string CodeDir(const evbus::v1::Function& fn) const;

  // Called after a function changed or was deleted (not under the lock).
  void SetChangeListener(std::function<void(const std::string& name)> f);

  const FunctionRegistryOptions& options() const { return options_; }

 private:
  // With options_.private_code: `dir` becomes root's alone (0700).
  void Seal(const std::string& dir) const;
  absl::Status Commit(const evbus::v1::Function& fn, bool created = false);
  absl::StatusOr<evbus::v1::Function> StoreCode(
      evbus::v1::Function fn, const evbus::v1::FunctionCode& code);
  void Changed(const std::string& name);

  storage::Store& store_;
  common::Clock& clock_;
  const FunctionRegistryOptions options_;

  mutable absl::Mutex mu_;
  // Serializes writers (code on disk, then the catalog).
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::map<std::string, evbus::v1::Function> functions_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::string&)> listener_;
};

}  // namespace evbus::functions
