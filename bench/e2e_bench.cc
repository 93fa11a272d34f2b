#include "bench/e2e_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/ids.h"
#include "server/common/json.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Receipt times by event id, split over shards with a mutex each so that
// the receiver's threads rarely wait for one another.
class Receipts {
 public:
  // Records the first receipt of `id`.
  void Add(std::string id, Clock::time_point at) {
    Shard& s = shards_[std::hash<std::string>()(id) % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    s.received.emplace(std::move(id), at);
  }
  size_t Size() {
    size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      n += s.received.size();
    }
    return n;
  }
  // All receipts; call once the receiver has stopped.
  std::unordered_map<std::string, Clock::time_point> Merge() {
    std::unordered_map<std::string, Clock::time_point> all;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      all.merge(s.received);
    }
    return all;
  }

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Clock::time_point> received;
  };
  Shard shards_[kShards];
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx =
      std::min(v.size() - 1,
               static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[idx];
}

}  // namespace

int RunE2e(const E2eOptions& o) {
  // The receiver: records when each event id arrives.
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;  // guarded by mu
  Receipts receipts;
  httplib::Server server;
  server.new_task_queue = [n = o.receiver_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(n));
  };
  server.set_keep_alive_max_count(1000000);
  server.Post("/e2e", [&](const httplib::Request& req, httplib::Response& res) {
    auto now = Clock::now();
    size_t at = req.body.find("\"id\":\"");
    if (at != std::string::npos) {
      receipts.Add(req.body.substr(at + 6, 36), now);
    }
    res.status = 200;
  });
  int port = api::BindWithFullBacklog(server, "127.0.0.1", 0);
  std::thread server_thread([&] { server.listen_after_bind(); });

  auto channel =
      grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  auto stub = evbus::v1::EventBusService::NewStub(channel);
  std::string rule =
      absl::StrCat("e2e-bench-", common::NewUuidV4().substr(0, 8));
  std::string source = absl::StrCat("bench.", rule);
  {
    grpc::ClientContext c;
    evbus::v1::PutRuleRequest req;
    req.set_name(rule);
    req.set_event_pattern(absl::StrCat(R"({"source":[")", source, R"("]})"));
    evbus::v1::PutRuleResponse resp;
    grpc::Status s = stub->PutRule(&c, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "PutRule: %s\n", s.error_message().c_str());
      server.stop();
      server_thread.join();
      return 1;
    }
  }
  {
    grpc::ClientContext c;
    evbus::v1::PutTargetsRequest req;
    req.set_rule(rule);
    auto* t = req.add_targets();
    t->set_id("receiver");
    t->set_arn(absl::StrCat("http://127.0.0.1:", port, "/e2e"));
    t->set_max_concurrency(64);
    evbus::v1::PutTargetsResponse resp;
    grpc::Status s = stub->PutTargets(&c, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "PutTargets: %s\n", s.error_message().c_str());
      server.stop();
      server_thread.join();
      return 1;
    }
  }

  std::string detail = absl::StrCat(
      R"({"pad":")",
      std::string(static_cast<size_t>(std::max(0, o.payload_bytes - 10)), 'x'),
      R"("})");
  std::atomic<int64_t> errors{0};
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.duration_seconds));
  std::vector<std::thread> callers;
  for (int t = 0; t < o.concurrency; ++t) {
    callers.emplace_back([&, t] {
      auto my_stub = evbus::v1::EventBusService::NewStub(channel);
      double per_caller = o.rate > 0 ? o.rate / o.concurrency : 0;
      auto next = start + std::chrono::microseconds(t * 97);
      while (Clock::now() < end) {
        if (per_caller > 0) {
          std::this_thread::sleep_until(next);
          next += std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(1.0 / per_caller));
        }
        grpc::ClientContext c;
        evbus::v1::PutEventsRequest req;
        for (int b = 0; b < o.batch; ++b) {
          auto* e = req.add_entries();
          e->set_source(source);
          e->set_detail_type("E2E");
          e->set_detail(detail);
        }
        evbus::v1::PutEventsResponse resp;
        auto before = Clock::now();
        grpc::Status s = my_stub->PutEvents(&c, req, &resp);
        if (!s.ok() || resp.failed_entry_count() != 0) {
          errors.fetch_add(1);
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& r : resp.entries()) sent.emplace(r.event_id(), before);
      }
    });
  }
  for (auto& c : callers) c.join();
  // Let the last deliveries land (bounded: 60 s).
  for (int i = 0; i < 1200; ++i) {
    size_t want = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      want = sent.size();
    }
    if (receipts.Size() >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double elapsed = std::chrono::duration<double>(end - start).count();
  server.stop();
  server_thread.join();
  std::unordered_map<std::string, Clock::time_point> received =
      receipts.Merge();
  std::vector<double> latencies;
  size_t delivered = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, t0] : sent) {
      auto it = received.find(id);
      if (it == received.end()) continue;
      ++delivered;
      latencies.push_back(
          std::chrono::duration<double, std::milli>(it->second - t0).count());
    }
  }
  {
    grpc::ClientContext c;
    evbus::v1::RemoveTargetsRequest req;
    req.set_rule(rule);
    req.add_ids("receiver");
    evbus::v1::PutTargetsResponse resp;
    (void)stub->RemoveTargets(&c, req, &resp);
    grpc::ClientContext c2;
    evbus::v1::DeleteRuleRequest del;
    del.set_name(rule);
    evbus::v1::Empty empty;
    (void)stub->DeleteRule(&c2, del, &empty);
  }
  common::Json out = common::Json::object();
  out["endpoint"] = o.endpoint;
  out["rate_target"] = o.rate;
  out["concurrency"] = o.concurrency;
  out["duration_s"] = elapsed;
  out["sent"] = sent.size();
  out["delivered"] = delivered;
  out["errors"] = errors.load();
  out["sent_per_second"] = static_cast<double>(sent.size()) / elapsed;
  out["delivered_per_second"] = static_cast<double>(delivered) / elapsed;
  {
    // Delivery throughput from the first to the last receipt.
    if (received.size() > 1) {
      auto first = received.begin()->second, last = first;
      for (const auto& [id, t] : received) {
        first = std::min(first, t);
        last = std::max(last, t);
      }
      double span = std::chrono::duration<double>(last - first).count();
      if (span > 0) {
        out["receipt_span_s"] = span;
        out["deliveries_per_second_over_span"] =
            static_cast<double>(received.size()) / span;
      }
    }
  }
  out["latency_ms"] = {{"p50", Percentile(latencies, 50)},
                       {"p90", Percentile(latencies, 90)},
                       {"p99", Percentile(latencies, 99)},
                       {"p99.9", Percentile(latencies, 99.9)}};
  std::printf("%s\n", out.dump(2).c_str());
  return delivered > 0 ? 0 : 1;
}

}  // namespace evbus::bench
