// File: server/api/aws/aws_endpoint.h
//
// AwsEndpoint: the AWS-compatible endpoint on evbusd's HTTP listener, so
// AWS SDKs and the aws CLI work with only an endpoint override. One port;
// each request is routed by what the SDKs send:
//
//   X-Amz-Target: AWSEvents.<Op>                   EventBridge (JSON 1.1)
//   X-Amz-Target: GraniteServiceVersion20100801.<Op>  CloudWatch (JSON 1.0)
//   /2015-03-31/functions..., /2017-10-31/...      Lambda (REST-JSON)
//   /schedules..., /schedule-groups...             Scheduler (REST-JSON)
//   form body Action=<Op>&Version=2010-03-31       SNS (query, XML)
//
// Anything else gets a clear UnknownOperationException-style error, never a
// hang or an empty 500. SigV4: accepted without verification by default
// (test-double mode); with access keys configured, the signature is
// verified (InvalidSignatureException / UnrecognizedClientException).
// Gzip bodies (Content-Encoding: gzip) are inflated first.
//
// Thread safety: thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/cloudwatch_service.h"
#include "server/api/grpc/event_bus_service.h"
#include "server/api/grpc/function_service.h"
#include "server/api/grpc/topic_service.h"

namespace httplib {
class Server;
}

namespace evbus::api::aws {

struct AwsBackends {
  api::EventBusServiceImpl* events = nullptr;
  api::FunctionServiceImpl* functions = nullptr;
  api::CloudWatchServiceImpl* cloudwatch = nullptr;
  api::TopicServiceImpl* topics = nullptr;
  TagStore* tags = nullptr;
};

struct AwsEndpointOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // Access key id → secret. Empty: signatures are not verified.
  std::map<std::string, std::string> credentials;
  // The certificate topics sign messages with (PEM), served at
  // /SimpleNotificationService-evbus.pem (the messages' SigningCertURL).
  // Called per request; null or empty: not served.
  std::function<std::string()> signing_cert_pem;
};

class AwsEndpoint {
 public:
  AwsEndpoint(AwsBackends backends, AwsEndpointOptions options)
      : backends_(backends), options_(std::move(options)) {}

  AwsHttpResponse Handle(const AwsHttpRequest& request,
                         const std::string& raw_target) const;

  // Adds catch-all routes (after the server's own) that call Handle.
  void Register(httplib::Server& server) const;

 private:
  AwsBackends backends_;
  const AwsEndpointOptions options_;
};

}  // namespace evbus::api::aws
