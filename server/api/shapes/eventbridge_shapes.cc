#include "server/api/shapes/eventbridge_shapes.h"

#include <cstdint>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace evbus::api::shapes {
namespace {

using common::Json;

// Applies the unknown-member policy to `key` of the object at `where`.
absl::Status Unknown(UnknownMembers unknown, absl::string_view where,
                     absl::string_view key,
                     const std::vector<std::string>& members) {
  if (unknown == UnknownMembers::kIgnore) return absl::OkStatus();
  return UnknownMemberError(where, key, members);
}

absl::Status ReadString(const Json& v, absl::string_view at, std::string* out) {
  if (!v.is_string()) return InvalidTypeError(at, "a string");
  *out = v.get<std::string>();
  return absl::OkStatus();
}

absl::StatusOr<int32_t> ReadInt32(const Json& v, absl::string_view at) {
  if (!v.is_number_integer()) return InvalidTypeError(at, "an integer");
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      return InvalidTypeError(at, "a 32-bit integer");
    }
    return static_cast<int32_t>(n);
  }
  int64_t n = v.get<int64_t>();
  if (n < std::numeric_limits<int32_t>::min() ||
      n > std::numeric_limits<int32_t>::max()) {
    return InvalidTypeError(at, "a 32-bit integer");
  }
  return static_cast<int32_t>(n);
}

absl::Status InputTransformerFromJson(const Json& v, const std::string& at,
                                      UnknownMembers unknown,
                                      evbus::v1::InputTransformer* it) {
  if (!v.is_object()) return InvalidTypeError(at, "an object");
  for (const auto& [key, member] : v.items()) {
    if (member.is_null()) continue;
    if (key == "InputTemplate") {
      EVBUS_RETURN_IF_ERROR(ReadString(member,
                                       absl::StrCat(at, ".InputTemplate"),
                                       it->mutable_input_template()));
    } else if (key == "InputPathsMap") {
      if (!member.is_object())
        return InvalidTypeError(absl::StrCat(at, ".InputPathsMap"), "a map");
      for (const auto& [name, path] : member.items()) {
        if (!path.is_string()) {
          return InvalidTypeError(absl::StrCat(at, ".InputPathsMap.", name),
                                  "a string");
        }
        (*it->mutable_input_paths_map())[name] = path.get<std::string>();
      }
    } else {
      EVBUS_RETURN_IF_ERROR(
          Unknown(unknown, at, key, {"InputPathsMap", "InputTemplate"}));
    }
  }
  return absl::OkStatus();
}

absl::Status RetryPolicyFromJson(const Json& v, const std::string& at,
                                 UnknownMembers unknown,
                                 evbus::v1::RetryPolicy* rp) {
  if (!v.is_object()) return InvalidTypeError(at, "an object");
  for (const auto& [key, member] : v.items()) {
    if (member.is_null()) continue;
    if (key == "MaximumRetryAttempts") {
      EVBUS_ASSIGN_OR_RETURN(int32_t n,
                             ReadInt32(member, absl::StrCat(at, ".", key)));
      rp->set_maximum_retry_attempts(n);
    } else if (key == "MaximumEventAgeInSeconds") {
      EVBUS_ASSIGN_OR_RETURN(int32_t n,
                             ReadInt32(member, absl::StrCat(at, ".", key)));
      rp->set_maximum_event_age_in_seconds(n);
    } else {
      EVBUS_RETURN_IF_ERROR(
          Unknown(unknown, at, key,
                  {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}));
    }
  }
  return absl::OkStatus();
}

absl::Status HttpParametersFromJson(const Json& v, const std::string& at,
                                    UnknownMembers unknown,
                                    evbus::v1::HttpParameters* hp) {
  if (!v.is_object()) return InvalidTypeError(at, "an object");
  for (const auto& [key, member] : v.items()) {
    if (member.is_null()) continue;
    if (key == "HeaderParameters" || key == "QueryStringParameters") {
      if (!member.is_object())
        return InvalidTypeError(absl::StrCat(at, ".", key), "a map");
      auto* m = key == "HeaderParameters"
                    ? hp->mutable_header_parameters()
                    : hp->mutable_query_string_parameters();
      for (const auto& [name, value] : member.items()) {
        if (!value.is_string()) {
          return InvalidTypeError(absl::StrCat(at, ".", key),
                                  "a map of strings");
        }
        (*m)[name] = value.get<std::string>();
      }
    } else if (key == "PathParameterValues") {
      if (!member.is_array())
        return InvalidTypeError(absl::StrCat(at, ".", key), "a list");
      for (const Json& p : member) {
        if (!p.is_string()) {
          return InvalidTypeError(absl::StrCat(at, ".", key),
                                  "a list of strings");
        }
        hp->add_path_parameter_values(p.get<std::string>());
      }
    } else {
      EVBUS_RETURN_IF_ERROR(Unknown(unknown, at, key,
                                    {"PathParameterValues", "HeaderParameters",
                                     "QueryStringParameters"}));
    }
  }
  return absl::OkStatus();
}

// A proto map as a JSON object with sorted keys (proto map order is
// unspecified).
Json SortedMap(const google::protobuf::Map<std::string, std::string>& m) {
  Json out = Json::object();
  for (const auto& [k, v] :
       std::map<std::string, std::string>(m.begin(), m.end())) {
    out[k] = v;
  }
  return out;
}

}  // namespace

absl::Status InvalidTypeError(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "Invalid type for parameter ", where, ", value must be ", what));
}

absl::Status UnknownMemberError(absl::string_view where, absl::string_view key,
                                const std::vector<std::string>& members) {
  return absl::InvalidArgumentError(
      absl::StrCat("Unknown parameter in ", where, ": \"", key,
                   "\", must be one of: ", absl::StrJoin(members, ", ")));
}

absl::StatusOr<evbus::v1::Target> TargetFromJson(const Json& json,
                                                 absl::string_view where,
                                                 UnknownMembers unknown) {
  if (!json.is_object()) return InvalidTypeError(where, "an object");
  evbus::v1::Target t;
  for (const auto& [key, v] : json.items()) {
    if (v.is_null()) continue;
    const std::string at = absl::StrCat(where, ".", key);
    if (key == "Id") {
      EVBUS_RETURN_IF_ERROR(ReadString(v, at, t.mutable_id()));
    } else if (key == "Arn") {
      EVBUS_RETURN_IF_ERROR(ReadString(v, at, t.mutable_arn()));
    } else if (key == "RoleArn") {
      EVBUS_RETURN_IF_ERROR(ReadString(v, at, t.mutable_role_arn()));
    } else if (key == "Input") {
      EVBUS_RETURN_IF_ERROR(ReadString(v, at, t.mutable_input()));
    } else if (key == "InputPath") {
      EVBUS_RETURN_IF_ERROR(ReadString(v, at, t.mutable_input_path()));
    } else if (key == "MaxConcurrency") {
      EVBUS_ASSIGN_OR_RETURN(int32_t n, ReadInt32(v, at));
      t.set_max_concurrency(n);
    } else if (key == "InvocationRateLimitPerSecond") {
      EVBUS_ASSIGN_OR_RETURN(int32_t n, ReadInt32(v, at));
      t.set_invocation_rate_limit_per_second(n);
    } else if (key == "InputTransformer") {
      EVBUS_RETURN_IF_ERROR(InputTransformerFromJson(
          v, at, unknown, t.mutable_input_transformer()));
    } else if (key == "RetryPolicy") {
      EVBUS_RETURN_IF_ERROR(
          RetryPolicyFromJson(v, at, unknown, t.mutable_retry_policy()));
    } else if (key == "DeadLetterConfig") {
      if (!v.is_object()) return InvalidTypeError(at, "an object");
      for (const auto& [k2, v2] : v.items()) {
        if (v2.is_null()) continue;
        if (k2 == "Arn") {
          EVBUS_RETURN_IF_ERROR(
              ReadString(v2, absl::StrCat(at, ".Arn"),
                         t.mutable_dead_letter_config()->mutable_arn()));
        } else {
          EVBUS_RETURN_IF_ERROR(Unknown(unknown, at, k2, {"Arn"}));
        }
      }
    } else if (key == "HttpParameters") {
      EVBUS_RETURN_IF_ERROR(
          HttpParametersFromJson(v, at, unknown, t.mutable_http_parameters()));
    } else {
      EVBUS_RETURN_IF_ERROR(Unknown(
          unknown, where, key,
          {"Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer",
           "RetryPolicy", "DeadLetterConfig", "HttpParameters",
           "MaxConcurrency", "InvocationRateLimitPerSecond"}));
    }
  }
  return t;
}

Json TargetToJson(const evbus::v1::Target& t) {
  Json out = Json::object();
  out["Id"] = t.id();
  out["Arn"] = t.arn();
  if (!t.role_arn().empty()) out["RoleArn"] = t.role_arn();
  if (!t.input().empty()) out["Input"] = t.input();
  if (!t.input_path().empty()) out["InputPath"] = t.input_path();
  if (t.has_input_transformer()) {
    Json it = Json::object();
    if (!t.input_transformer().input_paths_map().empty()) {
      it["InputPathsMap"] = SortedMap(t.input_transformer().input_paths_map());
    }
    it["InputTemplate"] = t.input_transformer().input_template();
    out["InputTransformer"] = std::move(it);
  }
  if (t.has_retry_policy()) {
    Json rp = Json::object();
    if (t.retry_policy().has_maximum_retry_attempts()) {
      rp["MaximumRetryAttempts"] = t.retry_policy().maximum_retry_attempts();
    }
    if (t.retry_policy().has_maximum_event_age_in_seconds()) {
      rp["MaximumEventAgeInSeconds"] =
          t.retry_policy().maximum_event_age_in_seconds();
    }
    out["RetryPolicy"] = std::move(rp);
  }
  if (!t.dead_letter_config().arn().empty()) {
    out["DeadLetterConfig"] = {{"Arn", t.dead_letter_config().arn()}};
  }
  const evbus::v1::HttpParameters& hp = t.http_parameters();
  Json http = Json::object();
  if (hp.path_parameter_values_size() > 0) {
    http["PathParameterValues"] = std::vector<std::string>(
        hp.path_parameter_values().begin(), hp.path_parameter_values().end());
  }
  if (hp.header_parameters_size() > 0) {
    http["HeaderParameters"] = SortedMap(hp.header_parameters());
  }
  if (hp.query_string_parameters_size() > 0) {
    http["QueryStringParameters"] = SortedMap(hp.query_string_parameters());
  }
  if (!http.empty()) out["HttpParameters"] = std::move(http);
  if (t.max_concurrency() > 0) out["MaxConcurrency"] = t.max_concurrency();
  if (t.invocation_rate_limit_per_second() > 0) {
    out["InvocationRateLimitPerSecond"] = t.invocation_rate_limit_per_second();
  }
  return out;
}

Json RuleToJson(const evbus::v1::Rule& r) {
  Json out = Json::object();
  out["Name"] = r.name();
  out["Arn"] = r.arn();
  if (!r.event_pattern().empty()) out["EventPattern"] = r.event_pattern();
  if (!r.schedule_expression().empty()) {
    out["ScheduleExpression"] = r.schedule_expression();
  }
  out["State"] = r.state();
  if (!r.description().empty()) out["Description"] = r.description();
  if (!r.role_arn().empty()) out["RoleArn"] = r.role_arn();
  if (!r.managed_by().empty()) out["ManagedBy"] = r.managed_by();
  out["EventBusName"] = r.event_bus_name();
  return out;
}

absl::Status ConnectionHttpParametersFromJson(
    const Json& json, absl::string_view where, UnknownMembers unknown,
    evbus::v1::ConnectionHttpParameters* out) {
  if (!json.is_object()) return InvalidTypeError(where, "an object");
  for (const auto& [k, v] : json.items()) {
    if (v.is_null()) continue;
    google::protobuf::RepeatedPtrField<evbus::v1::ConnectionHttpParameter>*
        list;
    if (k == "HeaderParameters") {
      list = out->mutable_header_parameters();
    } else if (k == "QueryStringParameters") {
      list = out->mutable_query_string_parameters();
    } else if (k == "BodyParameters") {
      list = out->mutable_body_parameters();
    } else {
      EVBUS_RETURN_IF_ERROR(Unknown(
          unknown, where, k,
          {"HeaderParameters", "QueryStringParameters", "BodyParameters"}));
      continue;
    }
    const std::string at = absl::StrCat(where, ".", k);
    if (!v.is_array()) return InvalidTypeError(at, "a list");
    for (const Json& p : v) {
      const auto key = p.is_object() ? p.find("Key") : p.end();
      if (!p.is_object() || key == p.end() || !key->is_string()) {
        return InvalidTypeError(at, "a list of {Key, Value, IsValueSecret}");
      }
      evbus::v1::ConnectionHttpParameter* kv = list->Add();
      kv->set_key(key->get<std::string>());
      if (auto value = p.find("Value"); value != p.end() && !value->is_null()) {
        if (!value->is_string())
          return InvalidTypeError(absl::StrCat(at, ".Value"), "a string");
        kv->set_value(value->get<std::string>());
      }
      if (auto secret = p.find("IsValueSecret");
          secret != p.end() && !secret->is_null()) {
        if (!secret->is_boolean()) {
          return InvalidTypeError(absl::StrCat(at, ".IsValueSecret"),
                                  "a boolean");
        }
        kv->set_is_value_secret(secret->get<bool>());
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ConnectionAuthFromJson(const Json& json, UnknownMembers unknown,
                                    evbus::v1::ConnectionAuthParameters* a) {
  const std::string where = "AuthParameters";
  if (!json.is_object()) return InvalidTypeError(where, "an object");
  // Reads the string members of `o` (an object at `at`) named in `fields`.
  auto strings =
      [unknown](const Json& o, const std::string& at,
                const std::vector<std::pair<std::string, std::string*>>& fields)
      -> absl::Status {
    if (!o.is_object()) return InvalidTypeError(at, "an object");
    for (const auto& [k, v] : o.items()) {
      if (v.is_null()) continue;
      bool known = false;
      for (const auto& [name, out] : fields) {
        if (k != name) continue;
        known = true;
        EVBUS_RETURN_IF_ERROR(ReadString(v, absl::StrCat(at, ".", k), out));
      }
      if (!known) {
        std::vector<std::string> names;
        names.reserve(fields.size());
        for (const auto& f : fields) names.push_back(f.first);
        EVBUS_RETURN_IF_ERROR(Unknown(unknown, at, k, names));
      }
    }
    return absl::OkStatus();
  };
  for (const auto& [k, v] : json.items()) {
    if (v.is_null()) continue;
    const std::string at = absl::StrCat(where, ".", k);
    if (k == "BasicAuthParameters") {
      auto* b = a->mutable_basic_auth_parameters();
      EVBUS_RETURN_IF_ERROR(strings(v, at,
                                    {{"Username", b->mutable_username()},
                                     {"Password", b->mutable_password()}}));
    } else if (k == "ApiKeyAuthParameters") {
      auto* key = a->mutable_api_key_auth_parameters();
      EVBUS_RETURN_IF_ERROR(
          strings(v, at,
                  {{"ApiKeyName", key->mutable_api_key_name()},
                   {"ApiKeyValue", key->mutable_api_key_value()}}));
    } else if (k == "OAuthParameters") {
      auto* o = a->mutable_oauth_parameters();
      if (!v.is_object()) return InvalidTypeError(at, "an object");
      for (const auto& [k2, v2] : v.items()) {
        if (v2.is_null()) continue;
        const std::string at2 = absl::StrCat(at, ".", k2);
        if (k2 == "ClientParameters") {
          EVBUS_RETURN_IF_ERROR(
              strings(v2, at2,
                      {{"ClientID", o->mutable_client_id()},
                       {"ClientSecret", o->mutable_client_secret()}}));
        } else if (k2 == "AuthorizationEndpoint") {
          EVBUS_RETURN_IF_ERROR(
              ReadString(v2, at2, o->mutable_authorization_endpoint()));
        } else if (k2 == "HttpMethod") {
          EVBUS_RETURN_IF_ERROR(ReadString(v2, at2, o->mutable_http_method()));
        } else if (k2 == "OAuthHttpParameters") {
          EVBUS_RETURN_IF_ERROR(ConnectionHttpParametersFromJson(
              v2, at2, unknown, o->mutable_oauth_http_parameters()));
        } else {
          EVBUS_RETURN_IF_ERROR(
              Unknown(unknown, at, k2,
                      {"ClientParameters", "AuthorizationEndpoint",
                       "HttpMethod", "OAuthHttpParameters"}));
        }
      }
    } else if (k == "InvocationHttpParameters") {
      EVBUS_RETURN_IF_ERROR(ConnectionHttpParametersFromJson(
          v, at, unknown, a->mutable_invocation_http_parameters()));
    } else {
      EVBUS_RETURN_IF_ERROR(
          Unknown(unknown, where, k,
                  {"BasicAuthParameters", "ApiKeyAuthParameters",
                   "OAuthParameters", "InvocationHttpParameters"}));
    }
  }
  return absl::OkStatus();
}

common::Json PutEventsResponseToJson(
    const evbus::v1::PutEventsResponse& response) {
  common::Json out = common::Json::object();
  out["FailedEntryCount"] = response.failed_entry_count();
  out["Entries"] = common::Json::array();
  for (const auto& e : response.entries()) {
    common::Json entry = common::Json::object();
    if (e.error_code().empty()) {
      entry["EventId"] = e.event_id();
    } else {
      entry["ErrorCode"] = e.error_code();
      entry["ErrorMessage"] = e.error_message();
    }
    out["Entries"].push_back(std::move(entry));
  }
  return out;
}

common::Json PutTargetsResponseToJson(
    const evbus::v1::PutTargetsResponse& response) {
  common::Json out = common::Json::object();
  out["FailedEntryCount"] = response.failed_entry_count();
  out["FailedEntries"] = common::Json::array();
  for (const auto& f : response.failed_entries()) {
    out["FailedEntries"].push_back({{"TargetId", f.target_id()},
                                    {"ErrorCode", f.error_code()},
                                    {"ErrorMessage", f.error_message()}});
  }
  return out;
}

common::Json ConnectionHttpParametersToJson(
    const evbus::v1::ConnectionHttpParameters& p) {
  common::Json out = common::Json::object();
  auto list = [&out](const char* name, const auto& params) {
    if (params.empty()) return;
    common::Json items = common::Json::array();
    for (const evbus::v1::ConnectionHttpParameter& kv : params) {
      common::Json item = common::Json::object();
      item["Key"] = kv.key();
      // Secret values are never returned (the registry redacts them too).
      if (!kv.is_value_secret()) item["Value"] = kv.value();
      item["IsValueSecret"] = kv.is_value_secret();
      items.push_back(std::move(item));
    }
    out[name] = std::move(items);
  };
  list("HeaderParameters", p.header_parameters());
  list("QueryStringParameters", p.query_string_parameters());
  list("BodyParameters", p.body_parameters());
  return out;
}

common::Json ConnectionAuthToJson(const evbus::v1::Connection& c) {
  const evbus::v1::ConnectionAuthParameters& a = c.auth_parameters();
  common::Json out = common::Json::object();
  if (c.authorization_type() == "BASIC") {
    out["BasicAuthParameters"] = {
        {"Username", a.basic_auth_parameters().username()}};
  } else if (c.authorization_type() == "API_KEY") {
    out["ApiKeyAuthParameters"] = {
        {"ApiKeyName", a.api_key_auth_parameters().api_key_name()}};
  } else if (c.authorization_type() == "OAUTH_CLIENT_CREDENTIALS") {
    const evbus::v1::OAuthParameters& o = a.oauth_parameters();
    common::Json oauth = common::Json::object();
    oauth["ClientParameters"] = {{"ClientID", o.client_id()}};
    oauth["AuthorizationEndpoint"] = o.authorization_endpoint();
    oauth["HttpMethod"] = o.http_method();
    common::Json params =
        ConnectionHttpParametersToJson(o.oauth_http_parameters());
    if (!params.empty()) oauth["OAuthHttpParameters"] = std::move(params);
    out["OAuthParameters"] = std::move(oauth);
  }
  common::Json invocation =
      ConnectionHttpParametersToJson(a.invocation_http_parameters());
  if (!invocation.empty()) {
    out["InvocationHttpParameters"] = std::move(invocation);
  }
  return out;
}

}  // namespace evbus::api::shapes
