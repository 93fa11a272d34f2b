#include "server/api/aws/aws_endpoint.h"

#include <openssl/crypto.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "server/api/aws/cloudwatch_json.h"
#include "server/api/aws/eventbridge_json.h"
#include "server/api/aws/lambda_rest.h"
#include "server/api/aws/scheduler_rest.h"
#include "server/api/aws/sigv4.h"
#include "server/api/aws/sns_query.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/topics/sns_messages.h"

namespace evbus::api::aws {
namespace {

enum class Protocol { kJson11, kJson10, kRestJson, kQuery, kUnknown };

constexpr char kEventsPrefix[] = "AWSEvents.";
constexpr char kCloudWatchPrefix[] = "GraniteServiceVersion20100801.";

AwsHttpResponse ErrorFor(Protocol p, int status, absl::string_view code,
                         absl::string_view message) {
  switch (p) {
    case Protocol::kJson11:
      return JsonError(status, code, message, "application/x-amz-json-1.1");
    case Protocol::kJson10:
      return JsonError(status, code, message, "application/x-amz-json-1.0",
                       /*query_compatible=*/true);
    case Protocol::kQuery:
      return QueryError(status, code, message);
    case Protocol::kRestJson:
    case Protocol::kUnknown:
      return RestJsonError(status, code, message);
  }
  return RestJsonError(status, code, message);
}

// Inflates a gzip body, stopping with ResourceExhausted once more than
// `limit` bytes came out.
absl::StatusOr<std::string> Gunzip(absl::string_view in, size_t limit) {
  std::string out;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    return absl::InvalidArgumentError("zlib");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > limit) {
      inflateEnd(&z);
      return absl::ResourceExhaustedError("the inflated body is too large");
    }
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError("the gzip body is not valid");
  }
  return out;
}

std::string NewRequestId() { return common::NewUuidV4(); }

// The service name a signature for `protocol` is scoped to.
absl::string_view ServiceOf(const AwsHttpRequest& request, Protocol protocol) {
  switch (protocol) {
    case Protocol::kJson11:
      return "events";
    case Protocol::kJson10:
      return "monitoring";
    case Protocol::kQuery:
      return "sns";
    case Protocol::kRestJson:
      return IsLambdaPath(request.path) ? "lambda" : "scheduler";
    case Protocol::kUnknown:
      break;
  }
  return "";
}

// What VerifySigV4 does not check (AWS does): the request was signed within
// 15 minutes of now (real time, whatever clock evbusd gives events), on the
// day its credential scope names, for the service it is sent to, and with
// Host, X-Amz-Date and the X-Amz-* headers that steer it among the signed
// headers (else an unsigned X-Amz-Target could switch the operation).
absl::Status CheckSignatureScope(const AwsHttpRequest& request,
                                 const SigV4Credential& cred,
                                 Protocol protocol) {
  const std::string amz_date = request.Header("x-amz-date");
  for (absl::string_view required :
       {"host", "x-amz-date", "x-amz-target", "x-amz-content-sha256",
        "x-amz-security-token"}) {
    if ((required == "host" || required == "x-amz-date" ||
         !request.Header(required).empty()) &&
        std::find(cred.signed_headers.begin(), cred.signed_headers.end(),
                  required) == cred.signed_headers.end()) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "IncompleteSignatureException",
          absl::StrCat("'", required,
                       "' must be a 'SignedHeader' in the AWS Authorization."));
    }
  }
  // YYYYMMDDTHHMMSSZ (absl's %Y would take all eight digits as the year).
  absl::Time signed_at;
  int f[6] = {};
  bool parsed =
      amz_date.size() == 16 && amz_date[8] == 'T' && amz_date[15] == 'Z';
  for (int i = 0, at = 0; parsed && i < 6; ++i) {
    const int width = i == 0 ? 4 : 2;
    parsed =
        absl::SimpleAtoi(absl::string_view(amz_date).substr(at, width), &f[i]);
    at += width + (i == 2 ? 1 : 0);
  }
  if (parsed) {
    signed_at =
        absl::FromCivil(absl::CivilSecond(f[0], f[1], f[2], f[3], f[4], f[5]),
                        absl::UTCTimeZone());
  }
  if (!parsed || amz_date.substr(0, 8) != cred.date) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "IncompleteSignatureException",
        absl::StrCat("Date must be in ISO-8601 'basic format' (",
                     "YYYYMMDD'T'HHMMSS'Z') and match the credential scope: '",
                     amz_date, "'"));
  }
  const absl::Time now = absl::Now();
  const absl::Duration skew = absl::Minutes(15);
  auto basic = [](absl::Time t) {
    return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone());
  };
  if (signed_at < now - skew) {
    return common::AwsError(
        absl::StatusCode::kPermissionDenied, "InvalidSignatureException",
        absl::StrCat("Signature expired: ", amz_date, " is now earlier than ",
                     basic(now - skew), " (", basic(now), " - 15 min.)"));
  }
  if (signed_at > now + skew) {
    return common::AwsError(
        absl::StatusCode::kPermissionDenied, "InvalidSignatureException",
        absl::StrCat("Signature not yet current: ", amz_date,
                     " is still later than ", basic(now + skew), " (",
                     basic(now), " + 15 min.)"));
  }
  const absl::string_view service = ServiceOf(request, protocol);
  if (!service.empty() && cred.service != service) {
    return common::AwsError(
        absl::StatusCode::kPermissionDenied, "InvalidSignatureException",
        absl::StrCat("Credential should be scoped to correct service: '",
                     service, "'. "));
  }
  return absl::OkStatus();
}

// Whether `token` is the link token of unsubscribing `subscription_arn`
// (constant time).
bool ValidLinkToken(
    const std::function<std::string(absl::string_view)>& link_token,
    absl::string_view subscription_arn, absl::string_view token) {
  if (link_token == nullptr || token.empty()) return false;
  const std::string want =
      link_token(topics::UnsubscribeLinkSubject(subscription_arn));
  return !want.empty() && want.size() == token.size() &&
         CRYPTO_memcmp(want.data(), token.data(), want.size()) == 0;
}

// GET of an SNS SubscribeURL (Action=ConfirmSubscription alone), whose
// Token authorises it as on AWS, or of an UnsubscribeURL (Action=Unsubscribe
// alone) carrying the link token evbusd put in it: it needs no signature.
// (On AWS the subscription ARN alone authorises unsubscribing; here it
// shows in /metrics, so the link carries a token. SNS's
// AuthenticateOnUnsubscribe is not kept.)
bool IsSubscriptionLink(
    const AwsHttpRequest& request, Protocol protocol,
    const std::function<std::string(absl::string_view)>& link_token) {
  if (protocol != Protocol::kQuery || request.method != "GET") return false;
  int actions = 0;
  std::string action, arn, token;
  for (const auto& [k, v] : request.query) {
    if (k == "Action") {
      action = v;
      ++actions;
    }
    if (k == "SubscriptionArn") arn = v;
    if (k == "Token") token = v;
  }
  if (actions != 1) return false;
  if (action == "ConfirmSubscription") return true;
  return action == "Unsubscribe" && ValidLinkToken(link_token, arn, token);
}

// The protocol a request speaks, from its method, path and headers.
Protocol ProtocolOf(const AwsHttpRequest& request) {
  std::string target = request.Header("x-amz-target");
  if (absl::StartsWith(target, kEventsPrefix)) return Protocol::kJson11;
  if (absl::StartsWith(target, kCloudWatchPrefix)) return Protocol::kJson10;
  if (IsLambdaPath(request.path) || IsSchedulerPath(request.path)) {
    return Protocol::kRestJson;
  }
  if ((request.method == "POST" &&
       absl::StartsWith(request.Header("content-type"),
                        "application/x-www-form-urlencoded")) ||
      (request.method == "GET" && !request.Query("Action").empty())) {
    // GET with ?Action=...: SNS's SubscribeURL (ConfirmSubscription).
    return Protocol::kQuery;
  }
  return Protocol::kUnknown;
}

// The request as Handle sees it, without its body.
AwsHttpRequest RequestHead(const httplib::Request& req) {
  AwsHttpRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
  for (const auto& [k, v] : req.headers) {
    r.headers[absl::AsciiStrToLower(k)] = v;
  }
  return r;
}

void WriteResponse(AwsHttpResponse out, httplib::Response& res) {
  // Every answer carries a request id (the SDKs' $metadata.requestId).
  bool has_id = false;
  for (const auto& [k, v] : out.headers) {
    if (absl::EqualsIgnoreCase(k, "x-amzn-RequestId") && !v.empty()) {
      has_id = true;
    }
  }
  if (!has_id) out.headers.emplace_back("x-amzn-RequestId", NewRequestId());
  res.status = out.status;
  for (const auto& [k, v] : out.headers) res.set_header(k, v);
  if (out.status == 204) return;
  res.set_content(out.body, out.content_type);
}

enum class BodyRead {
  kOk,
  kTooLarge,
  kTooSlow,
  kUnsupportedEncoding,
  kMalformed
};

// Reads the body through cpp-httplib's content reader, which undoes
// Content-Encoding as it goes, keeping at most `limit` bytes: reading stops
// at the first chunk that would pass it. A request with neither
// Content-Length nor chunked Transfer-Encoding has no body (RFC 9112 §6.3).
// With `options.body_timeout`, reading also stops once the body is later
// than that timeout plus a second per body_min_bytes_per_second bytes read
// (checked as each chunk arrives; a read waits at most the listener's read
// timeout).
BodyRead ReadBody(const httplib::Request& req,
                  const httplib::ContentReader& reader, size_t limit,
                  const AwsEndpointOptions& options,
                  const httplib::Response& res, std::string* body) {
  const bool chunked = absl::EqualsIgnoreCase(
      req.get_header_value("Transfer-Encoding"), "chunked");
  if (!chunked) {
    if (!req.has_header("Content-Length")) return BodyRead::kOk;
    uint64_t length = 0;
    if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &length)) {
      return BodyRead::kMalformed;
    }
    if (length > limit) return BodyRead::kTooLarge;
    if (length == 0) return BodyRead::kOk;
  }
  bool too_large = false;
  bool too_slow = false;
  const absl::Time start = absl::Now();
  const bool timed = options.body_timeout > absl::ZeroDuration() &&
                     options.body_min_bytes_per_second > 0;
  const bool read = reader([&](const char* data, size_t n) {
    if (n > limit - body->size()) {
      too_large = true;
      return false;
    }
    body->append(data, n);
    if (timed && absl::Now() - start >
                     options.body_timeout +
                         absl::Seconds(static_cast<double>(body->size()) /
                                       options.body_min_bytes_per_second)) {
      too_slow = true;
      return false;
    }
    return true;
  });
  if (too_large) return BodyRead::kTooLarge;
  if (too_slow) return BodyRead::kTooSlow;
  if (read) return BodyRead::kOk;
  // cpp-httplib answers an unknown Content-Encoding with 415.
  return res.status == 415 ? BodyRead::kUnsupportedEncoding
                           : BodyRead::kMalformed;
}

}  // namespace

size_t AwsEndpoint::BodyLimit(const AwsHttpRequest& request) const {
  switch (ProtocolOf(request)) {
    case Protocol::kJson10:
      return options_.max_cloudwatch_body_bytes;
    case Protocol::kQuery:
      return options_.max_query_body_bytes;
    case Protocol::kRestJson:
      if (IsLambdaPath(request.path)) return options_.max_lambda_body_bytes;
      return options_.max_json_body_bytes;
    case Protocol::kJson11:
    case Protocol::kUnknown:
      break;
  }
  return options_.max_json_body_bytes;
}

AwsHttpResponse AwsEndpoint::BodyTooLarge(const AwsHttpRequest& request) const {
  const size_t limit = BodyLimit(request);
  Protocol protocol = ProtocolOf(request);
  if (protocol == Protocol::kQuery) {
    // What SNS answers for a message over 256 KB.
    return QueryError(400, "InvalidParameter",
                      "Invalid parameter: Message too long");
  }
  if (protocol == Protocol::kRestJson && IsLambdaPath(request.path)) {
    return RestJsonError(
        413, "RequestTooLargeException",
        absl::StrCat("Request must be smaller than ", limit, " bytes."));
  }
  return ErrorFor(
      protocol, 413, "RequestEntityTooLargeException",
      absl::StrCat("The request body is larger than ", limit, " bytes."));
}

AwsHttpResponse AwsEndpoint::Handle(const AwsHttpRequest& original,
                                    const std::string& raw_target) const {
  AwsHttpRequest request = original;
  if (request.method == "GET" &&
      request.path == "/SimpleNotificationService-evbus.pem" &&
      options_.signing_cert_pem != nullptr) {
    std::string cert = options_.signing_cert_pem();
    if (!cert.empty()) {
      AwsHttpResponse pem;
      pem.content_type = "application/x-x509-ca-cert";
      pem.body = std::move(cert);
      return pem;
    }
  }
  if (request.method == "GET" && request.path == "/unsubscribe.html" &&
      backends_.topics != nullptr) {
    if (!options_.credentials.empty()) {
      std::string arn, token;
      for (const auto& [k, v] : request.query) {
        if (k == "SubscriptionArn") arn = v;
        if (k == "Token") token = v;
      }
      if (!ValidLinkToken(options_.link_token, arn, token)) {
        return UnsubscribePage(403, "This link is not valid",
                               "Use the link from the message as it was "
                               "sent.");
      }
    }
    return HandleUnsubscribePage(request.query, *backends_.topics);
  }
  std::string target = request.Header("x-amz-target");
  const Protocol protocol = ProtocolOf(request);

  // Signatures (only when access keys are configured).
  AwsCaller caller{"", options_.region, options_.account};
  std::string auth = request.Header("authorization");
  if (!auth.empty()) {
    absl::StatusOr<SigV4Credential> cred = ParseAuthorization(auth);
    if (cred.ok()) {
      caller.access_key_id = cred->access_key_id;
      if (!cred->region.empty()) caller.region = cred->region;
    }
    if (!options_.credentials.empty()) {
      if (!cred.ok()) {
        return ErrorFor(protocol, 400, "IncompleteSignatureException",
                        std::string(cred.status().message()));
      }
      auto it = options_.credentials.find(cred->access_key_id);
      if (it == options_.credentials.end()) {
        return ErrorFor(protocol, 403, "UnrecognizedClientException",
                        "The security token included in the request is "
                        "invalid.");
      }
      if (absl::Status fresh = CheckSignatureScope(request, *cred, protocol);
          !fresh.ok()) {
        AwsErrorInfo info = ErrorInfoOf(fresh);
        return ErrorFor(protocol,
                        info.code == "IncompleteSignatureException" ? 400 : 403,
                        info.code, info.message);
      }
      SignedRequest signed_request{request.method, raw_target, request.headers,
                                   request.body};
      if (!VerifySigV4(signed_request, *cred, it->second)) {
        return ErrorFor(protocol, 403, "InvalidSignatureException",
                        "The request signature we calculated does not match "
                        "the signature you provided. Check your AWS Secret "
                        "Access Key and signing method.");
      }
    }
  } else if (!options_.credentials.empty() &&
             !IsSubscriptionLink(request, protocol, options_.link_token)) {
    return ErrorFor(protocol, 400, "MissingAuthenticationTokenException",
                    "Missing Authentication Token");
  }

  // cpp-httplib (built with zlib) usually inflates gzip bodies itself; inflate
  // here only what still carries the gzip magic bytes.
  if (absl::AsciiStrToLower(request.Header("content-encoding")) == "gzip" &&
      request.body.size() >= 2 && request.body[0] == '\x1f' &&
      request.body[1] == '\x8b') {
    absl::StatusOr<std::string> body = Gunzip(request.body, BodyLimit(request));
    if (absl::IsResourceExhausted(body.status())) return BodyTooLarge(request);
    if (!body.ok()) {
      return ErrorFor(protocol, 400, "SerializationException",
                      body.status().message());
    }
    request.body = *std::move(body);
  }

  switch (protocol) {
    case Protocol::kJson11:
      if (backends_.events == nullptr || backends_.tags == nullptr) break;
      return HandleEventBridge(
          absl::string_view(target).substr(sizeof(kEventsPrefix) - 1), request,
          caller, *backends_.events, *backends_.tags);
    case Protocol::kJson10:
      if (backends_.cloudwatch == nullptr || backends_.tags == nullptr) break;
      return HandleCloudWatchJson(
          absl::string_view(target).substr(sizeof(kCloudWatchPrefix) - 1),
          request, caller, *backends_.cloudwatch, *backends_.tags);
    case Protocol::kRestJson:
      if (IsLambdaPath(request.path) && backends_.functions != nullptr &&
          backends_.tags != nullptr) {
        return HandleLambda(request, *backends_.functions, *backends_.tags);
      }
      if (IsSchedulerPath(request.path) && backends_.events != nullptr &&
          backends_.tags != nullptr) {
        return HandleScheduler(request, *backends_.events, *backends_.tags);
      }
      break;
    case Protocol::kQuery: {
      std::vector<std::pair<std::string, std::string>> params =
          request.method == "GET" ? request.query
                                  : ParseFormEncoded(request.body);
      std::string action, version;
      for (const auto& [k, v] : params) {
        if (k == "Action") action = v;
        if (k == "Version") version = v;
      }
      if (version == "2010-03-31" || version.empty()) {
        if (backends_.topics == nullptr || backends_.tags == nullptr) break;
        return HandleSnsQuery(params, caller, *backends_.topics,
                              *backends_.tags);
      }
      return QueryError(
          400, "InvalidAction",
          absl::StrCat("The action ", action, " (API version ", version,
                       ") is not supported by evbus; CloudWatch "
                       "takes AWS JSON 1.0 only."));
    }
    case Protocol::kUnknown:
      break;
  }
  if (absl::StartsWith(request.path, "/service/")) {
    AwsHttpResponse r = JsonError(
        400, "UnknownOperationException",
        "evbus does not speak the Smithy RPC v2 CBOR protocol; configure the "
        "client for AWS JSON 1.0",
        "application/json", true);
    return r;
  }
  if (!target.empty()) {
    return JsonError(
        400, "UnknownOperationException",
        absl::StrCat("evbus does not support the operation ", target),
        "application/x-amz-json-1.1");
  }
  return RestJsonError(404, "UnknownOperationException",
                       absl::StrCat("evbus has no AWS operation at ",
                                    request.method, " ", request.path));
}

void AwsEndpoint::Register(httplib::Server& server) const {
  auto target_of = [](const httplib::Request& req) {
    return req.target.empty() ? req.path : req.target;
  };
  auto handler = [this, target_of](const httplib::Request& req,
                                   httplib::Response& res) {
    WriteResponse(Handle(RequestHead(req), target_of(req)), res);
  };
  // Bodies are read here rather than by cpp-httplib, which would read and
  // inflate any size (and caps form bodies at 8 KiB).
  auto body_handler = [this, target_of](const httplib::Request& req,
                                        httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    AwsHttpRequest r = RequestHead(req);
    switch (ReadBody(req, reader, BodyLimit(r), options_, res, &r.body)) {
      case BodyRead::kOk:
        WriteResponse(Handle(r, target_of(req)), res);
        return;
      case BodyRead::kTooLarge:
        WriteResponse(BodyTooLarge(r), res);
        break;
      case BodyRead::kTooSlow:
        WriteResponse(
            ErrorFor(
                ProtocolOf(r), 408, "RequestTimeoutException",
                absl::StrCat("The request body arrived too slowly (",
                             r.body.size(), " bytes in more than ",
                             absl::FormatDuration(options_.body_timeout),
                             " plus a second per ",
                             options_.body_min_bytes_per_second, " bytes)")),
            res);
        break;
      case BodyRead::kUnsupportedEncoding:
        WriteResponse(
            ErrorFor(ProtocolOf(r), 415, "UnsupportedMediaTypeException",
                     absl::StrCat("Content-Encoding ",
                                  req.get_header_value("Content-Encoding"),
                                  " is not supported (gzip, deflate, br)")),
            res);
        break;
      case BodyRead::kMalformed:
        WriteResponse(ErrorFor(ProtocolOf(r), 400, "SerializationException",
                               "The request body could not be read"),
                      res);
        break;
    }
    // The rest of the body was not read: the connection cannot carry
    // another request.
    res.set_header("Connection", "close");
  };
  server.Post(R"(/.*)",
              httplib::Server::HandlerWithContentReader(body_handler));
  server.Put(R"(/.*)", httplib::Server::HandlerWithContentReader(body_handler));
  server.Delete(R"(/.*)",
                httplib::Server::HandlerWithContentReader(body_handler));
  // No AWS protocol uses PATCH, but its body would otherwise be read by
  // cpp-httplib without the limits above.
  server.Patch(R"(/.*)",
               httplib::Server::HandlerWithContentReader(body_handler));
  server.Get(R"(/.*)", handler);
  // Errors cpp-httplib answers itself (400 for a malformed request, 414, 415,
  // a method without a route) come with an empty body; give them the
  // protocol's error shape.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        AwsHttpRequest r = RequestHead(req);
        switch (res.status) {
          case 413:
            WriteResponse(BodyTooLarge(r), res);
            break;
          case 414:
            WriteResponse(ErrorFor(ProtocolOf(r), 414, "RequestUriTooLong",
                                   "The request URI is longer than 8192 bytes"),
                          res);
            break;
          case 415:
            WriteResponse(
                ErrorFor(ProtocolOf(r), 415, "UnsupportedMediaTypeException",
                         "The request's Content-Encoding is not "
                         "supported (gzip, deflate, br)"),
                res);
            break;
          default:
            WriteResponse(
                ErrorFor(ProtocolOf(r), res.status, "BadRequestException",
                         absl::StrCat("The HTTP request could not be served (",
                                      res.status, ")")),
                res);
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
}

}  // namespace evbus::api::aws
