#include "client/function_commands.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/command_support.h"
#include "evbus/v1/function.grpc.pb.h"
#include "server/api/shapes/function_shapes.h"
#include "server/functions/code_package.h"

namespace evbus::cli {
namespace {

using common::Json;

std::unique_ptr<evbus::v1::FunctionService::Stub> Functions(Context& ctx) {
  return evbus::v1::FunctionService::NewStub(ctx.Channel());
}

absl::StatusOr<std::string> ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Error parsing parameter: Unable to load paramfile ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --code DIR|FILE.zip or --zip-file fileb://FILE.zip.
absl::StatusOr<evbus::v1::FunctionCode> CodeOf(const Args& args) {
  evbus::v1::FunctionCode code;
  std::optional<std::string> dir = args.Get("code");
  std::optional<std::string> zip = args.Get("zip-file");
  if (dir.has_value() == zip.has_value()) {
    return absl::InvalidArgumentError(
        "give the function's code with --code DIR|FILE.zip or --zip-file "
        "fileb://FILE.zip");
  }
  std::string path = dir.value_or(zip.value_or(""));
  for (const char* prefix : {"fileb://", "file://"}) {
    if (absl::StartsWith(path, prefix)) path = path.substr(strlen(prefix));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    absl::StatusOr<std::vector<evbus::v1::CodeFile>> files =
        functions::ReadCodeDirectory(path);
    if (!files.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument --code: ", files.status().message()));
    }
    for (auto& f : *files) *code.add_files() = std::move(f);
    return code;
  }
  absl::StatusOr<std::string> bytes = ReadBinary(path);
  if (!bytes.ok()) return bytes.status();
  code.set_zip_file(*std::move(bytes));
  return code;
}

// --environment '{"Variables":{"k":"v"}}' (or a plain object), or the aws
// CLI shorthand Variables={k=v,k2=v2}.
absl::Status EnvironmentOf(const Args& args, evbus::v1::Function& fn) {
  std::optional<std::string> raw = args.Get("environment");
  if (!raw.has_value()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadValue(*raw);
  if (!text.ok()) return text.status();
  if (absl::StartsWith(*text, "Variables={") && absl::EndsWith(*text, "}")) {
    std::string body = text->substr(11, text->size() - 12);
    for (absl::string_view pair :
         absl::StrSplit(body, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      (*fn.mutable_environment())[kv.first] = kv.second;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Json> doc = common::ParseJson(*text, "--environment");
  if (!doc.ok() || !doc->is_object()) {
    return absl::InvalidArgumentError(
        "Error parsing parameter '--environment': expected "
        "{\"Variables\":{...}} or Variables={k=v,...}");
  }
  const Json& vars = doc->contains("Variables") ? (*doc)["Variables"] : *doc;
  if (!vars.is_object()) {
    return absl::InvalidArgumentError(
        "Error parsing parameter '--environment': Variables must be an "
        "object");
  }
  for (const auto& [k, v] : vars.items()) {
    (*fn.mutable_environment())[k] =
        v.is_string() ? v.get<std::string>() : common::DumpJson(v);
  }
  return absl::OkStatus();
}

// Configuration flags shared by create and update; `mask` lists the
// fields given.
absl::Status ConfigFromArgs(const Args& args, evbus::v1::Function& fn,
                            std::vector<std::string>& mask) {
  if (auto v = args.Get("runtime")) {
    fn.set_runtime(*v);
    mask.push_back("runtime");
  }
  if (auto v = args.Get("handler")) {
    fn.set_handler(*v);
    mask.push_back("handler");
  }
  if (auto v = args.Get("description")) {
    fn.set_description(*v);
    mask.push_back("description");
  }
  struct IntFlag {
    const char* flag;
    const char* field;
    int lo, hi;
  };
  for (const IntFlag& f :
       {IntFlag{"timeout", "timeout", -1000000, 1000000},
        IntFlag{"memory-size", "memory_size", -1000000, 1000000},
        IntFlag{"reserved-concurrency", "reserved_concurrent_executions", -1,
                100000},
        IntFlag{"maximum-retry-attempts", "event_invoke_config", -100, 100},
        IntFlag{"maximum-event-age-in-seconds", "event_invoke_config", -1000000,
                1000000}}) {
    if (!args.Has(f.flag)) continue;
    absl::StatusOr<int> n = ParseIntArg(args, f.flag, 0, f.lo, f.hi);
    if (!n.ok()) return n.status();
    std::string flag = f.flag;
    if (flag == "timeout") fn.set_timeout(*n);
    if (flag == "memory-size") fn.set_memory_size(*n);
    if (flag == "reserved-concurrency")
      fn.set_reserved_concurrent_executions(*n);
    if (flag == "maximum-retry-attempts") {
      fn.mutable_event_invoke_config()->set_maximum_retry_attempts(*n);
    }
    if (flag == "maximum-event-age-in-seconds") {
      fn.mutable_event_invoke_config()->set_maximum_event_age_in_seconds(*n);
    }
    if (std::find(mask.begin(), mask.end(), f.field) == mask.end()) {
      mask.push_back(f.field);
    }
  }
  if (args.Has("environment")) {
    absl::Status s = EnvironmentOf(args, fn);
    if (!s.ok()) return s;
    mask.push_back("environment");
  }
  if (args.Has("dead-letter-config")) {
    absl::StatusOr<Json> doc = ParseJsonArg(args, "dead-letter-config");
    if (!doc.ok()) return doc.status();
    if (!doc->is_object() ||
        (doc->contains("TargetArn") && !(*doc)["TargetArn"].is_string())) {
      return absl::InvalidArgumentError(
          "Error parsing parameter '--dead-letter-config': expected "
          "{\"TargetArn\":\"...\"}");
    }
    fn.set_dead_letter_target_arn(doc->value("TargetArn", ""));
    mask.push_back("dead_letter_target_arn");
  }
  if (args.Has("destination-config")) {
    absl::StatusOr<Json> doc = ParseJsonArg(args, "destination-config");
    if (!doc.ok()) return doc.status();
    auto destination = [&](const char* key) -> std::string {
      if (!doc->is_object() || !doc->contains(key)) return "";
      const Json& d = (*doc)[key];
      if (!d.is_object() || !d.contains("Destination") ||
          !d["Destination"].is_string()) {
        return "";
      }
      return d["Destination"].get<std::string>();
    };
    fn.mutable_event_invoke_config()->set_on_failure_destination(
        destination("OnFailure"));
    fn.mutable_event_invoke_config()->set_on_success_destination(
        destination("OnSuccess"));
    if (std::find(mask.begin(), mask.end(), "event_invoke_config") ==
        mask.end()) {
      mask.push_back("event_invoke_config");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> CreateFunction(const Args& args, Context& ctx) {
  evbus::v1::CreateFunctionRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> runtime = args.Required("runtime");
  if (!runtime.ok()) return runtime.status();
  evbus::v1::Function* fn = request.mutable_function();
  fn->set_function_name(*name);
  std::vector<std::string> mask;
  absl::Status s = ConfigFromArgs(args, *fn, mask);
  if (!s.ok()) return s;
  absl::StatusOr<evbus::v1::FunctionCode> code = CodeOf(args);
  if (!code.ok()) return code.status();
  *request.mutable_code() = *std::move(code);
  evbus::v1::Function response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Functions(ctx)->CreateFunction(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "CreateFunction", ctx.endpoint);
  return api::shapes::FunctionConfigurationToJson(response);
}

absl::StatusOr<Json> UpdateFunctionCode(const Args& args, Context& ctx) {
  evbus::v1::UpdateFunctionCodeRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  request.set_function_name(*name);
  absl::StatusOr<evbus::v1::FunctionCode> code = CodeOf(args);
  if (!code.ok()) return code.status();
  *request.mutable_code() = *std::move(code);
  evbus::v1::Function response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Functions(ctx)->UpdateFunctionCode(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "UpdateFunctionCode", ctx.endpoint);
  return api::shapes::FunctionConfigurationToJson(response);
}

absl::StatusOr<Json> UpdateConfiguration(const Args& args, Context& ctx,
                                         const char* op,
                                         std::vector<std::string> mask) {
  evbus::v1::UpdateFunctionConfigurationRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  request.mutable_function()->set_function_name(*name);
  absl::Status s = ConfigFromArgs(args, *request.mutable_function(), mask);
  if (!s.ok()) return s;
  if (args.Has("reserved-concurrent-executions")) {
    absl::StatusOr<int> n =
        ParseIntArg(args, "reserved-concurrent-executions", 0, 0, 100000);
    if (!n.ok()) return n.status();
    request.mutable_function()->set_reserved_concurrent_executions(*n);
  }
  if (mask.empty()) {
    return absl::InvalidArgumentError(
        "give at least one configuration flag to change");
  }
  for (const std::string& m : mask) request.add_update_mask(m);
  evbus::v1::Function response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Functions(ctx)->UpdateFunctionConfiguration(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, op, ctx.endpoint);
  if (std::string(op) == "PutFunctionConcurrency") {
    return Json{{"ReservedConcurrentExecutions",
                 response.reserved_concurrent_executions()}};
  }
  if (std::string(op) == "DeleteFunctionConcurrency") return Json();
  if (std::string(op) == "PutFunctionEventInvokeConfig") {
    Json out = api::shapes::EventInvokeConfigToJson(response);
    return out;
  }
  return api::shapes::FunctionConfigurationToJson(response);
}

absl::StatusOr<Json> GetFunction(const Args& args, Context& ctx) {
  evbus::v1::GetFunctionRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  request.set_function_name(*name);
  evbus::v1::Function response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Functions(ctx)->GetFunction(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "GetFunction", ctx.endpoint);
  Json out = Json::object();
  out["Configuration"] = api::shapes::FunctionConfigurationToJson(response);
  out["Code"] =
      Json{{"RepositoryType", "evbus"}, {"Location", "evbusd data directory"}};
  if (response.has_reserved_concurrent_executions()) {
    out["Concurrency"] = Json{{"ReservedConcurrentExecutions",
                               response.reserved_concurrent_executions()}};
  }
  return out;
}

absl::StatusOr<Json> ListFunctions(const Args& args, Context& ctx) {
  absl::StatusOr<int> max_items =
      ParseIntArg(args, "max-items", 10000, 1, 10000);
  if (!max_items.ok()) return max_items.status();
  evbus::v1::ListFunctionsRequest request;
  if (auto m = args.Get("marker")) request.set_next_token(*m);
  Json list = Json::array();
  std::string next;
  do {
    request.set_max_items(
        std::min(50, *max_items - static_cast<int>(list.size())));
    evbus::v1::ListFunctionsResponse response;
    auto c = NewContext(ctx);
    grpc::Status rpc =
        Functions(ctx)->ListFunctions(c.get(), request, &response);
    if (!rpc.ok()) return RpcError(rpc, "ListFunctions", ctx.endpoint);
    for (const auto& fn : response.functions()) {
      list.push_back(api::shapes::FunctionConfigurationToJson(fn));
    }
    next = response.next_token();
    request.set_next_token(next);
  } while (!next.empty() && static_cast<int>(list.size()) < *max_items);
  Json out = Json::object();
  out["Functions"] = list;
  if (!next.empty()) out["NextMarker"] = next;
  return out;
}

absl::StatusOr<Json> DeleteFunction(const Args& args, Context& ctx) {
  evbus::v1::DeleteFunctionRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  request.set_function_name(*name);
  evbus::v1::DeleteFunctionResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Functions(ctx)->DeleteFunction(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "DeleteFunction", ctx.endpoint);
  return Json();
}

// `evbus invoke --function-name N [--payload JSON|file://F]
// [--invocation-type T] [--log-type Tail] OUTFILE`: like the aws CLI,
// writes the response payload to OUTFILE and prints the metadata.
absl::StatusOr<Json> Invoke(const Args& args, Context& ctx) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.size() != 1) {
    return absl::InvalidArgumentError(
        "the following arguments are required: outfile");
  }
  evbus::v1::InvokeRequest request;
  absl::StatusOr<std::string> name = args.Required("function-name");
  if (!name.ok()) return name.status();
  request.set_function_name(*name);
  if (auto p = args.Get("payload")) {
    absl::StatusOr<std::string> text = ReadValue(*p);
    if (!text.ok()) return text.status();
    request.set_payload(*text);
  }
  request.set_invocation_type(args.Get("invocation-type").value_or(""));
  request.set_log_type(args.Get("log-type").value_or(""));
  evbus::v1::InvokeResponse response;
  auto c = NewContext(ctx);
  // A synchronous run may take the function's whole timeout (900 s).
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(960));
  grpc::Status rpc = Functions(ctx)->Invoke(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "Invoke", ctx.endpoint);
  if (pos[0] == "-") {
    std::fwrite(response.payload().data(), 1, response.payload().size(),
                stdout);
    std::fputc('\n', stdout);
  } else {
    std::ofstream out(pos[0], std::ios::binary | std::ios::trunc);
    out << response.payload();
    if (!out) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write ", pos[0]));
    }
  }
  Json meta = Json::object();
  meta["StatusCode"] = response.status_code();
  if (!response.function_error().empty()) {
    meta["FunctionError"] = response.function_error();
  }
  if (!response.log_result().empty()) {
    meta["LogResult"] = absl::Base64Escape(response.log_result());
  }
  meta["ExecutedVersion"] = response.executed_version();
  return meta;
}

const std::set<std::string> kConfigFlags = {"runtime",
                                            "handler",
                                            "description",
                                            "timeout",
                                            "memory-size",
                                            "reserved-concurrency",
                                            "environment",
                                            "dead-letter-config",
                                            "role",
                                            "maximum-retry-attempts",
                                            "maximum-event-age-in-seconds",
                                            "destination-config"};

std::set<std::string> With(std::set<std::string> a,
                           std::initializer_list<const char*> more) {
  for (const char* m : more) a.insert(m);
  return a;
}

}  // namespace

std::vector<Command> FunctionCommands() {
  return {
      {"create-function",
       "--function-name N --runtime python3|nodejs20.x|provided --handler "
       "file.func --code DIR|FILE.zip [--environment JSON] [--timeout S] "
       "[--memory-size MB] [--reserved-concurrency K] [--description D]",
       With(kConfigFlags, {"function-name", "code", "zip-file"}),
       {},
       CreateFunction},
      {"update-function-code",
       "--function-name N --code DIR|FILE.zip",
       {"function-name", "code", "zip-file"},
       {},
       UpdateFunctionCode},
      {"update-function-configuration",
       "--function-name N [--timeout S] [--memory-size MB] [--environment "
       "JSON] [--handler H] [--runtime R] [--reserved-concurrency K] ...",
       With(kConfigFlags, {"function-name"}),
       {},
       [](const Args& a, Context& c) {
         return UpdateConfiguration(a, c, "UpdateFunctionConfiguration", {});
       }},
      {"put-function-concurrency",
       "--function-name N --reserved-concurrent-executions K",
       {"function-name", "reserved-concurrent-executions"},
       {},
       [](const Args& a, Context& c) -> absl::StatusOr<Json> {
         if (!a.Has("reserved-concurrent-executions")) {
           return absl::InvalidArgumentError(
               "the following arguments are required: "
               "--reserved-concurrent-executions");
         }
         return UpdateConfiguration(a, c, "PutFunctionConcurrency",
                                    {"reserved_concurrent_executions"});
       }},
      {"delete-function-concurrency",
       "--function-name N",
       {"function-name"},
       {},
       [](const Args& a, Context& c) {
         return UpdateConfiguration(a, c, "DeleteFunctionConcurrency",
                                    {"reserved_concurrent_executions"});
       }},
      {"put-function-event-invoke-config",
       "--function-name N [--maximum-retry-attempts 0..2] "
       "[--maximum-event-age-in-seconds 60..21600] [--destination-config "
       "JSON]",
       {"function-name", "maximum-retry-attempts",
        "maximum-event-age-in-seconds", "destination-config"},
       {},
       [](const Args& a, Context& c) {
         return UpdateConfiguration(a, c, "PutFunctionEventInvokeConfig", {});
       }},
      {"get-function", "--function-name N", {"function-name"}, {}, GetFunction},
      {"list-functions",
       "[--max-items N] [--marker M]",
       {"max-items", "marker"},
       {},
       ListFunctions},
      {"delete-function",
       "--function-name N",
       {"function-name"},
       {},
       DeleteFunction},
      {"invoke",
       "--function-name N [--payload JSON|file://F] [--invocation-type "
       "RequestResponse|Event|DryRun] [--log-type Tail] OUTFILE|-",
       {"function-name", "payload", "invocation-type", "log-type",
        "cli-binary-format"},
       {},
       Invoke},
  };
}

}  // namespace evbus::cli
