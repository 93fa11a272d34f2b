#include "server/functions/function_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/functions/code_package.h"
#include "server/functions/function_config.h"
#include "server/storage/keys.h"

namespace evbus::functions {
namespace {

namespace fs = std::filesystem;
constexpr char kKind[] = "function";

std::string Rfc3339Millis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S+0000", t, absl::UTCTimeZone());
}

}  // namespace

FunctionRegistry::FunctionRegistry(storage::Store& store, common::Clock& clock,
                                   FunctionRegistryOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

void FunctionRegistry::SetChangeListener(
    std::function<void(const std::string&)> f) {
  listener_ = std::move(f);
}

void FunctionRegistry::Changed(const std::string& name) {
  if (listener_) listener_(name);
}

void FunctionRegistry::Seal(const std::string& dir) const {
  if (!options_.private_code) return;
  (void)::chown(dir.c_str(), 0, 0);
  (void)::chmod(dir.c_str(), 0700);
}

std::string FunctionRegistry::CodeDir(const evbus::v1::Function& fn) const {
  return absl::StrCat(options_.code_root, "/", fn.function_name(), "/",
                      fn.revision());
}

absl::Status FunctionRegistry::Load() {
  std::map<std::string, evbus::v1::Function> loaded;
  absl::Status bad;
  std::string prefix = storage::keys::CatalogPrefix(kKind);
  EVBUS_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        evbus::v1::Function fn;
        if (!fn.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          bad = absl::DataLossError(absl::StrCat("unreadable function record ",
                                                 key.substr(prefix.size())));
          return false;
        }
        loaded[fn.function_name()] = std::move(fn);
        return true;
      }));
  EVBUS_RETURN_IF_ERROR(bad);
  // Remove code directories no configuration names (crash leftovers, old
  // revisions).
  std::error_code ec;
  fs::create_directories(options_.code_root, ec);
  // Functions read their code, whatever wrote it (a restored backup keeps
  // the backup's modes); with private code, each revision stays closed
  // (below) and is opened to its function when that starts.
  if (options_.private_code) {
    ::chmod(options_.code_root.c_str(), 0755);
  } else {
    OpenToFunctions(options_.code_root);
  }
  for (fs::directory_iterator fit(options_.code_root, ec), end;
       !ec && fit != end; fit.increment(ec)) {
    std::string name = fit->path().filename().string();
    if (options_.private_code) ::chmod(fit->path().c_str(), 0755);
    auto found = loaded.find(name);
    if (found == loaded.end()) {
      fs::remove_all(fit->path(), ec);
      continue;
    }
    std::string keep = absl::StrCat(found->second.revision());
    for (fs::directory_iterator rit(fit->path(), ec), rend; !ec && rit != rend;
         rit.increment(ec)) {
      if (rit->path().filename().string() != keep) {
        std::error_code ignored;
        fs::remove_all(rit->path(), ignored);
      } else if (options_.private_code) {
        // Uids are given out anew after a restart: no function reads this
        // code until its own starts.
        Seal(rit->path().string());
        OpenToFunctions(rit->path().string(), /*open_top=*/false);
      }
    }
  }
  absl::MutexLock lock(&mu_);
  functions_ = std::move(loaded);
  return absl::OkStatus();
}

absl::Status FunctionRegistry::Commit(const evbus::v1::Function& fn,
                                      bool created) {
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kKind, fn.function_name()),
            fn.SerializeAsString());
  // A new function starts without tags (see BusService::CreateEventBus).
  if (created) {
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(fn.function_arn()));
  }
  return store_.Write(batch, /*sync=*/true);
}

absl::StatusOr<evbus::v1::Function> FunctionRegistry::StoreCode(
    evbus::v1::Function fn, const evbus::v1::FunctionCode& code) {
  EVBUS_ASSIGN_OR_RETURN(std::vector<evbus::v1::CodeFile> files, FilesOf(code));
  if (files.empty()) {
    return InvalidParameter(
        "The function code must contain at least one file.");
  }
  CodeDigest digest = DigestOfCode(code, files);
  fn.set_code_sha256(digest.sha256_base64);
  fn.set_code_size(digest.size);
  std::string dir = CodeDir(fn);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (absl::Status written = WriteCode(files, dir, !options_.private_code);
      !written.ok()) {
    fs::remove_all(dir, ec);  // nothing half-written stays behind
    return written;
  }
  Seal(dir);
  return fn;
}

absl::StatusOr<evbus::v1::Function> FunctionRegistry::Create(
    evbus::v1::Function config, const evbus::v1::FunctionCode& code) {
  EVBUS_RETURN_IF_ERROR(NormalizeFunction(config));
  absl::MutexLock writer(&write_mu_);
  int64_t revision = 1;
  {
    absl::MutexLock lock(&mu_);
    if (functions_.count(config.function_name()) > 0) {
      return common::AwsError(
          absl::StatusCode::kAlreadyExists, "ResourceConflictException",
          absl::StrCat("Function already exist: ", config.function_name()));
    }
  }
  config.set_function_arn(
      FunctionArn(options_.region, options_.account, config.function_name()));
  config.set_revision(revision);
  config.set_incarnation(common::NewUuidV4());
  config.set_last_modified(Rfc3339Millis(clock_.Now()));
  EVBUS_ASSIGN_OR_RETURN(evbus::v1::Function fn,
                         StoreCode(std::move(config), code));
  EVBUS_RETURN_IF_ERROR(Commit(fn, /*created=*/true));
  {
    absl::MutexLock lock(&mu_);
    functions_[fn.function_name()] = fn;
  }
  return fn;
}

absl::StatusOr<evbus::v1::Function> FunctionRegistry::UpdateCode(
    const std::string& name_or_arn, const evbus::v1::FunctionCode& code) {
  absl::StatusOr<evbus::v1::Function> fn;
  {
    absl::MutexLock writer(&write_mu_);
    EVBUS_ASSIGN_OR_RETURN(evbus::v1::Function current, Get(name_or_arn));
    current.set_revision(current.revision() + 1);
    current.set_last_modified(Rfc3339Millis(clock_.Now()));
    fn = StoreCode(std::move(current), code);
    if (!fn.ok()) return fn.status();
    EVBUS_RETURN_IF_ERROR(Commit(*fn));
    absl::MutexLock lock(&mu_);
    functions_[fn->function_name()] = *fn;
  }
  Changed(fn->function_name());
  return fn;
}

absl::StatusOr<evbus::v1::Function> FunctionRegistry::UpdateConfiguration(
    const evbus::v1::Function& changes, const std::vector<std::string>& mask) {
  evbus::v1::Function fn;
  {
    absl::MutexLock writer(&write_mu_);
    EVBUS_ASSIGN_OR_RETURN(fn, Get(changes.function_name()));
    std::string old_code_dir = CodeDir(fn);
    for (const std::string& field : mask) {
      if (field == "runtime") {
        fn.set_runtime(changes.runtime());
      } else if (field == "handler") {
        fn.set_handler(changes.handler());
      } else if (field == "description") {
        fn.set_description(changes.description());
      } else if (field == "timeout") {
        fn.set_timeout(changes.timeout());
      } else if (field == "memory_size") {
        fn.set_memory_size(changes.memory_size());
      } else if (field == "environment") {
        *fn.mutable_environment() = changes.environment();
      } else if (field == "reserved_concurrent_executions") {
        if (changes.has_reserved_concurrent_executions()) {
          fn.set_reserved_concurrent_executions(
              changes.reserved_concurrent_executions());
        } else {
          fn.clear_reserved_concurrent_executions();
        }
      } else if (field == "event_invoke_config") {
        // Absent in `changes`: the configuration is removed (defaults).
        if (changes.has_event_invoke_config()) {
          *fn.mutable_event_invoke_config() = changes.event_invoke_config();
        } else {
          fn.clear_event_invoke_config();
        }
      } else if (field == "role") {
        fn.set_role(changes.role());
      } else if (field == "dead_letter_target_arn") {
        fn.set_dead_letter_target_arn(changes.dead_letter_target_arn());
      } else {
        return common::ValidationError(
            absl::StrCat("Unknown configuration field: ", field));
      }
    }
    EVBUS_RETURN_IF_ERROR(NormalizeFunction(fn));
    // A new revision so that warm environments of the old configuration
    // are not reused; the code moves along with it.
    fn.set_revision(fn.revision() + 1);
    fn.set_last_modified(Rfc3339Millis(clock_.Now()));
    std::error_code ec;
    fs::copy(old_code_dir, CodeDir(fn),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot copy the code of ", fn.function_name(), ": ", ec.message()));
    }
    Seal(CodeDir(fn));
    OpenToFunctions(CodeDir(fn), !options_.private_code);
    EVBUS_RETURN_IF_ERROR(Commit(fn));
    absl::MutexLock lock(&mu_);
    functions_[fn.function_name()] = fn;
  }
  Changed(fn.function_name());
  return fn;
}

absl::StatusOr<evbus::v1::Function> FunctionRegistry::Get(
    const std::string& name_or_arn) const {
  EVBUS_ASSIGN_OR_RETURN(std::string name, FunctionNameOf(name_or_arn));
  absl::MutexLock lock(&mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    return FunctionNotFound(
        FunctionArn(options_.region, options_.account, name));
  }
  return it->second;
}

std::vector<evbus::v1::Function> FunctionRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<evbus::v1::Function> out;
  for (const auto& [name, fn] : functions_) out.push_back(fn);
  return out;
}

absl::Status FunctionRegistry::Delete(const std::string& name_or_arn) {
  std::string name;
  {
    absl::MutexLock writer(&write_mu_);
    EVBUS_ASSIGN_OR_RETURN(evbus::v1::Function fn, Get(name_or_arn));
    name = fn.function_name();
    storage::WriteBatch batch;
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::CatalogKey(kKind, name));
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(fn.function_arn()));
    EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
    absl::MutexLock lock(&mu_);
    functions_.erase(name);
  }
  Changed(name);
  // Running environments keep their files open; the directory goes now
  // and any leftovers at the next Load.
  std::error_code ec;
  fs::remove_all(absl::StrCat(options_.code_root, "/", name), ec);
  return absl::OkStatus();
}

}  // namespace evbus::functions
