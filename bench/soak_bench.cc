#include "bench/soak_bench.h"

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "evbus/v1/function.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/proc_status.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

int OpenFds(int pid) {
  DIR* d = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return 0;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return std::max(0, n - 2);
}

double MetricValue(httplib::Client& http, const std::string& series) {
  auto r = http.Get("/metrics");
  if (!r || r->status != 200) return -1;
  size_t at = r->body.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  at += series.size() + 2;
  double v = 0;
  (void)absl::SimpleAtod(r->body.substr(at, r->body.find('\n', at) - at), &v);
  return v;
}

bool Ok(const grpc::Status& s, const char* what) {
  if (s.ok() || s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return true;
  std::fprintf(stderr, "soak: %s: %s\n", what, s.error_message().c_str());
  return false;
}

}  // namespace

int RunSoak(const SoakOptions& o) {
  if (o.daemon_pid <= 0) {
    std::fprintf(stderr, "soak: --pid is required\n");
    return 2;
  }
  // The webhook: every 10th answer is a 500.
  httplib::Server receiver;
  std::atomic<int64_t> received{0};
  receiver.Post("/soak", [&](const httplib::Request&, httplib::Response& res) {
    int64_t n = received.fetch_add(1);
    res.status = n % 10 == 9 ? 500 : 200;
  });
  int port = api::BindWithFullBacklog(receiver, "127.0.0.1", 0);
  std::thread serve([&] { receiver.listen_after_bind(); });

  auto channel =
      grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  auto events = evbus::v1::EventBusService::NewStub(channel);
  auto functions = evbus::v1::FunctionService::NewStub(channel);
  bool ready = true;
  {
    grpc::ClientContext c;
    evbus::v1::CreateEventBusRequest req;
    req.set_name("soak");
    evbus::v1::CreateEventBusResponse out;
    ready &= Ok(events->CreateEventBus(&c, req, &out), "bus");
  }
  {
    grpc::ClientContext c;
    evbus::v1::CreateFunctionRequest req;
    req.mutable_function()->set_function_name("soak-fn");
    req.mutable_function()->set_runtime("python3");
    req.mutable_function()->set_handler("app.h");
    evbus::v1::CodeFile* f = req.mutable_code()->add_files();
    f->set_path("app.py");
    f->set_content("def h(event, context):\n    return len(str(event))\n");
    evbus::v1::Function out;
    ready &= Ok(functions->CreateFunction(&c, req, &out), "function");
  }
  for (const char* rule : {"soak-fanout", "soak-tick"}) {
    grpc::ClientContext c;
    evbus::v1::PutRuleRequest req;
    req.set_name(rule);
    if (std::string(rule) == "soak-fanout") {
      req.set_event_bus_name("soak");
      req.set_event_pattern(R"({"source":["soak"]})");
    } else {
      req.set_schedule_expression("rate(1 minute)");
    }
    evbus::v1::PutRuleResponse out;
    ready &= Ok(events->PutRule(&c, req, &out), rule);
  }
  {
    grpc::ClientContext c;
    evbus::v1::PutTargetsRequest req;
    req.set_rule("soak-fanout");
    req.set_event_bus_name("soak");
    evbus::v1::Target* t = req.add_targets();
    t->set_id("hook");
    t->set_arn(absl::StrCat("http://127.0.0.1:", port, "/soak"));
    t->mutable_retry_policy()->set_maximum_retry_attempts(3);
    t = req.add_targets();
    t->set_id("log");
    t->set_arn("log:soak");
    t = req.add_targets();
    t->set_id("fn");
    t->set_arn("function:soak-fn");
    evbus::v1::PutTargetsResponse out;
    ready &= Ok(events->PutTargets(&c, req, &out), "targets");
  }
  {
    grpc::ClientContext c;
    evbus::v1::PutTargetsRequest req;
    req.set_rule("soak-tick");
    evbus::v1::Target* t = req.add_targets();
    t->set_id("log");
    t->set_arn("log:soak-ticks");
    evbus::v1::PutTargetsResponse out;
    ready &= Ok(events->PutTargets(&c, req, &out), "tick targets");
  }
  if (!ready) {
    receiver.stop();
    serve.join();
    return 1;
  }

  httplib::Client http("http://" + o.http);
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(o.duration_seconds);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> put{0}, failed{0};
  std::thread loader([&] {
    // Batches of 10 at the requested rate.
    auto next = Clock::now();
    auto interval = std::chrono::duration<double>(10.0 / std::max(1.0, o.rate));
    while (!stop.load() && Clock::now() < end) {
      evbus::v1::PutEventsRequest req;
      for (int i = 0; i < 10; ++i) {
        evbus::v1::PutEventsRequestEntry* e = req.add_entries();
        e->set_source("soak");
        e->set_detail_type("Soak");
        e->set_event_bus_name("soak");
        e->set_detail(absl::StrCat(R"({"n":)", put.load() + i,
                                   R"(,"payload":")", std::string(200, 'x'),
                                   R"("})"));
      }
      grpc::ClientContext c;
      evbus::v1::PutEventsResponse out;
      if (events->PutEvents(&c, req, &out).ok()) {
        put.fetch_add(10);
      } else {
        failed.fetch_add(10);
      }
      next += std::chrono::duration_cast<Clock::duration>(interval);
      std::this_thread::sleep_until(next);
    }
  });

  int64_t rss_first = 0, rss_max = 0, rss_last = 0;
  int fds_first = 0, fds_max = 0, fds_last = 0;
  double depth_max = 0;
  for (int sample = 0; Clock::now() < end; ++sample) {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(
        o.sample_seconds,
        std::chrono::duration<double>(end - Clock::now()).count() + 0.001)));
    rss_last = common::ProcStatusKb(o.daemon_pid, "VmRSS");
    fds_last = OpenFds(o.daemon_pid);
    double depth = MetricValue(http, "evbus_delivery_queue_depth");
    if (sample == 0) {
      rss_first = rss_last;
      fds_first = fds_last;
    }
    rss_max = std::max(rss_max, rss_last);
    fds_max = std::max(fds_max, fds_last);
    depth_max = std::max(depth_max, depth);
    std::printf(
        "{\"t\":%.1f,\"rss_kb\":%lld,\"open_fds\":%d,\"queue_depth\":%.0f,"
        "\"events_put\":%lld,\"webhook_received\":%lld}\n",
        std::chrono::duration<double>(Clock::now() - start).count(),
        static_cast<long long>(rss_last), fds_last, depth,
        static_cast<long long>(put.load()),
        static_cast<long long>(received.load()));
    std::fflush(stdout);
  }
  stop.store(true);
  loader.join();
  receiver.stop();
  serve.join();
  std::printf(
      "{\"summary\":{\"seconds\":%.0f,\"events_put\":%lld,\"put_failures\":%"
      "lld,"
      "\"webhook_received\":%lld,\"rss_kb\":{\"first\":%lld,\"max\":%lld,"
      "\"last\":%lld},\"open_fds\":{\"first\":%d,\"max\":%d,\"last\":%d},"
      "\"queue_depth_max\":%.0f}}\n",
      o.duration_seconds, static_cast<long long>(put.load()),
      static_cast<long long>(failed.load()),
      static_cast<long long>(received.load()),
      static_cast<long long>(rss_first), static_cast<long long>(rss_max),
      static_cast<long long>(rss_last), fds_first, fds_max, fds_last,
      depth_max);
  return 0;
}

}  // namespace evbus::bench
