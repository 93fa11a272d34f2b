// File: server/stack/stack_apply.h
//
// Makes a daemon match a StackSpec through its gRPC API (the CLI's channel,
// or evbusd's in-process channel for --stack): for each resource, in
// dependency order, create it, update it when its declared configuration
// differs, or leave it alone. Returns the plan (what was, or with dry_run
// would be, done).
//
// Thread safety: thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/stack/stack_spec.h"

namespace grpc {
class Channel;
}

namespace evbus::stack {

struct PlanItem {
  std::string kind;  // bus, function, topic, subscription, rule, targets,
                     // schedule, alarm, skipped
  std::string name;
  std::string action;  // create, update, unchanged, skip, delete
};

// With `prune`, resources an earlier apply of this stack created and `spec`
// no longer declares are deleted (the daemon keeps each stack's record).
// `token`: sent as "authorization: Bearer <token>" (evbusd started with
// --grpc-token-file); empty: none.
absl::StatusOr<std::vector<PlanItem>> ApplyStack(
    const StackSpec& spec, const std::shared_ptr<grpc::Channel>& channel,
    bool dry_run, bool prune = false, const std::string& token = "");

}  // namespace evbus::stack
