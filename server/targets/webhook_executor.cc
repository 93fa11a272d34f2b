#include "server/targets/webhook_executor.h"

#include <curl/curl.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/thread_priority.h"

namespace evbus::targets {
namespace {

constexpr size_t kMaxBodyKept = 512;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

DeliveryResult Classify(CURLcode code, long status, const char* errbuf,
                        const std::string& body) {
  using O = Outcome;
  if (code == CURLE_OK) {
    if (status >= 200 && status < 300) return DeliveryResult::Success();
    std::string msg = absl::StrCat("HTTP ", status);
    if (!body.empty()) absl::StrAppend(&msg, ": ", body);
    DeliveryResult r;
    r.http_status = static_cast<int>(status);
    if (status == 429) {
      r = DeliveryResult::Failure(O::kRetryable, "THROTTLING", msg);
    } else if (status >= 500) {
      r = DeliveryResult::Failure(O::kRetryable, "ERROR_FROM_TARGET", msg);
    } else {
      r = DeliveryResult::Failure(O::kPermanent, "ERROR_FROM_TARGET", msg);
    }
    r.http_status = static_cast<int>(status);
    return r;
  }
  std::string msg = absl::StrCat(curl_easy_strerror(code),
                                 errbuf[0] != '\0' ? ": " : "", errbuf);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeliveryResult::Failure(O::kRetryable, "TIMEOUT", msg);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return DeliveryResult::Failure(O::kPermanent, "CONNECTION_FAILURE", msg);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return DeliveryResult::Failure(O::kPermanent, "INVALID_PARAMETER", msg);
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return DeliveryResult::Failure(O::kRetryable, "CONNECTION_FAILURE", msg);
    default:
      return DeliveryResult::Failure(O::kRetryable, "INTERNAL_ERROR", msg);
  }
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now, bool* stop) {
  value = absl::StripAsciiWhitespace(value);
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) {
      *stop = true;
      return absl::ZeroDuration();
    }
    return absl::Seconds(std::min<int64_t>(seconds, 86400));
  }
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(),
                      &when, &err)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

namespace {

// "scheme://host:port" of a URL (lower case; the port as written, if any):
// the unit libcurl's per-host connection limit counts.
std::string HostKeyOf(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::string(url);
  const size_t authority = scheme_end + 3;
  size_t end = url.find_first_of("/?#", authority);
  if (end == absl::string_view::npos) end = url.size();
  absl::string_view host = url.substr(authority, end - authority);
  const size_t at = host.rfind('@');  // credentials are not the host
  if (at != absl::string_view::npos) host.remove_prefix(at + 1);
  return absl::AsciiStrToLower(
      absl::StrCat(url.substr(0, scheme_end), "://", host));
}

}  // namespace

struct WebhookExecutor::Transfer {
  DeliveryRequest request;
  DeliveryCallback done;
  std::string host;  // HostKeyOf(request.url)
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  std::string retry_after;
  char errbuf[CURL_ERROR_SIZE] = {0};

  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    if (t->body.size() < kMaxBodyKept) {
      t->body.append(data, std::min(len, kMaxBodyKept - t->body.size()));
    }
    return len;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    absl::string_view line(data, size * n);
    if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
      t->retry_after = std::string(line.substr(12));
    }
    return size * n;
  }
};

WebhookExecutor::WebhookExecutor(WebhookOptions options)
    : options_(std::move(options)) {}

WebhookExecutor::~WebhookExecutor() { Stop(); }

absl::Status WebhookExecutor::Start() {
  absl::MutexLock lock(&mu_);
  started_ = true;
  return absl::OkStatus();
}

bool WebhookExecutor::StartLoopLocked() {
  GlobalInitOnce();
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return false;
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    options_.max_host_connections);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    options_.max_cached_connections);
  multi_ = multi;
  thread_ = std::thread([this, multi] {
    if (options_.nice_steps != 0) {
      absl::Status s = common::LowerCurrentThreadPriority(options_.nice_steps);
      if (!s.ok()) EVBUS_LOG(WARNING) << "webhook thread priority: " << s;
    }
    Loop(multi);
  });
  return true;
}

void WebhookExecutor::Stop() {
  CURLM* multi = nullptr;
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    multi = static_cast<CURLM*>(multi_);
    multi_ = nullptr;
    thread = std::move(thread_);
  }
  if (multi == nullptr) return;  // never delivered anything
  curl_multi_wakeup(multi);
  if (thread.joinable()) thread.join();
  curl_multi_cleanup(multi);
}

void WebhookExecutor::Deliver(DeliveryRequest request, DeliveryCallback done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  bool shutting_down = false;
  {
    absl::MutexLock lock(&mu_);
    shutting_down = stopping_ || !started_;
    if (!stopping_ && started_ && (multi_ != nullptr || StartLoopLocked())) {
      pending_.push_back(std::move(t));
      // Under the lock, so that Stop() cannot clean the multi handle up
      // between the push and the wake-up.
      curl_multi_wakeup(static_cast<CURLM*>(multi_));
    }
  }
  if (t != nullptr) {  // not queued: shutting down, or no libcurl
    std::move(t->done)(
        shutting_down
            ? DeliveryResult::Interrupted("evbusd is shutting down")
            : DeliveryResult::Failure(
                  Outcome::kRetryable, "INTERNAL_ERROR",
                  "libcurl.so.4 could not be loaded (see evbusd's log)"));
  }
}

void WebhookExecutor::Loop(void* multi_handle) {
  CURLM* multi = static_cast<CURLM*>(multi_handle);
  std::map<CURL*, std::unique_ptr<Transfer>> active;
  // Transfers are handed to libcurl only while their host has a free
  // connection (max_host_connections); the rest wait here, in arrival
  // order per host. libcurl's own queue would start each request's timeout
  // while it waits for a connection: with many targets on one host, queued
  // requests timed out before they were sent, were retried into the same
  // queue, and nothing was delivered at all.
  // A host's waiting transfers, by URL (one target's deliveries), taken in
  // turn: a target whose requests hang holds its connections, but cannot
  // also keep every other target on the host waiting behind its queue.
  struct HostQueue {
    std::map<std::string, std::deque<std::unique_ptr<Transfer>>> by_url;
    std::deque<std::string> turns;  // URLs with waiting transfers, in turn

    void Push(std::unique_ptr<Transfer> t) {
      std::deque<std::unique_ptr<Transfer>>& q = by_url[t->request.url];
      if (q.empty()) turns.push_back(t->request.url);
      q.push_back(std::move(t));
    }
    std::unique_ptr<Transfer> Pop() {
      const std::string url = std::move(turns.front());
      turns.pop_front();
      auto it = by_url.find(url);
      std::unique_ptr<Transfer> t = std::move(it->second.front());
      it->second.pop_front();
      if (it->second.empty()) {
        by_url.erase(it);
      } else {
        turns.push_back(url);
      }
      return t;
    }
    bool empty() const { return turns.empty(); }
  };
  std::map<std::string, long> host_active;
  std::map<std::string, HostQueue> waiting;
  while (true) {
    std::deque<std::unique_ptr<Transfer>> fresh;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      fresh.swap(pending_);
      stopping = stopping_;
    }
    if (stopping) {
      auto fail = [](Transfer& t) {
        std::move(t.done)(
            DeliveryResult::Interrupted("evbusd is shutting down"));
      };
      for (auto& t : fresh) fail(*t);
      for (auto& [host, queue] : waiting) {
        while (!queue.empty()) fail(*queue.Pop());
      }
      for (auto& [easy, t] : active) {
        curl_multi_remove_handle(multi, easy);
        fail(*t);
      }
      return;
    }
    auto start = [&](std::unique_ptr<Transfer> t) {
      CURL* easy = curl_easy_init();
      if (easy == nullptr) {
        std::move(t->done)(DeliveryResult::Failure(
            Outcome::kRetryable, "INTERNAL_ERROR", "curl_easy_init failed"));
        return;
      }
      ++host_active[t->host];
      t->easy = easy;
      const DeliveryRequest& r = t->request;
      bool has_content_type =
          std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
            return absl::EqualsIgnoreCase(h.first, "Content-Type");
          });
      if (!has_content_type) {
        t->headers = curl_slist_append(
            t->headers, "Content-Type: application/json; charset=utf-8");
      }
      // EventBridge's API destination header; SNS's deliveries (which name
      // their message type) send none.
      const bool sns =
          std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
            return absl::EqualsIgnoreCase(h.first, "x-amz-sns-message-type");
          });
      if (!sns) {
        t->headers = curl_slist_append(t->headers, "Range: bytes=0-1048575");
      }
      t->headers = curl_slist_append(t->headers, "Expect:");
      for (const auto& [name, value] : r.headers) {
        t->headers = curl_slist_append(t->headers,
                                       absl::StrCat(name, ": ", value).c_str());
      }
      curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      if (r.method != "GET" && r.method != "HEAD") {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.payload.data());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(r.payload.size()));
      } else if (r.method == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
      }
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
      curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
      curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip,deflate");
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                       static_cast<long>(absl::ToInt64Milliseconds(r.timeout)));
      curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(absl::ToInt64Milliseconds(r.timeout)));
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
      curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
      curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
      curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
      curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
      curl_multi_add_handle(multi, easy);
      active.emplace(easy, std::move(t));
    };
    for (auto& t : fresh) {
      t->host = HostKeyOf(t->request.url);
      if (host_active[t->host] < options_.max_host_connections) {
        start(std::move(t));
      } else {
        std::string host = t->host;
        waiting[host].Push(std::move(t));
      }
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      auto it = active.find(easy);
      curl_multi_remove_handle(multi, easy);
      if (it == active.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active.erase(it);
      // Its connection is free: the host's next waiting transfer starts.
      auto queue = waiting.find(t->host);
      if (queue != waiting.end() && !queue->second.empty()) {
        std::unique_ptr<Transfer> next = queue->second.Pop();
        if (queue->second.empty()) waiting.erase(queue);
        --host_active[t->host];
        start(std::move(next));
      } else if (--host_active[t->host] <= 0) {
        host_active.erase(t->host);
      }
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      DeliveryResult result = Classify(code, status, t->errbuf, t->body);
      if (!t->retry_after.empty() && result.outcome != Outcome::kSuccess) {
        bool stop = false;
        result.retry_after =
            ParseRetryAfter(t->retry_after, absl::Now(), &stop);
        result.stop_retrying = stop;
      }
      std::move(t->done)(std::move(result));
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace evbus::targets
