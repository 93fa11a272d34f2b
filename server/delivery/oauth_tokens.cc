#include "server/delivery/oauth_tokens.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "server/common/json.h"

namespace evbus::delivery {
namespace {

std::string CacheKey(const OAuthClient& c) {
  return absl::StrCat(c.endpoint, "\n", c.client_id);
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Form(const std::vector<std::pair<std::string, std::string>>& kv,
                 CURL* curl) {
  std::string out;
  for (const auto& [k, v] : kv) {
    char* ek = curl_easy_escape(curl, k.c_str(), static_cast<int>(k.size()));
    char* ev = curl_easy_escape(curl, v.c_str(), static_cast<int>(v.size()));
    if (!out.empty()) out += "&";
    out += absl::StrCat(ek, "=", ev);
    curl_free(ek);
    curl_free(ev);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> OAuthTokens::Token(const OAuthClient& client) {
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(CacheKey(client));
    if (it != cache_.end() && it->second.expires > clock_.Now()) {
      return it->second.token;
    }
  }
  absl::StatusOr<std::string> token = Request(client);
  if (observer_ != nullptr) observer_(client, token.status());
  return token;
}

absl::StatusOr<std::string> OAuthTokens::Request(const OAuthClient& client) {
  const std::string key = CacheKey(client);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::UnavailableError("curl_easy_init failed");
  std::vector<std::pair<std::string, std::string>> body = {
      {"grant_type", "client_credentials"}};
  body.insert(body.end(), client.body.begin(), client.body.end());
  std::string form = Form(body, curl);
  std::string url = client.endpoint;
  if (!client.query.empty()) {
    absl::StrAppend(&url, url.find('?') == std::string::npos ? "?" : "&",
                    Form(client.query, curl));
  }
  curl_slist* headers = curl_slist_append(
      nullptr, "Content-Type: application/x-www-form-urlencoded");
  for (const auto& [k, v] : client.headers) {
    headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
  }
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, client.method.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(curl, CURLOPT_USERNAME, client.client_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, client.client_secret.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK || status < 200 || status >= 300) {
    return absl::UnavailableError(
        absl::StrCat("OAuth token request to ", client.endpoint, " failed: ",
                     code != CURLE_OK ? curl_easy_strerror(code)
                                      : absl::StrCat("HTTP ", status).c_str()));
  }
  absl::StatusOr<common::Json> doc = common::ParseJson(response);
  if (!doc.ok() || !doc->is_object() || !doc->contains("access_token") ||
      !(*doc)["access_token"].is_string()) {
    return absl::UnavailableError(absl::StrCat(
        "OAuth token response from ", client.endpoint, " has no access_token"));
  }
  std::string token = (*doc)["access_token"].get<std::string>();
  int64_t expires_in = 3600;
  if (doc->contains("expires_in") && (*doc)["expires_in"].is_number()) {
    expires_in = (*doc)["expires_in"].get<int64_t>();
  }
  absl::MutexLock lock(&mu_);
  // Refresh a little early (or at once for very short lifetimes).
  cache_[key] =
      Cached{token, clock_.Now() + absl::Seconds(expires_in) -
                        absl::Seconds(std::min<int64_t>(30, expires_in / 2))};
  return token;
}

void OAuthTokens::Invalidate(const OAuthClient& client) {
  absl::MutexLock lock(&mu_);
  cache_.erase(CacheKey(client));
}

}  // namespace evbus::delivery
