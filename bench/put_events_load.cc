#include "bench/put_events_load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/common/json.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string MakeDetail(int bytes, int seed) {
  // A JSON object of about `bytes` bytes with a few fields.
  std::string detail =
      absl::StrCat("{\"seq\":", seed, ",\"kind\":\"order\",\"pad\":\"");
  int pad = std::max(0, bytes - static_cast<int>(detail.size()) - 2);
  detail.append(static_cast<size_t>(pad), 'x');
  detail.append("\"}");
  return detail;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t idx =
      std::min(v.size() - 1,
               static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return v[idx];
}

}  // namespace

int RunPutEventsLoad(const PutEventsLoadOptions& o) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, o.channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(grpc::CreateCustomChannel(
        o.endpoint, grpc::InsecureChannelCredentials(), args));
  }
  evbus::v1::PutEventsRequest request;
  for (int i = 0; i < o.batch; ++i) {
    auto* e = request.add_entries();
    e->set_source("bench.load");
    e->set_detail_type("Bench Event");
    e->set_detail(MakeDetail(o.payload_bytes, i));
    if (!o.event_bus_name.empty()) e->set_event_bus_name(o.event_bus_name);
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, events{0}, errors{0};
  std::vector<std::vector<double>> latencies(o.concurrency);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      auto stub = evbus::v1::EventBusService::NewStub(
          channels[static_cast<size_t>(t) % channels.size()]);
      latencies[t].reserve(100000);
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
        evbus::v1::PutEventsResponse response;
        auto begin = Clock::now();
        grpc::Status s = stub->PutEvents(&ctx, request, &response);
        double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - begin)
                .count();
        if (!s.ok() || response.failed_entry_count() != 0) {
          errors.fetch_add(1);
          continue;
        }
        latencies[t].push_back(ms);
        calls.fetch_add(1, std::memory_order_relaxed);
        events.fetch_add(o.batch, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(
      std::chrono::duration<double>(o.duration_seconds));
  stop.store(true);
  for (std::thread& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());

  common::Json out = common::Json::object();
  out["endpoint"] = o.endpoint;
  out["concurrency"] = o.concurrency;
  out["batch"] = o.batch;
  out["payload_bytes"] = o.payload_bytes;
  out["duration_s"] = elapsed;
  out["calls"] = calls.load();
  out["events"] = events.load();
  out["errors"] = errors.load();
  out["events_per_second"] = static_cast<double>(events.load()) / elapsed;
  out["calls_per_second"] = static_cast<double>(calls.load()) / elapsed;
  out["latency_ms"] = {{"p50", Percentile(all, 50)},
                       {"p90", Percentile(all, 90)},
                       {"p99", Percentile(all, 99)},
                       {"p99.9", Percentile(all, 99.9)}};
  std::printf("%s\n", out.dump(2).c_str());
  return calls.load() > 0 ? 0 : 1;
}

}  // namespace evbus::bench
