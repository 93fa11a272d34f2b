#include "server/api/grpc/function_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/api/grpc/status_conversion.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"

namespace evbus::api {
namespace {

// Lambda's largest payloads: 6 MB synchronous, 1 MB asynchronous.
constexpr size_t kMaxSyncPayload = 6 * 1024 * 1024;
constexpr size_t kMaxAsyncPayload = 1024 * 1024;

absl::Status RequestTooLarge(size_t size, size_t limit) {
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "RequestTooLargeException",
      absl::StrCat("Request must be smaller than ", limit,
                   " bytes for the InvokeFunction operation (was ", size, ")"));
}

}  // namespace

grpc::Status FunctionServiceImpl::CreateFunction(
    grpc::ServerContext* context,
    const evbus::v1::CreateFunctionRequest* request,
    evbus::v1::Function* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Function> fn =
      functions_.Create(request->function(), request->code());
  if (!fn.ok()) return ToGrpcStatus(fn.status());
  *response = *std::move(fn);
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::UpdateFunctionCode(
    grpc::ServerContext* context,
    const evbus::v1::UpdateFunctionCodeRequest* request,
    evbus::v1::Function* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Function> fn =
      functions_.UpdateCode(request->function_name(), request->code());
  if (!fn.ok()) return ToGrpcStatus(fn.status());
  *response = *std::move(fn);
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::UpdateFunctionConfiguration(
    grpc::ServerContext* context,
    const evbus::v1::UpdateFunctionConfigurationRequest* request,
    evbus::v1::Function* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  std::vector<std::string> mask(request->update_mask().begin(),
                                request->update_mask().end());
  absl::StatusOr<evbus::v1::Function> fn =
      functions_.UpdateConfiguration(request->function(), mask);
  if (!fn.ok()) return ToGrpcStatus(fn.status());
  *response = *std::move(fn);
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::GetFunction(
    grpc::ServerContext* context, const evbus::v1::GetFunctionRequest* request,
    evbus::v1::Function* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Function> fn =
      functions_.Get(request->function_name());
  if (!fn.ok()) return ToGrpcStatus(fn.status());
  *response = *std::move(fn);
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::ListFunctions(
    grpc::ServerContext* context,
    const evbus::v1::ListFunctionsRequest* request,
    evbus::v1::ListFunctionsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  if (request->max_items() < 0 || request->max_items() > 10000) {
    return ToGrpcStatus(common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat(request->max_items()), "maxItems",
        "have value less than or equal to 10000")}));
  }
  size_t limit = request->max_items() == 0
                     ? 50
                     : static_cast<size_t>(request->max_items());
  std::vector<evbus::v1::Function> all = functions_.List();
  size_t start = 0;
  if (!request->next_token().empty()) {
    // The token is the name to continue after.
    while (start < all.size() &&
           all[start].function_name() <= request->next_token()) {
      ++start;
    }
  }
  for (size_t i = start; i < all.size() && i < start + limit; ++i) {
    *response->add_functions() = all[i];
  }
  if (start + limit < all.size()) {
    response->set_next_token(all[start + limit - 1].function_name());
  }
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::DeleteFunction(
    grpc::ServerContext* context,
    const evbus::v1::DeleteFunctionRequest* request,
    evbus::v1::DeleteFunctionResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::Status deleted = functions_.Delete(request->function_name());
  if (!deleted.ok()) return ToGrpcStatus(deleted);
  return grpc::Status::OK;
}

grpc::Status FunctionServiceImpl::Invoke(
    grpc::ServerContext* context, const evbus::v1::InvokeRequest* request,
    evbus::v1::InvokeResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  const std::string& type = request->invocation_type().empty()
                                ? std::string("RequestResponse")
                                : request->invocation_type();
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    return ToGrpcStatus(common::ConstraintViolation({common::ConstraintClause(
        type, "invocationType",
        "satisfy enum value set: [Event, RequestResponse, DryRun]")}));
  }
  if (!request->log_type().empty() && request->log_type() != "None" &&
      request->log_type() != "Tail") {
    return ToGrpcStatus(common::ConstraintViolation(
        {common::ConstraintClause(request->log_type(), "logType",
                                  "satisfy enum value set: [None, Tail]")}));
  }
  std::string payload =
      request->payload().empty() ? std::string("{}") : request->payload();
  absl::StatusOr<common::Json> parsed = common::ParseJson(payload);
  if (!parsed.ok()) {
    return ToGrpcStatus(common::AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidRequestContentException",
        "Could not parse request body into json: Could not parse payload "
        "into json"));
  }
  absl::StatusOr<evbus::v1::Function> fn =
      functions_.Get(request->function_name());
  if (!fn.ok()) return ToGrpcStatus(fn.status());
  response->set_executed_version("$LATEST");
  if (type == "DryRun") {
    response->set_status_code(204);
    return grpc::Status::OK;
  }
  if (type == "Event") {
    if (payload.size() > kMaxAsyncPayload) {
      return ToGrpcStatus(RequestTooLarge(payload.size(), kMaxAsyncPayload));
    }
    absl::StatusOr<std::string> id =
        async_.Enqueue(fn->function_name(), std::move(payload));
    if (!id.ok()) return ToGrpcStatus(id.status());
    response->set_status_code(202);
    response->set_request_id(*id);
    return grpc::Status::OK;
  }
  if (payload.size() > kMaxSyncPayload) {
    return ToGrpcStatus(RequestTooLarge(payload.size(), kMaxSyncPayload));
  }
  functions::InvokeResult r =
      pool_.InvokeAndWait(fn->function_name(), std::move(payload));
  if (r.kind == functions::InvokeResult::Kind::kThrottled ||
      r.kind == functions::InvokeResult::Kind::kFailed) {
    return ToGrpcStatus(r.status);
  }
  response->set_status_code(200);
  response->set_function_error(r.function_error);
  response->set_payload(std::move(r.payload));
  response->set_request_id(r.request_id);
  if (request->log_type() == "Tail") response->set_log_result(r.log_tail);
  return grpc::Status::OK;
}

}  // namespace evbus::api
