#include "bench/http_limit.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/json.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

int RunHttpLimit(const HttpLimitOptions& o) {
  std::atomic<int64_t> received{0};
  httplib::Server server;
  server.new_task_queue = [n = o.receiver_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(n));
  };
  server.set_keep_alive_max_count(1000000);
  server.Post("/limit", [&](const httplib::Request&, httplib::Response& res) {
    received.fetch_add(1, std::memory_order_relaxed);
    res.status = 200;
  });
  const int port = api::BindWithFullBacklog(server, "127.0.0.1", 0);
  std::thread server_thread([&] { server.listen_after_bind(); });
  // The socket is bound; connections queue until listen() runs.

  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/limit");
  const std::string body(static_cast<size_t>(o.payload_bytes), 'x');
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(o.connections));
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  std::vector<CURL*> easies;
  for (int i = 0; i < o.connections; ++i) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_multi_add_handle(multi, e);
    easies.push_back(e);
  }
  int64_t ok = 0;
  int64_t errors = 0;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(o.duration_seconds));
  int running = 0;
  while (Clock::now() < end) {
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      long status = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result == CURLE_OK && status == 200) {
        ++ok;
      } else {
        ++errors;
      }
      // Again, on the same keep-alive connection.
      curl_multi_remove_handle(multi, m->easy_handle);
      curl_multi_add_handle(multi, m->easy_handle);
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  for (CURL* e : easies) {
    curl_multi_remove_handle(multi, e);
    curl_easy_cleanup(e);
  }
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  server.stop();
  server_thread.join();

  common::Json out = common::Json::object();
  out["connections"] = o.connections;
  out["payload_bytes"] = o.payload_bytes;
  out["duration_s"] = elapsed;
  out["requests"] = ok;
  out["errors"] = errors;
  out["requests_per_second"] = static_cast<double>(ok) / elapsed;
  std::printf("%s\n", out.dump(2).c_str());
  return ok > 0 ? 0 : 1;
}

}  // namespace evbus::bench
