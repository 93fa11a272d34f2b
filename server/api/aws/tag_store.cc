#include "server/api/aws/tag_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/common/status_macros.h"
#include "server/storage/keys.h"

namespace evbus::api::aws {
namespace {

std::string Key(absl::string_view arn) { return storage::keys::TagKey(arn); }

}  // namespace

TagStore::TagStore(storage::Store& store) : store_(store) {}

absl::StatusOr<std::map<std::string, std::string>> TagStore::List(
    absl::string_view arn) const {
  std::map<std::string, std::string> tags;
  EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_.Get(storage::Family::kCatalog, Key(arn)));
  if (!value.has_value()) return tags;
  absl::StatusOr<common::Json> doc = common::ParseJson(*value, "tags");
  if (!doc.ok() || !doc->is_object()) {
    return absl::DataLossError(
        absl::StrCat("the tag record of ", arn, " is not a JSON object"));
  }
  for (const auto& [k, v] : doc->items()) {
    if (!v.is_string()) {
      return absl::DataLossError(
          absl::StrCat("the tag record of ", arn, " has a non-string value"));
    }
    tags[k] = v.get<std::string>();
  }
  return tags;
}

size_t TagStore::Length(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

absl::Status TagStore::Validate(const std::map<std::string, std::string>& tags,
                                size_t min_value_length) {
  std::vector<std::string> clauses;
  size_t i = 0;
  for (const auto& [key, value] : tags) {
    ++i;
    std::string path = absl::StrCat("tags.", i, ".member.");
    if (key.empty()) {
      clauses.push_back(common::ConstraintClause(
          key, path + "key", "have length greater than or equal to 1"));
    } else if (Length(key) > kMaxKeyLength) {
      clauses.push_back(common::ConstraintClause(
          key, path + "key",
          absl::StrCat("have length less than or equal to ", kMaxKeyLength)));
    }
    if (Length(value) < min_value_length) {
      clauses.push_back(common::ConstraintClause(
          value, path + "value",
          absl::StrCat("have length greater than or equal to ",
                       min_value_length)));
    } else if (Length(value) > kMaxValueLength) {
      clauses.push_back(common::ConstraintClause(
          value, path + "value",
          absl::StrCat("have length less than or equal to ", kMaxValueLength)));
    }
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);
  if (tags.size() > kMaxTagsPerResource) {
    return common::ValidationError(
        absl::StrCat("A resource can have at most ", kMaxTagsPerResource,
                     " tags; the request has ", tags.size(), "."));
  }
  return absl::OkStatus();
}

absl::Status TagStore::ValidateKeys(const std::vector<std::string>& keys,
                                    absl::string_view path) {
  std::vector<std::string> clauses;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    std::string at = absl::StrCat(path, ".", i + 1, ".member");
    if (key.empty()) {
      clauses.push_back(common::ConstraintClause(
          key, at, "have length greater than or equal to 1"));
    } else if (Length(key) > kMaxKeyLength) {
      clauses.push_back(common::ConstraintClause(
          key, at,
          absl::StrCat("have length less than or equal to ", kMaxKeyLength)));
    }
  }
  if (!clauses.empty()) return common::ConstraintViolation(clauses);
  return absl::OkStatus();
}

absl::Status TagStore::Tag(absl::string_view arn,
                           const std::map<std::string, std::string>& tags) {
  EVBUS_RETURN_IF_ERROR(Validate(tags));
  absl::MutexLock lock(&mu_);
  EVBUS_ASSIGN_OR_RETURN(auto current, List(arn));
  for (const auto& [key, value] : tags) current[key] = value;
  if (current.size() > kMaxTagsPerResource) {
    return common::ValidationError(
        absl::StrCat("A resource can have at most ", kMaxTagsPerResource,
                     " tags; ", arn, " would have ", current.size(), "."));
  }
  return WriteLocked(arn, current);
}

absl::Status TagStore::Untag(absl::string_view arn,
                             const std::vector<std::string>& keys) {
  EVBUS_RETURN_IF_ERROR(ValidateKeys(keys, "tagKeys"));
  absl::MutexLock lock(&mu_);
  EVBUS_ASSIGN_OR_RETURN(auto current, List(arn));
  size_t before = current.size();
  for (const std::string& key : keys) current.erase(key);
  if (current.size() == before) return absl::OkStatus();
  return WriteLocked(arn, current);
}

absl::Status TagStore::Reset(absl::string_view arn,
                             const std::map<std::string, std::string>& tags) {
  EVBUS_RETURN_IF_ERROR(Validate(tags));
  absl::MutexLock lock(&mu_);
  return WriteLocked(arn, tags);
}

absl::StatusOr<std::map<std::string, std::string>> TagStore::FromJsonList(
    const common::Json& list, absl::string_view member) {
  std::map<std::string, std::string> tags;
  if (!list.is_array()) {
    return common::ValidationError(
        absl::StrCat(member, " must be a list of {Key, Value}."));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const common::Json& tag = list[i];
    const std::string at = absl::StrCat(member, "[", i, "]");
    if (!tag.is_object()) {
      return common::ValidationError(absl::StrCat(at, " must be an object."));
    }
    for (const char* field : {"Key", "Value"}) {
      auto it = tag.find(field);
      if (it == tag.end() || !it->is_string()) {
        return common::ValidationError(
            absl::StrCat(at, ".", field, " must be a string."));
      }
    }
    tags[tag["Key"].get<std::string>()] = tag["Value"].get<std::string>();
  }
  return tags;
}

absl::StatusOr<std::map<std::string, std::string>> TagStore::FromJsonMap(
    const common::Json& map, absl::string_view member) {
  std::map<std::string, std::string> tags;
  if (!map.is_object()) {
    return common::ValidationError(
        absl::StrCat(member, " must be a map of strings."));
  }
  for (const auto& [key, value] : map.items()) {
    if (!value.is_string()) {
      return common::ValidationError(
          absl::StrCat(member, ".", key, " must be a string."));
    }
    tags[key] = value.get<std::string>();
  }
  return tags;
}

common::Json TagStore::ToJsonList(
    const std::map<std::string, std::string>& tags) {
  common::Json out = common::Json::array();
  for (const auto& [key, value] : tags) {
    out.push_back({{"Key", key}, {"Value", value}});
  }
  return out;
}

absl::Status TagStore::WriteLocked(
    absl::string_view arn, const std::map<std::string, std::string>& tags) {
  storage::WriteBatch batch;
  if (tags.empty()) {
    batch.Delete(storage::Family::kCatalog, Key(arn));
  } else {
    common::Json doc = common::Json::object();
    for (const auto& [key, value] : tags) doc[key] = value;
    batch.Put(storage::Family::kCatalog, Key(arn), common::DumpJson(doc));
  }
  return store_.Write(batch, /*sync=*/true);
}

}  // namespace evbus::api::aws
