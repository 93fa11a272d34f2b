#include "bench/restart_bench.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "server/api/http/listen_backlog.h"
#include "server/common/json.h"
#include "server/common/proc_status.h"
#include "tests/testing/evbusd_process.h"

namespace evbus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The sum of every series of metric `name` in a Prometheus text exposition;
// -1 when the metric is absent.
double SumMetric(const std::string& body, const std::string& name) {
  double sum = -1;
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) {
      sum = std::max(0.0, sum) + v;
    }
  }
  return sum;
}

// The number after the last "ready in " in the daemon's log; nullopt when
// absent.
std::optional<int64_t> LoggedReadyMs(const std::string& log) {
  size_t at = log.rfind("ready in ");
  if (at == std::string::npos) return std::nullopt;
  at += 9;
  size_t end = at;
  while (end < log.size() && log[end] >= '0' && log[end] <= '9') ++end;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(log.substr(at, end - at), &ms)) return std::nullopt;
  return ms;
}

// The sum of a metric over its series from `daemon`'s /metrics; -1 when
// unknown.
double Metric(const testing::EvbusdProcess& daemon, const std::string& name) {
  httplib::Client http(absl::StrCat("http://", daemon.http()));
  http.set_read_timeout(10, 0);
  auto r = http.Get("/metrics");
  if (!r || r->status != 200) return -1;
  return SumMetric(r->body, name);
}

// A loopback TCP port that is bound but not listening: connections to it
// are refused until Release().
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return;
    }
    socklen_t len = sizeof(addr);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RefusingPort() { Release(); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  int port() const { return port_; }
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

bool SetUpRule(evbus::v1::EventBusService::Stub& stub, int port) {
  {
    grpc::ClientContext c;
    evbus::v1::PutRuleRequest req;
    req.set_name("restart-bench");
    req.set_event_pattern(R"({"source":["bench.restart"]})");
    evbus::v1::PutRuleResponse resp;
    grpc::Status s = stub.PutRule(&c, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "restart: PutRule: %s\n", s.error_message().c_str());
      return false;
    }
  }
  grpc::ClientContext c;
  evbus::v1::PutTargetsRequest req;
  req.set_rule("restart-bench");
  auto* t = req.add_targets();
  t->set_id("receiver");
  t->set_arn(absl::StrCat("http://127.0.0.1:", port, "/restart"));
  t->set_max_concurrency(64);
  evbus::v1::PutTargetsResponse resp;
  grpc::Status s = stub.PutTargets(&c, req, &resp);
  if (!s.ok() || resp.failed_entry_count() != 0) {
    std::fprintf(stderr, "restart: PutTargets: %s\n",
                 s.error_message().c_str());
    return false;
  }
  return true;
}

struct PutResult {
  int64_t acknowledged = 0;
  int64_t errors = 0;
  double seconds = 0;
};

// Puts `o.events` events in batches from `o.concurrency` callers; a failed
// call is tried again (at most 5 times).
PutResult PutAll(const std::string& endpoint, const RestartBenchOptions& o) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 4; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(grpc::CreateCustomChannel(
        endpoint, grpc::InsecureChannelCredentials(), args));
  }
  std::string detail = R"({"kind":"restart","pad":")";
  detail.append(static_cast<size_t>(std::max(
                    0, o.payload_bytes - static_cast<int>(detail.size()) - 2)),
                'x');
  detail.append("\"}");
  const int64_t batches = (o.events + o.batch - 1) / o.batch;
  std::atomic<int64_t> next{0}, acknowledged{0}, errors{0};
  const auto start = Clock::now();
  std::vector<std::thread> callers;
  for (int t = 0; t < o.concurrency; ++t) {
    callers.emplace_back([&, t] {
      auto stub = evbus::v1::EventBusService::NewStub(
          channels[static_cast<size_t>(t) % channels.size()]);
      for (int64_t b = next.fetch_add(1); b < batches; b = next.fetch_add(1)) {
        const int64_t n = std::min<int64_t>(o.batch, o.events - b * o.batch);
        evbus::v1::PutEventsRequest req;
        for (int64_t i = 0; i < n; ++i) {
          auto* e = req.add_entries();
          e->set_source("bench.restart");
          e->set_detail_type("Restart Bench");
          e->set_detail(detail);
        }
        for (int attempt = 0; attempt < 5; ++attempt) {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
          evbus::v1::PutEventsResponse resp;
          grpc::Status s = stub->PutEvents(&ctx, req, &resp);
          if (s.ok() && resp.failed_entry_count() == 0) {
            acknowledged.fetch_add(n);
            break;
          }
          errors.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  for (std::thread& c : callers) c.join();
  return {acknowledged.load(), errors.load(), Seconds(Clock::now() - start)};
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs the three phases in `dir`; fills `out`. Returns 0 when every event
// put was delivered after the restart.
int Measure(const RestartBenchOptions& o, const std::string& dir,
            common::Json& out) {
  RefusingPort refusing;
  if (refusing.port() == 0) {
    std::fprintf(stderr, "restart: cannot bind a loopback port\n");
    return 1;
  }
  const int port = refusing.port();

  // 1. A daemon whose only target refuses connections; N events queued.
  testing::EvbusdProcess first(o.evbusd, dir);
  if (!first.Spawn("evbusd-1.log") ||
      !first.WaitReady(std::chrono::seconds(60))) {
    return 1;
  }
  {
    auto stub = evbus::v1::EventBusService::NewStub(
        grpc::CreateChannel(first.grpc(), grpc::InsecureChannelCredentials()));
    if (!SetUpRule(*stub, port)) return 1;
  }
  PutResult put = PutAll(first.grpc(), o);
  out["events_put"] = put.acknowledged;
  out["put_errors"] = put.errors;
  out["put_seconds"] = put.seconds;
  out["put_events_per_second"] =
      static_cast<double>(put.acknowledged) / put.seconds;
  // Refused attempts so far: those tasks are due later, with backoff.
  out["queue_depth_before_kill"] = Metric(first, "evbus_delivery_queue_depth");
  out["refused_attempts_before_kill"] =
      Metric(first, "evbus_retry_invocation_attempts_total");
  out["rss_kb_before_kill"] = common::ProcStatusKb(first.pid(), "VmRSS");
  first.Kill(SIGKILL);

  // 2. The receiver on the same port.
  refusing.Release();
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> first_ns{0}, last_ns{0};
  httplib::Server receiver;
  receiver.new_task_queue = [n = o.receiver_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(n));
  };
  receiver.set_keep_alive_max_count(1000000);
  receiver.Post("/restart",
                [&](const httplib::Request&, httplib::Response& res) {
                  int64_t now = Clock::now().time_since_epoch().count();
                  int64_t zero = 0;
                  first_ns.compare_exchange_strong(zero, now);
                  last_ns.store(now, std::memory_order_relaxed);
                  received.fetch_add(1, std::memory_order_relaxed);
                  res.status = 200;
                });
  if (api::BindWithFullBacklog(receiver, "127.0.0.1", port) != port) {
    std::fprintf(stderr, "restart: cannot bind the receiver to port %d\n",
                 port);
    return 1;
  }
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  for (int i = 0; i < 500 && !receiver.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  // 3. Restart on the same data dir and watch the backlog drain.
  int rc = 1;
  testing::EvbusdProcess second(o.evbusd, dir);
  if (second.Spawn("evbusd-2.log") &&
      second.WaitReady(std::chrono::seconds(600))) {
    const Clock::time_point spawned = second.spawned();
    out["ready_seconds"] = Seconds(second.ready() - spawned);
    std::optional<int64_t> logged = LoggedReadyMs(ReadFile(second.log()));
    if (logged.has_value()) out["daemon_ready_ms"] = *logged;
    out["rss_kb_after_ready"] = common::ProcStatusKb(second.pid(), "VmRSS");
    out["delivered_before_ready"] = received.load();
    out["queue_depth_at_ready"] = Metric(second, "evbus_delivery_queue_depth");

    std::vector<double> samples;  // receipts in each second after ready
    int64_t peak_rss = 0;
    int64_t last = received.load();
    auto last_progress = Clock::now();
    auto tick = second.ready();
    const auto hard_stop = tick + std::chrono::hours(1);
    while (received.load() < put.acknowledged && second.Alive() &&
           Clock::now() < hard_stop &&
           Seconds(Clock::now() - last_progress) < o.stall_seconds) {
      tick += std::chrono::seconds(1);
      std::this_thread::sleep_until(tick);
      int64_t now_received = received.load();
      samples.push_back(static_cast<double>(now_received - last));
      if (now_received != last) last_progress = Clock::now();
      last = now_received;
      peak_rss =
          std::max(peak_rss, common::ProcStatusKb(second.pid(), "VmRSS"));
    }
    const int64_t delivered = received.load();
    out["delivered"] = delivered;
    out["all_delivered"] = delivered >= put.acknowledged;
    const Clock::time_point first_receipt{Clock::duration(first_ns.load())};
    const Clock::time_point last_receipt{Clock::duration(last_ns.load())};
    if (delivered > 0) {
      const double drain = Seconds(last_receipt - first_receipt);
      out["first_delivery_seconds"] = Seconds(first_receipt - spawned);
      out["drain_seconds"] = drain;
      out["spawn_to_last_delivery_seconds"] = Seconds(last_receipt - spawned);
      out["deliveries_per_second"] =
          drain > 0 ? static_cast<double>(delivered) / drain : 0;
      // Whole seconds of the drain: after the second of the first receipt
      // and before the one in which the last arrived.
      std::vector<double> full;
      int zero_seconds = 0;
      size_t begin = 0;
      while (begin < samples.size() && samples[begin] == 0) ++begin;
      for (size_t i = begin + 1; i + 1 < samples.size(); ++i) {
        full.push_back(samples[i]);
        if (samples[i] == 0) ++zero_seconds;
      }
      out["deliveries_per_second_median"] = Median(full);
      out["seconds_without_deliveries_during_drain"] = zero_seconds;
    }
    out["rss_kb_peak_sampled_during_drain"] = peak_rss;
    out["vm_hwm_kb"] = common::ProcStatusKb(second.pid(), "VmHWM");
    out["per_second_samples"] = samples;
    rc = delivered >= put.acknowledged ? 0 : 1;
  }
  second.Kill(SIGTERM);
  receiver.stop();
  receiver_thread.join();
  return rc;
}

}  // namespace

int RunRestartBench(const RestartBenchOptions& o) {
  char dir_template[] = "/tmp/evbus-restart-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::perror("restart: mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  // Searchable, so that evbusd's function user does not warn about it.
  ::chmod(dir.c_str(), 0711);
  common::Json out = common::Json::object();
  out["events"] = o.events;
  out["batch"] = o.batch;
  out["concurrency"] = o.concurrency;
  out["payload_bytes"] = o.payload_bytes;
  const int rc = Measure(o, dir, out);  // every daemon is gone after this
  if (o.keep_data_dir) {
    out["data_dir"] = dir;
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::printf("%s\n", out.dump(2).c_str());
  return rc;
}

}  // namespace evbus::bench
