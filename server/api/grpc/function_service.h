// File: server/api/grpc/function_service.h
//
// evbus.v1.FunctionService: Lambda's function API over gRPC, a thin layer
// over the FunctionRegistry (resources), the FunctionPool (synchronous
// runs) and the AsyncInvoker (queued runs).
//
// Thread safety: thread-safe (gRPC calls handlers concurrently).
#pragma once

#include "evbus/v1/function.grpc.pb.h"
#include "server/api/grpc/call_authorizer.h"
#include "server/functions/async_invoke.h"
#include "server/functions/function_pool.h"
#include "server/functions/function_registry.h"

namespace evbus::api {

class FunctionServiceImpl final : public evbus::v1::FunctionService::Service {
 public:
  FunctionServiceImpl(functions::FunctionRegistry& functions,
                      functions::FunctionPool& pool,
                      functions::AsyncInvoker& async)
      : functions_(functions), pool_(pool), async_(async) {}

  grpc::Status CreateFunction(grpc::ServerContext*,
                              const evbus::v1::CreateFunctionRequest* request,
                              evbus::v1::Function* response) override;
  grpc::Status UpdateFunctionCode(
      grpc::ServerContext*, const evbus::v1::UpdateFunctionCodeRequest* request,
      evbus::v1::Function* response) override;
  grpc::Status UpdateFunctionConfiguration(
      grpc::ServerContext*,
      const evbus::v1::UpdateFunctionConfigurationRequest* request,
      evbus::v1::Function* response) override;
  grpc::Status GetFunction(grpc::ServerContext*,
                           const evbus::v1::GetFunctionRequest* request,
                           evbus::v1::Function* response) override;
  grpc::Status ListFunctions(
      grpc::ServerContext*, const evbus::v1::ListFunctionsRequest* request,
      evbus::v1::ListFunctionsResponse* response) override;
  grpc::Status DeleteFunction(
      grpc::ServerContext*, const evbus::v1::DeleteFunctionRequest* request,
      evbus::v1::DeleteFunctionResponse* response) override;
  grpc::Status Invoke(grpc::ServerContext*,
                      const evbus::v1::InvokeRequest* request,
                      evbus::v1::InvokeResponse* response) override;

  // Every call must pass `authorizer` (which must outlive this service);
  // without one, every call is accepted.
  void SetAuthorizer(const CallAuthorizer* authorizer) {
    authorizer_ = authorizer;
  }

 private:
  const CallAuthorizer* authorizer_ = &CallAuthorizer::Open();
  functions::FunctionRegistry& functions_;
  functions::FunctionPool& pool_;
  functions::AsyncInvoker& async_;
};

}  // namespace evbus::api
