// File: server/api/aws/aws_http.h
//
// The request and response of the AWS-compatible endpoint (one HTTP
// listener; routed by X-Amz-Target, path or Action — aws_endpoint.h), and
// the error shapes of each AWS wire protocol. Pure; thread-safe.
//
//   AwsHttpRequest req{.method = "POST", .path = "/", .headers = {...},
//                      .body = R"({"Name":"orders"})"};
//   AwsHttpResponse r = Json11Error(400, "ResourceNotFoundException", "...");
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evbus::api::aws {

struct AwsHttpRequest {
  std::string method;  // GET, POST, PUT, DELETE
  std::string path;    // URL-decoded path, without the query string
  // Query parameters, URL-decoded, in order (a key may repeat).
  std::vector<std::pair<std::string, std::string>> query;
  // Header names lower-cased.
  std::map<std::string, std::string> headers;
  std::string body;  // already gunzipped when Content-Encoding: gzip

  // The first value of query parameter `key`, or "".
  std::string Query(absl::string_view key) const;
  // The header (lower-case name), or "".
  std::string Header(absl::string_view name) const;
};

struct AwsHttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Who is calling, from the SigV4 credential scope (defaults when unsigned).
struct AwsCaller {
  std::string access_key_id;
  std::string region;   // the credential's region (ARNs use it)
  std::string account;  // the daemon's account
};

// AWS JSON 1.1 / 1.0 error: {"__type":"<code>","message":"<text>"}.
// `query_compatible` adds CloudWatch's x-amzn-query-error header.
AwsHttpResponse JsonError(int status, absl::string_view code,
                          absl::string_view message,
                          absl::string_view content_type,
                          bool query_compatible = false);

// restJson1 error (Lambda, Scheduler): X-Amzn-ErrorType header and
// {"Type":"User","message":..,"Message":..}.
AwsHttpResponse RestJsonError(int status, absl::string_view code,
                              absl::string_view message);

// awsQuery error (SNS): <ErrorResponse><Error><Type>Sender</Type><Code>..
// </Code><Message>..</Message></Error><RequestId>..</RequestId>
// </ErrorResponse>.
AwsHttpResponse QueryError(int status, absl::string_view code,
                           absl::string_view message);

// The AWS exception name and message of an absl::Status produced by evbus
// (the message starts with "<Exception>: "), and the HTTP status AWS uses
// for that kind of failure in a JSON-RPC protocol (400 for client errors,
// 500 for internal ones).
struct AwsErrorInfo {
  std::string code;
  std::string message;
  int status = 400;
};
AwsErrorInfo ErrorInfoOf(const absl::Status& status);

// XML text escaping (&, <, >, ", ').
std::string XmlEscape(absl::string_view text);

}  // namespace evbus::api::aws
