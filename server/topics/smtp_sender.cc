#include "server/topics/smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace evbus::topics {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Upload {
  const std::string* data = nullptr;
  size_t offset = 0;

  static size_t Read(char* buffer, size_t size, size_t count, void* self) {
    auto* u = static_cast<Upload*>(self);
    size_t n = u->data->copy(buffer, size * count, u->offset);
    u->offset += n;
    return n;
  }
};

absl::StatusOr<std::string> PercentDecode(absl::string_view s,
                                          absl::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int value = 0;
    if (i + 2 >= s.size() ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("SMTP URL: bad percent-escape in the ", what));
    }
    for (int k = 1; k <= 2; ++k) {
      char c = absl::ascii_tolower(static_cast<unsigned char>(s[i + k]));
      value = value * 16 + (absl::ascii_isdigit(static_cast<unsigned char>(c))
                                ? c - '0'
                                : c - 'a' + 10);
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

// Characters an address may not carry into "MAIL FROM:<...>".
bool BadAddress(absl::string_view address) {
  return address.find_first_of(std::string("\r\n<>\0", 5)) !=
         absl::string_view::npos;
}

std::string HostForUrl(const std::string& host) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]");
  return host;
}

std::string PathEscape(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

absl::Status Classify(CURLcode code, long reply, const char* errbuf,
                      const std::string& relay) {
  std::string message = absl::StrCat("SMTP delivery via ", relay,
                                     " failed: ", curl_easy_strerror(code));
  if (errbuf[0] != '\0') absl::StrAppend(&message, ": ", errbuf);
  if (reply >= 400) absl::StrAppend(&message, " (server reply ", reply, ")");
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return absl::InvalidArgumentError(message);
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return absl::FailedPreconditionError(message);
    default:
      break;
  }
  if (reply >= 500 && reply < 600) {
    return absl::FailedPreconditionError(message);
  }
  if (code == CURLE_LOGIN_DENIED && reply < 400) {
    return absl::FailedPreconditionError(message);
  }
  // 4xx replies, refused or reset connections, timeouts, DNS: retry.
  return absl::UnavailableError(message);
}

}  // namespace

absl::StatusOr<SmtpOptions> ParseSmtpUrl(absl::string_view url) {
  SmtpOptions options;
  size_t sep = url.find("://");
  if (sep == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("SMTP URL '", url, "': expected smtp:// or smtps://"));
  }
  std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (scheme == "smtp") {
    options.port = 25;
  } else if (scheme == "smtps") {
    options.port = 465;
    options.implicit_tls = true;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "SMTP URL: unsupported scheme '", scheme, "' (smtp or smtps)"));
  }
  absl::string_view rest = url.substr(sep + 3);
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  absl::string_view path;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  // The credentials never appear in error messages.
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    absl::string_view user = userinfo;
    absl::string_view password;
    if (size_t colon = userinfo.find(':'); colon != absl::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    absl::StatusOr<std::string> u = PercentDecode(user, "user name");
    if (!u.ok()) return u.status();
    absl::StatusOr<std::string> p = PercentDecode(password, "password");
    if (!p.ok()) return p.status();
    options.username = *std::move(u);
    options.password = *std::move(p);
  }
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("SMTP URL: unterminated [IPv6] host");
    }
    options.host = std::string(rest.substr(1, close - 1));
    absl::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return absl::InvalidArgumentError(
            "SMTP URL: unexpected text after the [IPv6] host");
      }
      port = after.substr(1);
    }
  } else if (size_t colon = rest.find(':'); colon != absl::string_view::npos) {
    options.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    options.host = std::string(rest);
  }
  if (options.host.empty()) {
    return absl::InvalidArgumentError("SMTP URL: missing host");
  }
  if (port.data() != nullptr) {
    int value = 0;
    if (!absl::SimpleAtoi(port, &value) || value < 1 || value > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("SMTP URL: invalid port '", port, "'"));
    }
    options.port = value;
  }
  if (!path.empty()) {
    absl::StatusOr<std::string> helo = PercentDecode(path, "EHLO domain");
    if (!helo.ok()) return helo.status();
    options.helo_domain = *std::move(helo);
  }
  for (absl::string_view option : absl::StrSplit(query, '&')) {
    if (option.empty()) continue;
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(option, absl::MaxSplits('=', 1));
    if (kv.first == "starttls") {
      std::string mode = absl::AsciiStrToLower(kv.second);
      if (mode == "off") {
        options.starttls = StartTls::kOff;
      } else if (mode == "try") {
        options.starttls = StartTls::kTry;
      } else if (mode == "require") {
        options.starttls = StartTls::kRequire;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "SMTP URL: starttls must be off, try or require, not '", kv.second,
            "'"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMTP URL: unknown option '", kv.first, "' (known: starttls)"));
    }
  }
  return options;
}

std::string SmtpRelayName(const SmtpOptions& options) {
  return absl::StrCat(options.implicit_tls ? "smtps" : "smtp", "://",
                      HostForUrl(options.host), ":", options.port);
}

SmtpSender::SmtpSender(SmtpOptions options) : options_(std::move(options)) {}

absl::Status SmtpSender::Send(const std::string& from,
                              const std::vector<std::string>& to,
                              const std::string& rfc5322_message) const {
  const std::string relay = SmtpRelayName(options_);
  if (options_.host.empty()) {
    return absl::InvalidArgumentError("SMTP relay: no host configured");
  }
  if (to.empty()) {
    return absl::InvalidArgumentError("SMTP delivery: no recipients");
  }
  if (BadAddress(from)) {
    return absl::InvalidArgumentError(
        "SMTP delivery: the sender address contains a line break or <>");
  }
  for (const auto& rcpt : to) {
    if (rcpt.empty() || BadAddress(rcpt)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMTP delivery: invalid recipient address '", rcpt, "'"));
    }
  }

  GlobalInitOnce();
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (easy == nullptr) {
    return absl::UnavailableError("SMTP delivery: curl_easy_init failed");
  }
  CURL* h = easy.get();
  curl_slist* list = nullptr;
  for (const auto& rcpt : to) {
    curl_slist* next =
        curl_slist_append(list, absl::StrCat("<", rcpt, ">").c_str());
    if (next == nullptr) {
      curl_slist_free_all(list);
      return absl::UnavailableError("SMTP delivery: out of memory");
    }
    list = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> recipients(list);

  const std::string url =
      absl::StrCat(relay, "/", PathEscape(options_.helo_domain));
  const std::string mail_from = absl::StrCat("<", from, ">");
  Upload upload{&rfc5322_message, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};
  const long timeout_ms =
      static_cast<long>(absl::ToInt64Milliseconds(options_.timeout));

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &Upload::Read);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(rfc5322_message.size()));
  long use_ssl = CURLUSESSL_NONE;
  if (options_.implicit_tls || options_.starttls == StartTls::kRequire) {
    use_ssl = CURLUSESSL_ALL;
  } else if (options_.starttls == StartTls::kTry) {
    use_ssl = CURLUSESSL_TRY;
  }
  curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode code = curl_easy_perform(h);
  if (code == CURLE_OK) return absl::OkStatus();
  long reply = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  return Classify(code, reply, errbuf, relay);
}

}  // namespace evbus::topics
