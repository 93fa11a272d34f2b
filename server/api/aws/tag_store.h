// File: server/api/aws/tag_store.h
//
// TagStore: the tags of the resources the AWS endpoint can tag, keyed by the
// resource's ARN: event buses and rules (EventBridge), functions (Lambda),
// alarms (CloudWatch), topics (SNS) and schedule groups (Scheduler). Each
// service's TagResource / UntagResource / ListTagsForResource (Lambda:
// ListTags) and the Tags member of its create call use it.
//
// Storage: one record per tagged resource in the catalog family,
//   key   storage::keys::TagKey(<resource ARN>)
//   value a compact JSON object {"<key>":"<value>",...}, keys sorted;
// written with synced writes; a resource without tags has no record. The
// services delete a resource's record in the batch that deletes the
// resource, whichever front end (AWS endpoint, gRPC, CLI, stack) deletes it.
// TagStore does not know whether the resource exists; its caller checks.
//
// Limits (AWS's): at most 50 tags per resource; keys 1..128 characters,
// values 0..256 characters (counted as code points, not bytes). Violations
// are ValidationException.
//
// Thread safety: thread-safe (writes are serialised, so concurrent Tag and
// Untag calls on one resource do not lose each other's changes).
//
// Example:
//   TagStore tags(store);
//   EVBUS_RETURN_IF_ERROR(tags.Tag(arn, {{"team", "orders"}}));
//   EVBUS_ASSIGN_OR_RETURN(auto current, tags.List(arn));  // {team: orders}
//   EVBUS_RETURN_IF_ERROR(tags.Untag(arn, {"team"}));
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/common/json.h"
#include "server/storage/store.h"

namespace evbus::api::aws {

class TagStore {
 public:
  static constexpr size_t kMaxTagsPerResource = 50;
  static constexpr size_t kMaxKeyLength = 128;
  static constexpr size_t kMaxValueLength = 256;

  explicit TagStore(storage::Store& store);
  TagStore(const TagStore&) = delete;
  TagStore& operator=(const TagStore&) = delete;

  // The tags of `arn` (empty when it has none). Errors: Unavailable (store),
  // DataLoss (a record that is not a JSON object of strings).
  absl::StatusOr<std::map<std::string, std::string>> List(
      absl::string_view arn) const;

  // Adds `tags` to those of `arn`, replacing the values of keys it already
  // has. Errors: ValidationException (kInvalidArgument) for a key or value
  // out of bounds or more than 50 tags in all; Unavailable, DataLoss.
  absl::Status Tag(absl::string_view arn,
                   const std::map<std::string, std::string>& tags);

  // Removes `keys` from the tags of `arn`; keys it does not have are
  // ignored. Errors: ValidationException for a key out of bounds;
  // Unavailable, DataLoss.
  absl::Status Untag(absl::string_view arn,
                     const std::vector<std::string>& keys);

  // Gives a new resource exactly `tags`, dropping any left from an earlier
  // resource of the same ARN. Errors: as Tag.
  absl::Status Reset(absl::string_view arn,
                     const std::map<std::string, std::string>& tags);

  // Tags as the JSON protocols carry them; `member` names the member in
  // errors (ValidationException: wrong type, a missing Key or Value).
  // A list of {"Key": k, "Value": v} (EventBridge, CloudWatch, Scheduler);
  // later duplicates win.
  static absl::StatusOr<std::map<std::string, std::string>> FromJsonList(
      const common::Json& list, absl::string_view member);
  // An object {"k": "v"} (Lambda).
  static absl::StatusOr<std::map<std::string, std::string>> FromJsonMap(
      const common::Json& map, absl::string_view member);
  // [{"Key": k, "Value": v}, ...] in key order.
  static common::Json ToJsonList(
      const std::map<std::string, std::string>& tags);

  // The checks Tag applies to `tags` alone (bounds, and at most 50), so that
  // a caller can refuse a create request before creating anything. Lengths
  // count characters (code points), as AWS's do. `min_value_length`: 1 for
  // the services whose values may not be empty (Scheduler).
  static absl::Status Validate(const std::map<std::string, std::string>& tags,
                               size_t min_value_length = 0);

  // Characters (code points) of UTF-8 text.
  static size_t Length(absl::string_view s);

 private:
  static absl::Status ValidateKeys(const std::vector<std::string>& keys,
                                   absl::string_view path);
  absl::Status WriteLocked(absl::string_view arn,
                           const std::map<std::string, std::string>& tags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Store& store_;
  // Serialises read-modify-write cycles; the store itself is thread-safe.
  absl::Mutex mu_;
};

}  // namespace evbus::api::aws
