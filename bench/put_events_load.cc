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
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/tls_files.h"

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

// The rules of a --rules run: rule 0 matches the load's source and delivers
// to the receiver; the others name sources nobody sends.
class BenchRules {
 public:
  BenchRules(evbus::v1::EventBusService::Stub* stub, std::string bus)
      : stub_(stub), bus_(std::move(bus)) {}
  ~BenchRules() { Remove(); }

  bool Create(int count, const std::string& source, int port) {
    const std::string tag = common::NewUuidV4().substr(0, 8);
    for (int i = 0; i < count; ++i) {
      std::string name = absl::StrCat("load-bench-", tag, "-", i);
      grpc::ClientContext c;
      evbus::v1::PutRuleRequest req;
      req.set_name(name);
      if (!bus_.empty()) req.set_event_bus_name(bus_);
      req.set_event_pattern(absl::StrCat(
          R"({"source":[")", i == 0 ? source : absl::StrCat("bench.none-", i),
          R"("],"detail-type":["Bench Event"]})"));
      evbus::v1::PutRuleResponse resp;
      grpc::Status s = stub_->PutRule(&c, req, &resp);
      if (!s.ok()) {
        std::fprintf(stderr, "PutRule: %s\n", s.error_message().c_str());
        return false;
      }
      names_.push_back(name);
    }
    grpc::ClientContext c;
    evbus::v1::PutTargetsRequest req;
    req.set_rule(names_.front());
    if (!bus_.empty()) req.set_event_bus_name(bus_);
    auto* t = req.add_targets();
    t->set_id("receiver");
    t->set_arn(absl::StrCat("http://127.0.0.1:", port, "/load"));
    t->set_max_concurrency(64);
    evbus::v1::PutTargetsResponse resp;
    grpc::Status s = stub_->PutTargets(&c, req, &resp);
    if (!s.ok() || resp.failed_entry_count() != 0) {
      std::fprintf(stderr, "PutTargets: %s\n", s.error_message().c_str());
      return false;
    }
    target_added_ = true;
    return true;
  }

  void Remove() {
    if (target_added_) {
      grpc::ClientContext c;
      evbus::v1::RemoveTargetsRequest req;
      req.set_rule(names_.front());
      if (!bus_.empty()) req.set_event_bus_name(bus_);
      req.add_ids("receiver");
      evbus::v1::PutTargetsResponse resp;
      (void)stub_->RemoveTargets(&c, req, &resp);
      target_added_ = false;
    }
    for (const std::string& name : names_) {
      grpc::ClientContext c;
      evbus::v1::DeleteRuleRequest req;
      req.set_name(name);
      if (!bus_.empty()) req.set_event_bus_name(bus_);
      evbus::v1::Empty empty;
      (void)stub_->DeleteRule(&c, req, &empty);
    }
    names_.clear();
  }

 private:
  evbus::v1::EventBusService::Stub* stub_;
  std::string bus_;
  std::vector<std::string> names_;
  bool target_added_ = false;
};

}  // namespace

int RunPutEventsLoad(const PutEventsLoadOptions& o) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!o.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        common::LoadPemCertificates(o.tls_ca_file, "--tls-ca");
    if (!ca.ok()) {
      std::fprintf(stderr, "evbus-bench: %s\n",
                   std::string(ca.status().message()).c_str());
      return 2;
    }
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = *std::move(ca);
    credentials = grpc::SslCredentials(tls);
  }
  // With rules: a receiver that answers 200 and counts.
  std::atomic<int64_t> delivered{0};
  httplib::Server receiver;
  std::thread receiver_thread;
  std::unique_ptr<evbus::v1::EventBusService::Stub> control_stub;
  std::unique_ptr<BenchRules> rules;  // destroyed before control_stub
  const std::string source =
      o.rules > 0
          ? absl::StrCat("bench.load-", common::NewUuidV4().substr(0, 8))
          : "bench.load";
  if (o.rules > 0) {
    // A thread per keep-alive connection the daemon may open.
    receiver.new_task_queue = [] { return new httplib::ThreadPool(72); };
    receiver.set_keep_alive_max_count(1000000);
    receiver.Post("/load",
                  [&](const httplib::Request&, httplib::Response& res) {
                    delivered.fetch_add(1, std::memory_order_relaxed);
                    res.status = 200;
                  });
    const int port = api::BindWithFullBacklog(receiver, "127.0.0.1", 0);
    receiver_thread = std::thread([&] { receiver.listen_after_bind(); });
    control_stub = evbus::v1::EventBusService::NewStub(
        grpc::CreateChannel(o.endpoint, credentials));
    rules = std::make_unique<BenchRules>(control_stub.get(), o.event_bus_name);
    if (!rules->Create(o.rules, source, port)) {
      rules.reset();
      receiver.stop();
      receiver_thread.join();
      return 1;
    }
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, o.channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(o.endpoint, credentials, args));
  }
  evbus::v1::PutEventsRequest request;
  for (int i = 0; i < o.batch; ++i) {
    auto* e = request.add_entries();
    e->set_source(source);
    e->set_detail_type("Bench Event");
    e->set_detail(MakeDetail(o.payload_bytes, i));
    if (!o.event_bus_name.empty()) e->set_event_bus_name(o.event_bus_name);
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, events{0}, errors{0};
  std::vector<std::vector<double>> latencies(o.concurrency);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  if (o.client_threads > 0) {
    // Asynchronous client: `concurrency` calls in flight, driven by a few
    // threads polling completion queues, so that the load generator takes
    // less of the machine than one blocking thread per caller.
    const int nthreads = std::min(o.client_threads, o.concurrency);
    latencies.assign(static_cast<size_t>(nthreads), {});
    for (int t = 0; t < nthreads; ++t) {
      threads.emplace_back([&, t] {
        struct Call {
          grpc::ClientContext ctx;
          evbus::v1::PutEventsResponse response;
          grpc::Status status;
          std::unique_ptr<
              grpc::ClientAsyncResponseReader<evbus::v1::PutEventsResponse>>
              reader;
          Clock::time_point begin;
        };
        grpc::CompletionQueue cq;
        auto stub = evbus::v1::EventBusService::NewStub(
            channels[static_cast<size_t>(t) % channels.size()]);
        latencies[t].reserve(200000);
        auto launch = [&] {
          auto* call = new Call;
          call->ctx.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10));
          call->begin = Clock::now();
          call->reader = stub->PrepareAsyncPutEvents(&call->ctx, request, &cq);
          call->reader->StartCall();
          call->reader->Finish(&call->response, &call->status, call);
        };
        int in_flight = 0;
        for (int c = t; c < o.concurrency; c += nthreads) {
          launch();
          ++in_flight;
        }
        void* tag = nullptr;
        bool ok = false;
        while (in_flight > 0 && cq.Next(&tag, &ok)) {
          auto* call = static_cast<Call*>(tag);
          --in_flight;
          if (!ok || !call->status.ok() ||
              call->response.failed_entry_count() != 0) {
            errors.fetch_add(1);
          } else {
            latencies[t].push_back(std::chrono::duration<double, std::milli>(
                                       Clock::now() - call->begin)
                                       .count());
            calls.fetch_add(1, std::memory_order_relaxed);
            events.fetch_add(o.batch, std::memory_order_relaxed);
          }
          delete call;
          if (!stop.load(std::memory_order_relaxed)) {
            launch();
            ++in_flight;
          }
        }
      });
    }
  } else {
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
  }
  std::this_thread::sleep_for(
      std::chrono::duration<double>(o.duration_seconds));
  stop.store(true);
  for (std::thread& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  int64_t delivered_during = delivered.load();
  double drain_seconds = 0;
  if (rules != nullptr) {
    // Wait for the backlog to drain (bounded: 120 s without progress).
    const auto drain_start = Clock::now();
    int64_t last = -1;
    auto last_progress = Clock::now();
    while (delivered.load() < events.load() &&
           Clock::now() - last_progress < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (delivered.load() != last) {
        last = delivered.load();
        last_progress = Clock::now();
      }
    }
    drain_seconds =
        std::chrono::duration<double>(Clock::now() - drain_start).count();
    rules.reset();
    receiver.stop();
    receiver_thread.join();
  }

  common::Json out = common::Json::object();
  out["endpoint"] = o.endpoint;
  out["concurrency"] = o.concurrency;
  out["batch"] = o.batch;
  out["payload_bytes"] = o.payload_bytes;
  out["client"] = o.client_threads > 0
                      ? absl::StrCat("async, ", o.client_threads, " threads")
                      : "one blocking thread per caller";
  out["duration_s"] = elapsed;
  out["calls"] = calls.load();
  out["events"] = events.load();
  out["errors"] = errors.load();
  out["events_per_second"] = static_cast<double>(events.load()) / elapsed;
  out["calls_per_second"] = static_cast<double>(calls.load()) / elapsed;
  if (o.rules > 0) {
    out["rules"] = o.rules;
    out["delivered_during_load"] = delivered_during;
    out["delivered"] = delivered.load();
    out["drain_after_load_s"] = drain_seconds;
    out["delivered_per_second_including_drain"] =
        static_cast<double>(delivered.load()) / (elapsed + drain_seconds);
  }
  out["latency_ms"] = {{"p50", Percentile(all, 50)},
                       {"p90", Percentile(all, 90)},
                       {"p99", Percentile(all, 99)},
                       {"p99.9", Percentile(all, 99.9)}};
  std::printf("%s\n", out.dump(2).c_str());
  return calls.load() > 0 ? 0 : 1;
}

}  // namespace evbus::bench
