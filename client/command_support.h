// File: client/command_support.h
//
// What every verb of the CLI shares: the error convention of commands.h,
// call deadlines, and parsing of JSON, time and integer arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/args.h"
#include "client/commands.h"
#include "grpcpp/grpcpp.h"
#include "server/common/json.h"

namespace evbus::cli {

// "2026-11-27T10:00:00.000Z".
std::string IsoMillis(int64_t ms);

// Turns a failed RPC into the CLI's error convention (commands.h).
absl::Status RpcError(const grpc::Status& status, absl::string_view op,
                      const std::string& endpoint);

// A client context with the command's deadline.
std::unique_ptr<grpc::ClientContext> NewContext(const Context& ctx);

// --flag as JSON (inline or file://).
absl::StatusOr<common::Json> ParseJsonArg(const Args& args,
                                          const std::string& flag);
// RFC 3339 or epoch seconds → ms.
absl::StatusOr<int64_t> ParseTimeArg(const std::string& flag,
                                     const std::string& value);
// `logs tail --since`: a duration before `now` as `aws logs tail` takes it
// (a positive integer and one of s, m, h, d, w: "30s", "10m", "2h", "1d"),
// or a time as ParseTimeArg takes it → ms since the epoch.
absl::StatusOr<int64_t> ParseSinceArg(const std::string& flag,
                                      const std::string& value, absl::Time now);
// --flag as an integer in [lo, hi]; `def` when absent.
absl::StatusOr<int> ParseIntArg(const Args& args, const std::string& flag,
                                int def, int lo, int hi);

// Reads members of JSON-valued options without ever throwing: a member of
// the wrong type is remembered (the first one, named "<option>: <Member>")
// and reported by status(); absent members read as empty / zero.
class MemberReader {
 public:
  explicit MemberReader(std::string option) : option_(std::move(option)) {}
  std::string Str(const common::Json& j, const char* key);
  double Num(const common::Json& j, const char* key);
  int Int(const common::Json& j, const char* key);
  bool Bool(const common::Json& j, const char* key);
  absl::Status status() const { return status_; }

 private:
  void Fail(const char* key, const char* what);
  std::string option_;
  absl::Status status_;
};

}  // namespace evbus::cli
