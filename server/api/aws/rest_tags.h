// File: server/api/aws/rest_tags.h
//
// The tag calls of the REST-JSON services, on one resource path
// (Lambda's /2017-03-31/tags/{ARN}, Scheduler's /tags/{ResourceArn}):
// GET lists the tags, POST adds the body's Tags, DELETE removes the keys
// named by the query. The services differ in shape only (RestTagsShape).
// Pure over a TagStore; thread-safe.
//
// Example:
//   absl::StatusOr<std::optional<Json>> out = HandleRestTags(
//       request, [&] { return Body(request); }, function_arn, tags,
//       {.tags_as_map = true, .keys_param = "tagKeys"});
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/common/json.h"

namespace evbus::api::aws {

struct RestTagsShape {
  // Tags as {"k": "v"} (Lambda), or as [{"Key": k, "Value": v}]
  // (Scheduler).
  bool tags_as_map = false;
  // The query parameter naming the keys to remove.
  absl::string_view keys_param = "TagKeys";
  // Shortest value (Scheduler's Tag.Value: 1; Lambda's: 0).
  size_t min_value_length = 0;
};

// The answer's body (nullopt for TagResource and UntagResource, which
// answer without one) or the error: ValidationException for a missing Tags
// or keys parameter, for tags out of bounds (TagStore) and for another
// method; the body parser's error; the store's.
// The Tags member of a create call's `body` in the service's shape, checked
// against TagStore's bounds (empty when absent), so that the call is refused
// before anything is created.
absl::StatusOr<std::map<std::string, std::string>> CreateTags(
    const common::Json& body, const RestTagsShape& shape);

absl::StatusOr<std::optional<common::Json>> HandleRestTags(
    const AwsHttpRequest& request,
    const std::function<absl::StatusOr<common::Json>()>& body,
    absl::string_view resource, TagStore& tags, const RestTagsShape& shape);

}  // namespace evbus::api::aws
