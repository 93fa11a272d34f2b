#include "server/api/aws/aws_http.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"

namespace evbus::api::aws {

std::string AwsHttpRequest::Query(absl::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return "";
}

std::string AwsHttpRequest::Header(absl::string_view name) const {
  auto it = headers.find(absl::AsciiStrToLower(name));
  return it == headers.end() ? "" : it->second;
}

AwsHttpResponse JsonError(int status, absl::string_view code,
                          absl::string_view message,
                          absl::string_view content_type,
                          bool query_compatible) {
  AwsHttpResponse r;
  r.status = status;
  r.content_type = std::string(content_type);
  common::Json body = common::Json::object();
  body["__type"] = std::string(code);
  body["message"] = std::string(message);
  r.body = common::DumpJson(body);
  r.headers.emplace_back("x-amzn-RequestId", common::NewUuidV4());
  if (query_compatible) {
    r.headers.emplace_back(
        "x-amzn-query-error",
        absl::StrCat(code, ";", status >= 500 ? "Receiver" : "Sender"));
  }
  return r;
}

AwsHttpResponse RestJsonError(int status, absl::string_view code,
                              absl::string_view message) {
  AwsHttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  common::Json body = common::Json::object();
  body["Type"] = "User";
  body["message"] = std::string(message);
  body["Message"] = std::string(message);
  r.body = common::DumpJson(body);
  r.headers.emplace_back("X-Amzn-ErrorType", std::string(code));
  r.headers.emplace_back("x-amzn-RequestId", common::NewUuidV4());
  return r;
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

AwsHttpResponse QueryError(int status, absl::string_view code,
                           absl::string_view message) {
  AwsHttpResponse r;
  r.status = status;
  r.content_type = "text/xml";
  r.body = absl::StrCat(
      "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
      "<Error><Type>",
      status >= 500 ? "Receiver" : "Sender", "</Type><Code>", XmlEscape(code),
      "</Code><Message>", XmlEscape(message), "</Message></Error><RequestId>",
      common::NewUuidV4(), "</RequestId></ErrorResponse>");
  return r;
}

AwsErrorInfo ErrorInfoOf(const absl::Status& status) {
  common::AwsErrorParts parts = common::SplitAwsError(status);
  AwsErrorInfo info;
  info.code = parts.exception;
  info.message = parts.message;
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      info.status = 500;
      break;
    default:
      info.status = 400;
  }
  return info;
}

}  // namespace evbus::api::aws
