#include "server/api/aws/rest_tags.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/status_macros.h"

namespace evbus::api::aws {
namespace {

absl::Status NullMember(absl::string_view member) {
  return common::ValidationError(
      absl::StrCat("1 validation error detected: Value null at '", member,
                   "' failed to satisfy constraint: Member must not be null"));
}

// Tags in the service's shape.
absl::StatusOr<std::map<std::string, std::string>> TagsOf(
    const common::Json& tags, const RestTagsShape& shape) {
  return shape.tags_as_map ? TagStore::FromJsonMap(tags, "Tags")
                           : TagStore::FromJsonList(tags, "Tags");
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> CreateTags(
    const common::Json& body, const RestTagsShape& shape) {
  if (!body.contains("Tags")) return std::map<std::string, std::string>();
  EVBUS_ASSIGN_OR_RETURN(auto tags, TagsOf(body["Tags"], shape));
  EVBUS_RETURN_IF_ERROR(TagStore::Validate(tags, shape.min_value_length));
  return tags;
}

absl::StatusOr<std::optional<common::Json>> HandleRestTags(
    const AwsHttpRequest& request,
    const std::function<absl::StatusOr<common::Json>()>& body,
    absl::string_view resource, TagStore& tags, const RestTagsShape& shape) {
  using Tags = std::map<std::string, std::string>;
  if (request.method == "GET") {
    EVBUS_ASSIGN_OR_RETURN(Tags current, tags.List(resource));
    if (!shape.tags_as_map) {
      return common::Json{{"Tags", TagStore::ToJsonList(current)}};
    }
    common::Json map = common::Json::object();
    for (const auto& [k, v] : current) map[k] = v;
    return common::Json{{"Tags", map}};
  }
  if (request.method == "POST") {
    EVBUS_ASSIGN_OR_RETURN(common::Json in, body());
    if (!in.contains("Tags")) return NullMember("tags");
    EVBUS_ASSIGN_OR_RETURN(Tags added, TagsOf(in["Tags"], shape));
    EVBUS_RETURN_IF_ERROR(TagStore::Validate(added, shape.min_value_length));
    EVBUS_RETURN_IF_ERROR(tags.Tag(resource, added));
    return std::nullopt;
  }
  if (request.method == "DELETE") {
    std::vector<std::string> keys;
    for (const auto& [k, v] : request.query) {
      if (k == shape.keys_param) keys.push_back(v);
    }
    if (keys.empty()) return NullMember("tagKeys");
    EVBUS_RETURN_IF_ERROR(tags.Untag(resource, keys));
    return std::nullopt;
  }
  return common::ValidationError(
      absl::StrCat("Method not allowed: ", request.method, " ", request.path));
}

}  // namespace evbus::api::aws
