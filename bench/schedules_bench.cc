#include "bench/schedules_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/json.h"
#include "server/common/proc_status.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(
      v.size() - 1,
      static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

// Creates schedules [from, to) with `make` filling each request, over
// `concurrency` threads. Returns the number of failures.
int64_t CreateMany(const std::shared_ptr<grpc::Channel>& channel, int from,
                   int to, int concurrency,
                   const std::function<void(int, evbus::v1::Schedule*)>& make) {
  std::atomic<int> next{from};
  std::atomic<int64_t> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      auto stub = evbus::v1::EventBusService::NewStub(channel);
      for (int i = next.fetch_add(1); i < to; i = next.fetch_add(1)) {
        evbus::v1::Schedule s;
        make(i, &s);
        grpc::ClientContext c;
        evbus::v1::Schedule out;
        if (!stub->CreateSchedule(&c, s, &out).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  return failures.load();
}

}  // namespace

int RunSchedulesBench(const SchedulesBenchOptions& o) {
  auto channel =
      grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  std::string run = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  common::Json out = common::Json::object();

  // 1. Many long-lived schedules.
  int64_t rss_before = common::ProcStatusKb(o.daemon_pid, "VmRSS");
  auto t0 = Clock::now();
  int64_t failures = CreateMany(
      channel, 0, o.count, o.concurrency, [&](int i, evbus::v1::Schedule* s) {
        s->set_name(absl::StrCat("bench-", run, "-", i));
        s->set_schedule_expression(i % 2 == 0 ? "rate(1 day)"
                                              : "cron(0 3 * * ? *)");
        s->mutable_flexible_time_window()->set_mode("OFF");
        s->mutable_target()->set_arn("log:schedules-bench");
      });
  double create_s = std::chrono::duration<double>(Clock::now() - t0).count();
  int64_t rss_after = common::ProcStatusKb(o.daemon_pid, "VmRSS");
  out["schedules_created"] = o.count - failures;
  out["create_failures"] = failures;
  out["create_seconds"] = create_s;
  out["creates_per_second"] = static_cast<double>(o.count) / create_s;
  if (o.daemon_pid > 0) {
    out["rss_before_mb"] = static_cast<double>(rss_before) / 1024;
    out["rss_after_mb"] = static_cast<double>(rss_after) / 1024;
    out["rss_added_mb"] = static_cast<double>(rss_after - rss_before) / 1024;
  }

  // 2. K schedules due in the same second; lag = receipt - due.
  std::mutex mu;
  std::vector<double> lags;
  httplib::Server server;
  // One thread per connection evbusd may open to a host (its webhook
  // executor keeps up to 64 alive): with fewer, a kept-alive idle
  // connection holds a thread and the others wait for its keep-alive
  // timeout (5 s), which is this receiver's lag, not evbusd's.
  server.new_task_queue = [] { return new httplib::ThreadPool(128); };
  server.set_keep_alive_max_count(1000000);
  server.Post("/due", [&](const httplib::Request& req, httplib::Response& res) {
    absl::Time now = absl::Now();
    absl::StatusOr<common::Json> body = common::ParseJson(req.body);
    if (body.ok() && body->contains("due")) {
      double lag = absl::ToDoubleSeconds(
          now - absl::FromUnixSeconds((*body)["due"].get<int64_t>()));
      std::lock_guard<std::mutex> lock(mu);
      lags.push_back(lag);
    }
    res.status = 200;
  });
  int port = api::BindWithFullBacklog(server, "127.0.0.1", 0);
  std::thread server_thread([&] { server.listen_after_bind(); });
  // Due a little after all of them can be created.
  absl::Time due = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 11);
  std::string at = absl::StrCat(
      "at(", absl::FormatTime("%Y-%m-%dT%H:%M:%S", due, absl::UTCTimeZone()),
      ")");
  std::string input = absl::StrCat(R"({"due":)", absl::ToUnixSeconds(due), "}");
  int64_t due_failures =
      CreateMany(channel, 0, o.due_together, o.concurrency,
                 [&](int i, evbus::v1::Schedule* s) {
                   s->set_name(absl::StrCat("due-", run, "-", i));
                   s->set_schedule_expression(at);
                   s->set_action_after_completion("DELETE");
                   s->mutable_flexible_time_window()->set_mode("OFF");
                   s->mutable_target()->set_arn(
                       absl::StrCat("http://127.0.0.1:", port, "/due"));
                   s->mutable_target()->set_input(input);
                 });
  // Wait (bounded) for every firing.
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (static_cast<int64_t>(lags.size()) >= o.due_together - due_failures)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.stop();
  server_thread.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    out["due_together"] = o.due_together;
    out["due_fired"] = lags.size();
    out["firing_lag_s"] = {{"p50", Percentile(lags, 50)},
                           {"p90", Percentile(lags, 90)},
                           {"p99", Percentile(lags, 99)},
                           {"max", Percentile(lags, 100)}};
  }
  std::printf("%s\n", out.dump(2).c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace evbus::bench
