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
// Gzip bodies (Content-Encoding: gzip) are inflated first, never beyond the
// protocol's body limit (AwsEndpointOptions); an over-limit request gets the
// protocol's error (413, or SNS's InvalidParameter "Message too long"), and
// a POST without Content-Length or chunked encoding has an empty body
// (RFC 9112 §6.3) instead of being read until the client gives up.
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"
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
  // The Token unsubscribe links carry (topics::MessageSigner::LinkToken of
  // topics::UnsubscribeLinkSubject(arn)). With `credentials`, an unsigned
  // GET Action=Unsubscribe or /unsubscribe.html needs it: the subscription
  // ARN alone shows in /metrics. Null: such GETs need a signature.
  std::function<std::string(absl::string_view)> link_token;

  // Largest request body each protocol takes, counted after cpp-httplib
  // undoes Content-Encoding (gzip, deflate, br). A body announced larger
  // (Content-Length) is answered without being read; one that grows larger
  // while it is read or inflated is answered as soon as it passes the limit,
  // so a small gzip body never inflates to more than the limit.
  // EventBridge (JSON 1.1), Scheduler and anything unrecognised. Default:
  // 1 MiB (evbusd: 4 × --max-request-bytes, at least 1 MiB, since escaping
  // in the request JSON can double the entries' size).
  size_t max_json_body_bytes = 1 << 20;
  // CloudWatch (JSON 1.0): PutMetricData's limit of 1 MB. Default: 1 MiB.
  size_t max_cloudwatch_body_bytes = 1 << 20;
  // SNS (query, form-encoded): a 256 KB message and its attributes, URL
  // encoding tripling a byte at most. Default: 1 MiB.
  size_t max_query_body_bytes = 1 << 20;
  // Lambda (REST-JSON): CreateFunction with a 50 MB .zip in base64, AWS's
  // own request limit. Default: 69,905,067.
  size_t max_lambda_body_bytes = 69905067;
  // A request body must arrive within `body_timeout`, extended by a second
  // for every `body_min_bytes_per_second` bytes received (Apache
  // mod_reqtimeout's body=20,MinRate=500): a client trickling its body holds
  // its connection thread no longer ("slow POST"). A body beyond it is
  // answered 408 RequestTimeoutException and the connection closed.
  // Zero `body_timeout`: no limit. Defaults: 20 s, 500 bytes/s (a 50 MB
  // upload may take up to ~28 hours; a 1 KB body, 22 s).
  absl::Duration body_timeout = absl::Seconds(20);
  double body_min_bytes_per_second = 500;
};

class AwsEndpoint {
 public:
  AwsEndpoint(AwsBackends backends, AwsEndpointOptions options)
      : backends_(backends), options_(std::move(options)) {}

  AwsHttpResponse Handle(const AwsHttpRequest& request,
                         const std::string& raw_target) const;

  // Adds catch-all routes (after the server's own) that call Handle; POST,
  // PUT and DELETE bodies are read by the route, within the body limit. Also
  // sets the server's error handler, so that errors cpp-httplib answers
  // itself (a malformed request line, a URI over 8 KiB, an unknown
  // Content-Encoding) carry the protocol's error body.
  void Register(httplib::Server& server) const;

  // The body limit and the answer for a body over it, by the protocol the
  // request's method, path and headers select (its body is not looked at).
  size_t BodyLimit(const AwsHttpRequest& request) const;
  AwsHttpResponse BodyTooLarge(const AwsHttpRequest& request) const;

 private:
  AwsBackends backends_;
  const AwsEndpointOptions options_;
};

}  // namespace evbus::api::aws
