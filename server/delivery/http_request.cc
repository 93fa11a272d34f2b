// BuildHttpRequest and SignatureHeader (declared in dispatcher.h).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/delivery/dispatcher.h"
#include "server/targets/http_parameters.h"

namespace evbus::delivery {
namespace {

std::string UrlEncode(absl::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Sets `name` in `list`, replacing an existing entry (case-insensitive).
void Upsert(std::vector<std::pair<std::string, std::string>>& list,
            const std::string& name, const std::string& value) {
  for (auto& [k, v] : list) {
    if (absl::EqualsIgnoreCase(k, name)) {
      v = value;
      return;
    }
  }
  list.emplace_back(name, value);
}

}  // namespace

std::string SignatureHeader(const std::string& secret, absl::Time now,
                            const std::string& body) {
  std::string t = absl::StrCat(absl::ToUnixSeconds(now));
  std::string message = absl::StrCat(t, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &len);
  return absl::StrCat("t=", t, ",v1=",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<char*>(mac), len)));
}

absl::StatusOr<targets::DeliveryRequest> BuildHttpRequest(
    const ResolvedTarget& target, std::string payload, absl::Time now,
    TokenSource* tokens, absl::string_view event_json) {
  targets::DeliveryRequest r;
  const evbus::v1::HttpParameters& params = target.target.http_parameters();
  // The target's parameters as sent for this event: `$.` values read from
  // it (parsed only when there are some).
  std::optional<common::Json> event;
  auto resolve = [&](const std::string& value) -> absl::StatusOr<std::string> {
    if (!targets::IsDynamicHttpParameter(value)) return value;
    if (!event.has_value()) {
      absl::StatusOr<common::Json> parsed =
          common::ParseJson(event_json, "event");
      if (!parsed.ok()) return parsed.status();
      event = *std::move(parsed);
    }
    absl::StatusOr<std::string> v =
        targets::ResolveHttpParameter(value, *event);
    if (!v.ok()) {
      return common::ValidationError(absl::StrCat("HttpParameters of target ",
                                                  target.target.id(), ": ",
                                                  v.status().message()));
    }
    return v;
  };
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : params.query_string_parameters()) {
    absl::StatusOr<std::string> value = resolve(v);
    if (!value.ok()) return value.status();
    query.emplace_back(k, *std::move(value));
  }
  // Sorted, so that requests do not depend on the map's order.
  std::sort(query.begin(), query.end());
  for (const auto& [k, v] : params.header_parameters()) {
    absl::StatusOr<std::string> value = resolve(v);
    if (!value.ok()) return value.status();
    Upsert(r.headers, k, *value);
  }

  std::string url =
      target.http.has_value() ? target.http->url : target.target.arn();
  if (target.http.has_value()) {
    const HttpEndpoint& http = *target.http;
    r.method = http.method;
    // Fill "*" wildcards from PathParameterValues, in order.
    std::string filled;
    int next = 0;
    for (char c : url) {
      if (c != '*') {
        filled.push_back(c);
        continue;
      }
      if (next >= params.path_parameter_values_size()) {
        return common::ValidationError(absl::StrCat(
            "The API destination endpoint has more '*' wildcards than target ",
            target.target.id(), " has PathParameterValues."));
      }
      absl::StatusOr<std::string> value =
          resolve(params.path_parameter_values(next++));
      if (!value.ok()) return value.status();
      filled += UrlEncode(*value);
    }
    url = filled;
    for (const auto& [k, v] : http.query) Upsert(query, k, v);
    for (const auto& [k, v] : http.headers) Upsert(r.headers, k, v);
    if (http.oauth.has_value()) {
      if (tokens == nullptr) {
        return absl::FailedPreconditionError("no OAuth token source");
      }
      absl::StatusOr<std::string> token = tokens->Token(*http.oauth);
      if (!token.ok()) return token.status();
      Upsert(r.headers, "Authorization", absl::StrCat("Bearer ", *token));
    }
    if (!http.signing_secret.empty()) {
      Upsert(r.headers, "X-Evbus-Signature",
             SignatureHeader(http.signing_secret, now, payload));
    }
  }
  for (const auto& [name, value] : r.headers) {
    if (!targets::IsHttpHeaderName(name) ||
        !targets::IsHttpHeaderValue(value)) {
      return common::ValidationError(absl::StrCat(
          "Header ", targets::IsHttpHeaderName(name) ? name : "(a name)",
          " of target ", target.target.id(),
          " is not a valid HTTP header: a name must be a token, a value "
          "printable ASCII without line breaks."));
    }
  }
  if (!query.empty()) {
    absl::StrAppend(&url, url.find('?') == std::string::npos ? "?" : "&");
    for (size_t i = 0; i < query.size(); ++i) {
      if (i > 0) absl::StrAppend(&url, "&");
      absl::StrAppend(&url, UrlEncode(query[i].first), "=",
                      UrlEncode(query[i].second));
    }
  }
  r.url = std::move(url);
  r.payload = std::move(payload);
  return r;
}

}  // namespace evbus::delivery
