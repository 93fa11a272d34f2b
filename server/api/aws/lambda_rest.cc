#include "server/api/aws/lambda_rest.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/aws/rest_tags.h"
#include "server/api/aws/scheduler_rest.h"
#include "server/api/shapes/function_shapes.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"

namespace evbus::api::aws {
namespace {

using common::Json;

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

AwsHttpResponse Error(const absl::Status& status) {
  AwsErrorInfo info = ErrorInfoOf(status);
  int http = RestStatusOf(status);
  if (info.code == "TooManyRequestsException") http = 429;
  if (info.code == "RequestTooLargeException") http = 413;
  if (info.code == "ServiceException") http = 500;
  if (info.code == "PreconditionFailedException") http = 412;
  AwsHttpResponse r = RestJsonError(http, info.code, info.message);
  if (http == 429) {
    r.headers.emplace_back("Retry-After", "1");
    common::Json body = *common::ParseJson(r.body);
    body["Reason"] = absl::StrContains(info.message, "Reserved")
                         ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                         : "ConcurrentInvocationLimitExceeded";
    body["message"] = "Rate Exceeded.";
    r.body = common::DumpJson(body);
  }
  return r;
}

AwsHttpResponse Ok(const Json& body, int status = 200) {
  AwsHttpResponse r;
  r.status = status;
  r.body = common::DumpJson(body);
  return r;
}

absl::Status TypeError(absl::string_view member, absl::string_view what) {
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "InvalidParameterValueException",
      absl::StrCat("Member ", member, " must be ", what, "."));
}

// Reads FunctionConfiguration members into `fn`; `mask` lists those given.
absl::Status ConfigFromJson(const Json& j, evbus::v1::Function& fn,
                            std::vector<std::string>& mask) {
  for (const auto& [k, v] : j.items()) {
    if (k == "Runtime" || k == "Handler" || k == "Description" ||
        k == "FunctionName" || k == "Role") {
      if (!v.is_string()) return TypeError(k, "a string");
      if (k == "Runtime") fn.set_runtime(v.get<std::string>());
      if (k == "Handler") fn.set_handler(v.get<std::string>());
      if (k == "Description") fn.set_description(v.get<std::string>());
      if (k == "FunctionName") fn.set_function_name(v.get<std::string>());
      if (k == "Role") {
        fn.set_role(v.get<std::string>());
        mask.push_back("role");
      }
      if (k == "Runtime") mask.push_back("runtime");
      if (k == "Handler") mask.push_back("handler");
      if (k == "Description") mask.push_back("description");
    } else if (k == "Timeout" || k == "MemorySize") {
      if (!v.is_number_integer()) return TypeError(k, "an integer");
      int64_t n = v.get<int64_t>();
      if (n < INT32_MIN || n > INT32_MAX) return TypeError(k, "an int32");
      // Given as 0 it is out of range, not absent (the service reads 0 as
      // "use the default").
      if (n == 0) {
        return common::ConstraintViolation({common::ConstraintClause(
            "0", k == "Timeout" ? "timeout" : "memorySize",
            k == "Timeout" ? "have value greater than or equal to 1"
                           : "have value greater than or equal to 128")});
      }
      if (k == "Timeout") {
        fn.set_timeout(static_cast<int32_t>(n));
        mask.push_back("timeout");
      } else {
        fn.set_memory_size(static_cast<int32_t>(n));
        mask.push_back("memory_size");
      }
    } else if (k == "Environment") {
      if (!v.is_object()) return TypeError(k, "an object");
      fn.clear_environment();
      if (v.contains("Variables")) {
        if (!v["Variables"].is_object()) {
          return TypeError("Environment.Variables", "an object");
        }
        for (const auto& [name, value] : v["Variables"].items()) {
          if (!value.is_string()) {
            return TypeError("Environment.Variables." + name, "a string");
          }
          (*fn.mutable_environment())[name] = value.get<std::string>();
        }
      }
      mask.push_back("environment");
    } else if (k == "DeadLetterConfig") {
      if (!v.is_object()) return TypeError(k, "an object");
      std::string arn;
      if (v.contains("TargetArn")) {
        if (!v["TargetArn"].is_string()) {
          return TypeError("DeadLetterConfig.TargetArn", "a string");
        }
        arn = v["TargetArn"].get<std::string>();
      }
      fn.set_dead_letter_target_arn(arn);
      mask.push_back("dead_letter_target_arn");
    }
    // Tags are read by CreateFunction. Other members (VpcConfig, Layers,
    // TracingConfig, Architectures, EphemeralStorage, PackageType, Publish,
    // ...) are accepted and ignored.
  }
  return absl::OkStatus();
}

// Publish: evbus keeps $LATEST only, so a request to publish a version is
// refused rather than answered with "$LATEST".
absl::Status CheckPublish(const Json& body) {
  if (!body.contains("Publish")) return absl::OkStatus();
  if (!body["Publish"].is_boolean()) return TypeError("Publish", "a boolean");
  if (!body["Publish"].get<bool>()) return absl::OkStatus();
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "InvalidParameterValueException",
      "Publish is not supported: evbus keeps $LATEST only (no versions).");
}

// RevisionId given: it must be the function's current one.
absl::Status CheckRevision(const Json& body, const evbus::v1::Function& fn) {
  if (!body.contains("RevisionId")) return absl::OkStatus();
  if (!body["RevisionId"].is_string())
    return TypeError("RevisionId", "a string");
  if (body["RevisionId"].get<std::string>() == shapes::RevisionIdOf(fn)) {
    return absl::OkStatus();
  }
  return common::AwsError(
      absl::StatusCode::kFailedPrecondition, "PreconditionFailedException",
      "The Revision Id provided does not match the latest Revision Id. Call "
      "the GetFunction/GetAlias API to retrieve the latest Revision Id");
}

absl::StatusOr<evbus::v1::FunctionCode> CodeFromJson(const Json& code) {
  if (!code.is_object()) return TypeError("Code", "an object");
  evbus::v1::FunctionCode out;
  if (code.contains("ZipFile")) {
    if (!code["ZipFile"].is_string())
      return TypeError("Code.ZipFile", "base64");
    std::string bytes;
    if (!absl::Base64Unescape(code["ZipFile"].get<std::string>(), &bytes)) {
      return TypeError("Code.ZipFile", "base64");
    }
    out.set_zip_file(std::move(bytes));
    return out;
  }
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "InvalidParameterValueException",
      "evbus takes function code as Code.ZipFile (S3 and images are not "
      "supported).");
}

absl::StatusOr<Json> Body(const AwsHttpRequest& request) {
  if (request.body.empty()) return Json::object();
  absl::StatusOr<Json> j = common::ParseJson(request.body, "request body");
  if (!j.ok() || !j->is_object()) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "InvalidRequestContentException",
                            "Could not parse request body into json");
  }
  return j;
}

AwsHttpResponse Invoke(const AwsHttpRequest& request, const std::string& name,
                       api::FunctionServiceImpl& functions) {
  // evbus has $LATEST only: another version or alias does not exist.
  std::string qualifier = request.Query("Qualifier");
  if (!qualifier.empty() && qualifier != "$LATEST") {
    evbus::v1::GetFunctionRequest get;
    get.set_function_name(name);
    evbus::v1::Function fn;
    grpc::ServerContext ctx;
    grpc::Status s = functions.GetFunction(&ctx, &get, &fn);
    if (!s.ok()) return Error(FromGrpc(s));
    return RestJsonError(404, "ResourceNotFoundException",
                         absl::StrCat("Function not found: ", fn.function_arn(),
                                      ":", qualifier));
  }
  evbus::v1::InvokeRequest req;
  req.set_function_name(name);
  req.set_payload(request.body);
  req.set_invocation_type(request.Header("x-amz-invocation-type"));
  req.set_log_type(request.Header("x-amz-log-type"));
  evbus::v1::InvokeResponse resp;
  grpc::ServerContext ctx;
  grpc::Status s = functions.Invoke(&ctx, &req, &resp);
  if (!s.ok()) return Error(FromGrpc(s));
  AwsHttpResponse r;
  r.status = resp.status_code();
  r.content_type = "application/json";
  r.body = resp.payload();
  r.headers.emplace_back("X-Amz-Executed-Version", "$LATEST");
  if (!resp.request_id().empty()) {
    r.headers.emplace_back("x-amzn-RequestId", resp.request_id());
  }
  if (!resp.function_error().empty()) {
    r.headers.emplace_back("X-Amz-Function-Error", resp.function_error());
  }
  if (!resp.log_result().empty()) {
    r.headers.emplace_back("X-Amz-Log-Result",
                           absl::Base64Escape(resp.log_result()));
  }
  return r;
}

constexpr absl::string_view kTagsPath = "/2017-03-31/tags/";
constexpr RestTagsShape kLambdaTags = {.tags_as_map = true,
                                       .keys_param = "tagKeys"};

AwsHttpResponse NoContent() {
  AwsHttpResponse r;
  r.status = 204;
  return r;
}

// TagResource, UntagResource and ListTags on /2017-03-31/tags/{ARN}: the
// resource is a function by ARN (evbus has no versions or aliases, and no
// other taggable Lambda resources).
AwsHttpResponse HandleTags(const AwsHttpRequest& request,
                           api::FunctionServiceImpl& functions,
                           TagStore& tags) {
  const std::string arn = request.path.substr(kTagsPath.size());
  // arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
  std::vector<std::string> parts = absl::StrSplit(arn, ':');
  const bool name_ok =
      parts.size() >= 7 && !parts[6].empty() &&
      std::all_of(parts[6].begin(), parts[6].end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_';
      });
  if (parts.size() < 7 || parts.size() > 8 || parts[0] != "arn" ||
      parts[2] != "lambda" || parts[5] != "function" || !name_ok) {
    return Error(common::ValidationError(absl::StrCat(
        "1 validation error detected: Value '", arn,
        "' at 'resource' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}"
        "((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:function:"
        "[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?")));
  }
  if (parts.size() == 8) {
    return Error(common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidParameterValueException",
        "Tags on function aliases and versions are not supported. Please "
        "specify a function ARN."));
  }
  evbus::v1::GetFunctionRequest get;
  get.set_function_name(parts[6]);
  evbus::v1::Function fn;
  grpc::ServerContext ctx;
  grpc::Status s = functions.GetFunction(&ctx, &get, &fn);
  // Another account, region or partition names another function.
  if (s.error_code() == grpc::StatusCode::NOT_FOUND ||
      (s.ok() && fn.function_arn() != arn)) {
    return Error(common::AwsError(absl::StatusCode::kNotFound,
                                  "ResourceNotFoundException",
                                  absl::StrCat("Function not found: ", arn)));
  }
  if (!s.ok()) return Error(FromGrpc(s));
  absl::StatusOr<std::optional<Json>> out = HandleRestTags(
      request, [&request] { return Body(request); }, fn.function_arn(), tags,
      kLambdaTags);
  if (!out.ok()) return Error(out.status());
  return out->has_value() ? Ok(**out) : NoContent();
}

}  // namespace

bool IsLambdaPath(absl::string_view path) {
  if (absl::StartsWith(path, kTagsPath)) return true;
  for (const char* prefix : {"/2015-03-31/functions", "/2017-10-31/functions",
                             "/2019-09-25/functions", "/2019-09-30/functions",
                             "/2014-11-13/functions"}) {
    if (absl::StartsWith(path, prefix)) return true;
  }
  return false;
}

AwsHttpResponse HandleLambda(const AwsHttpRequest& request,
                             api::FunctionServiceImpl& functions,
                             TagStore& tags) {
  if (absl::StartsWith(request.path, kTagsPath)) {
    return HandleTags(request, functions, tags);
  }
  std::vector<std::string> parts =
      absl::StrSplit(request.path.substr(1), '/', absl::SkipEmpty());
  // parts: version, "functions", [name, [sub]]
  const std::string& version = parts[0];
  const std::string& m = request.method;
  std::string name = parts.size() > 2 ? parts[2] : "";
  std::string sub = parts.size() > 3 ? parts[3] : "";
  grpc::ServerContext ctx;

  if (version == "2015-03-31" && parts.size() == 2) {
    if (m == "POST") {  // CreateFunction
      absl::StatusOr<Json> body = Body(request);
      if (!body.ok()) return Error(body.status());
      evbus::v1::CreateFunctionRequest req;
      std::vector<std::string> mask;
      absl::Status c = ConfigFromJson(*body, *req.mutable_function(), mask);
      if (!c.ok()) return Error(c);
      absl::Status publish = CheckPublish(*body);
      if (!publish.ok()) return Error(publish);
      // Required by the model, though evbus runs functions without a role
      // (the CLI and stack files may leave it out).
      if (!body->contains("Role")) {
        return Error(common::ValidationError(
            "1 validation error detected: Value null at 'role' failed to "
            "satisfy constraint: Member must not be null"));
      }
      if (!body->contains("Code")) {
        return Error(common::AwsError(absl::StatusCode::kInvalidArgument,
                                      "InvalidParameterValueException",
                                      "Code is required."));
      }
      // Not required by the model (image functions have neither), but by
      // the service for a .zip package, which is all evbus runs.
      auto given = [&body](const char* member) {
        return body->contains(member) && !(*body)[member].is_null();
      };
      if (!given("Runtime") || !given("Handler")) {
        return Error(common::AwsError(
            absl::StatusCode::kInvalidArgument,
            "InvalidParameterValueException",
            "Runtime and Handler are mandatory parameters for functions "
            "created with deployment packages."));
      }
      absl::StatusOr<evbus::v1::FunctionCode> code =
          CodeFromJson((*body)["Code"]);
      if (!code.ok()) return Error(code.status());
      *req.mutable_code() = *std::move(code);
      absl::StatusOr<std::map<std::string, std::string>> new_tags =
          CreateTags(*body, kLambdaTags);
      if (!new_tags.ok()) return Error(new_tags.status());
      evbus::v1::Function fn;
      grpc::Status s = functions.CreateFunction(&ctx, &req, &fn);
      if (!s.ok()) return Error(FromGrpc(s));
      absl::Status tagged = tags.Reset(fn.function_arn(), *new_tags);
      if (!tagged.ok()) return Error(tagged);
      return Ok(shapes::FunctionConfigurationToJson(fn), 201);
    }
    if (m == "GET") {  // ListFunctions
      evbus::v1::ListFunctionsRequest req;
      int max = 0;
      if (!request.Query("MaxItems").empty() &&
          (!absl::SimpleAtoi(request.Query("MaxItems"), &max) || max < 1 ||
           max > 10000)) {
        return Error(common::AwsError(absl::StatusCode::kInvalidArgument,
                                      "InvalidParameterValueException",
                                      "MaxItems must be between 1 and 10000"));
      }
      req.set_max_items(max);
      req.set_next_token(request.Query("Marker"));
      evbus::v1::ListFunctionsResponse resp;
      grpc::Status s = functions.ListFunctions(&ctx, &req, &resp);
      if (!s.ok()) return Error(FromGrpc(s));
      Json list = Json::array();
      for (const auto& fn : resp.functions())
        list.push_back(shapes::FunctionConfigurationToJson(fn));
      Json out = Json{{"Functions", list}};
      if (!resp.next_token().empty()) out["NextMarker"] = resp.next_token();
      return Ok(out);
    }
  }
  if (name.empty()) {
    return RestJsonError(
        404, "UnknownOperationException",
        absl::StrCat("No Lambda operation for ", m, " ", request.path));
  }
  auto get = [&](evbus::v1::Function* fn) {
    evbus::v1::GetFunctionRequest req;
    req.set_function_name(name);
    // Only $LATEST exists (GetFunction and the configuration calls take a
    // Qualifier; Invoke handles its own).
    const std::string qualifier = request.Query("Qualifier");
    if (!qualifier.empty() && qualifier != "$LATEST") {
      req.set_function_name(absl::StrCat(name, ":", qualifier));
    }
    return functions.GetFunction(&ctx, &req, fn);
  };
  auto update = [&](const evbus::v1::Function& changes,
                    const std::vector<std::string>& mask,
                    evbus::v1::Function* out) {
    evbus::v1::UpdateFunctionConfigurationRequest req;
    *req.mutable_function() = changes;
    req.mutable_function()->set_function_name(name);
    for (const std::string& f : mask) req.add_update_mask(f);
    return functions.UpdateFunctionConfiguration(&ctx, &req, out);
  };

  if (version == "2015-03-31" && sub.empty()) {
    if (m == "GET") {
      evbus::v1::Function fn;
      grpc::Status s = get(&fn);
      if (!s.ok()) return Error(FromGrpc(s));
      Json out = Json::object();
      out["Configuration"] = shapes::FunctionConfigurationToJson(fn);
      out["Code"] = Json{{"RepositoryType", "S3"}, {"Location", ""}};
      if (fn.has_reserved_concurrent_executions()) {
        out["Concurrency"] = Json{{"ReservedConcurrentExecutions",
                                   fn.reserved_concurrent_executions()}};
      }
      absl::StatusOr<std::map<std::string, std::string>> current =
          tags.List(fn.function_arn());
      if (!current.ok()) return Error(current.status());
      if (!current->empty()) {
        Json map = Json::object();
        for (const auto& [k, v] : *current) map[k] = v;
        out["Tags"] = map;
      }
      return Ok(out);
    }
    if (m == "DELETE") {
      evbus::v1::DeleteFunctionRequest req;
      req.set_function_name(name);
      evbus::v1::DeleteFunctionResponse resp;
      grpc::Status s = functions.DeleteFunction(&ctx, &req, &resp);
      if (!s.ok()) return Error(FromGrpc(s));
      AwsHttpResponse r;
      r.status = 204;
      return r;
    }
  }
  if (version == "2015-03-31" && sub == "configuration") {
    if (m == "GET") {
      evbus::v1::Function fn;
      grpc::Status s = get(&fn);
      if (!s.ok()) return Error(FromGrpc(s));
      return Ok(shapes::FunctionConfigurationToJson(fn));
    }
    if (m == "PUT") {
      absl::StatusOr<Json> body = Body(request);
      if (!body.ok()) return Error(body.status());
      evbus::v1::Function changes;
      std::vector<std::string> mask;
      absl::Status c = ConfigFromJson(*body, changes, mask);
      if (!c.ok()) return Error(c);
      evbus::v1::Function fn;
      grpc::Status s = get(&fn);
      if (!s.ok()) return Error(FromGrpc(s));
      absl::Status revision = CheckRevision(*body, fn);
      if (!revision.ok()) return Error(revision);
      if (!mask.empty()) s = update(changes, mask, &fn);
      if (!s.ok()) return Error(FromGrpc(s));
      return Ok(shapes::FunctionConfigurationToJson(fn));
    }
  }
  if (version == "2015-03-31" && sub == "code" && m == "PUT") {
    absl::StatusOr<Json> body = Body(request);
    if (!body.ok()) return Error(body.status());
    absl::StatusOr<evbus::v1::FunctionCode> code = CodeFromJson(*body);
    if (!code.ok()) return Error(code.status());
    if (body->contains("DryRun") && !(*body)["DryRun"].is_boolean()) {
      return Error(TypeError("DryRun", "a boolean"));
    }
    absl::Status publish = CheckPublish(*body);
    if (!publish.ok()) return Error(publish);
    if (body->contains("RevisionId")) {
      evbus::v1::Function current;
      grpc::Status got = get(&current);
      if (!got.ok()) return Error(FromGrpc(got));
      absl::Status revision = CheckRevision(*body, current);
      if (!revision.ok()) return Error(revision);
    }
    evbus::v1::UpdateFunctionCodeRequest req;
    req.set_function_name(name);
    *req.mutable_code() = *std::move(code);
    evbus::v1::Function fn;
    // DryRun: the request is checked, and the function must exist, but its
    // code is not changed.
    grpc::Status s = body->value("DryRun", false)
                         ? get(&fn)
                         : functions.UpdateFunctionCode(&ctx, &req, &fn);
    if (!s.ok()) return Error(FromGrpc(s));
    return Ok(shapes::FunctionConfigurationToJson(fn));
  }
  if ((version == "2015-03-31" && sub == "invocations" && m == "POST") ||
      (version == "2014-11-13" && sub == "invoke-async" && m == "POST")) {
    AwsHttpRequest r = request;
    if (version == "2014-11-13") r.headers["x-amz-invocation-type"] = "Event";
    return Invoke(r, name, functions);
  }
  if (sub == "concurrency" &&
      (version == "2017-10-31" || version == "2019-09-30")) {
    evbus::v1::Function fn;
    grpc::Status s;
    if (m == "PUT") {
      absl::StatusOr<Json> body = Body(request);
      if (!body.ok()) return Error(body.status());
      if (!body->contains("ReservedConcurrentExecutions") ||
          !(*body)["ReservedConcurrentExecutions"].is_number_integer()) {
        return Error(TypeError("ReservedConcurrentExecutions", "an integer"));
      }
      evbus::v1::Function changes;
      changes.set_reserved_concurrent_executions(
          (*body)["ReservedConcurrentExecutions"].get<int32_t>());
      s = update(changes, {"reserved_concurrent_executions"}, &fn);
    } else if (m == "DELETE") {
      s = update(evbus::v1::Function(), {"reserved_concurrent_executions"},
                 &fn);
      if (s.ok()) {
        AwsHttpResponse r;
        r.status = 204;
        return r;
      }
    } else {
      s = get(&fn);
    }
    if (!s.ok()) return Error(FromGrpc(s));
    Json out = Json::object();
    if (fn.has_reserved_concurrent_executions()) {
      out["ReservedConcurrentExecutions"] = fn.reserved_concurrent_executions();
    }
    return Ok(out);
  }
  if (version == "2019-09-25" && sub == "event-invoke-config") {
    evbus::v1::Function fn;
    grpc::Status s = get(&fn);
    if (!s.ok()) return Error(FromGrpc(s));
    // Get, Update and Delete need a configuration put before.
    if (m != "PUT" && !fn.has_event_invoke_config()) {
      return Error(common::AwsError(
          absl::StatusCode::kNotFound, "ResourceNotFoundException",
          absl::StrCat("The function ", fn.function_arn(),
                       ":$LATEST doesn't have an EventInvokeConfig")));
    }
    if (m == "DELETE") {
      s = update(evbus::v1::Function(), {"event_invoke_config"}, &fn);
      if (!s.ok()) return Error(FromGrpc(s));
      AwsHttpResponse r;
      r.status = 204;
      return r;
    }
    if (m == "PUT" || m == "POST") {
      absl::StatusOr<Json> body = Body(request);
      if (!body.ok()) return Error(body.status());
      evbus::v1::Function changes;
      auto* cfg = changes.mutable_event_invoke_config();
      // Put replaces the whole configuration (what is left out goes back to
      // its default); Update (POST) changes only the members given.
      if (m == "POST") *cfg = fn.event_invoke_config();
      if (body->contains("MaximumRetryAttempts")) {
        if (!(*body)["MaximumRetryAttempts"].is_number_integer()) {
          return Error(TypeError("MaximumRetryAttempts", "an integer"));
        }
        cfg->set_maximum_retry_attempts(
            (*body)["MaximumRetryAttempts"].get<int32_t>());
      }
      if (body->contains("MaximumEventAgeInSeconds")) {
        if (!(*body)["MaximumEventAgeInSeconds"].is_number_integer()) {
          return Error(TypeError("MaximumEventAgeInSeconds", "an integer"));
        }
        cfg->set_maximum_event_age_in_seconds(
            (*body)["MaximumEventAgeInSeconds"].get<int32_t>());
      }
      if (body->contains("DestinationConfig") &&
          (*body)["DestinationConfig"].is_object()) {
        const Json& d = (*body)["DestinationConfig"];
        auto dest = [&](const char* key) -> std::string {
          if (!d.contains(key) || !d[key].is_object()) return "";
          const Json& x = d[key];
          return x.contains("Destination") && x["Destination"].is_string()
                     ? x["Destination"].get<std::string>()
                     : "";
        };
        if (m == "PUT" || d.contains("OnFailure")) {
          cfg->set_on_failure_destination(dest("OnFailure"));
        }
        if (m == "PUT" || d.contains("OnSuccess")) {
          cfg->set_on_success_destination(dest("OnSuccess"));
        }
      }
      s = update(changes, {"event_invoke_config"}, &fn);
      if (!s.ok()) return Error(FromGrpc(s));
    }
    Json out = shapes::EventInvokeConfigToJson(fn);
    return Ok(out);
  }
  return RestJsonError(404, "UnknownOperationException",
                       absl::StrCat("evbus does not support the Lambda "
                                    "operation ",
                                    m, " ", request.path));
}

}  // namespace evbus::api::aws
