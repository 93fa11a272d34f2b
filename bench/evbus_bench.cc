// evbus-bench: benchmarks for evbus (docs/performance.md).
//   evbus-bench put-events --endpoint E --concurrency C --batch B
//                          --payload-bytes N --duration S [--rules K]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/e2e_bench.h"
#include "bench/functions_bench.h"
#include "bench/http_limit.h"
#include "bench/match_bench.h"
#include "bench/put_events_load.h"
#include "bench/restart_bench.h"
#include "bench/schedules_bench.h"
#include "bench/soak_bench.h"

namespace {

int Usage() {
  std::fprintf(
      stderr,
      "usage: evbus-bench put-events [--endpoint HOST:PORT] "
      "[--concurrency C] [--batch B] [--payload-bytes N] "
      "[--duration S] [--channels K] [--event-bus-name B] [--rules K] "
      "[--client-threads N] [--tls-ca FILE]\n"
      "       evbus-bench e2e [--endpoint HOST:PORT] [--concurrency C] "
      "[--rate R] [--duration S] [--payload-bytes N] [--batch B]\n"
      "       evbus-bench match --rules FILE --events FILE.jsonl "
      "[--seconds S] [--set NAME] [--verify N] [--flatten-only 1] "
      "[--trusted 0|1 (default 1: as evbusd routes)] "
      "[--huge-pages 0|1 (default 1: as evbusd's matcher)]\n"
      "       evbus-bench schedules [--endpoint E] [--count N] "
      "[--due-together K] [--concurrency C] [--pid P]\n"
      "       evbus-bench functions [--endpoint E] [--http H] [--warm N] "
      "[--cold N] [--async N] [--concurrency C]\n"
      "       evbus-bench soak --pid P [--endpoint E] [--http H] "
      "[--duration S] [--rate R] [--sample S]\n"
      "       evbus-bench http-limit [--connections C] [--duration S] "
      "[--payload-bytes N]\n"
      "       evbus-bench restart --evbusd PATH [--events N] [--batch B] "
      "[--concurrency C] [--payload-bytes N] [--keep-data-dir]\n");
  return 2;
}

// The "--flag value" options of one verb (and bare switches), each with
// its parser and range; reports the flag it cannot take.
class Flags {
 public:
  Flags& Str(const char* name, std::string* out) {
    return Add(name, [out](const std::string& v) {
      *out = v;
      return true;
    });
  }
  template <typename Integer>
  Flags& Int(const char* name, Integer* out, int64_t lo, int64_t hi) {
    return Add(name, [out, lo, hi](const std::string& v) {
      int64_t x = 0;
      if (!absl::SimpleAtoi(v, &x) || x < lo || x > hi ||
          x > static_cast<int64_t>(std::numeric_limits<Integer>::max())) {
        return false;
      }
      *out = static_cast<Integer>(x);
      return true;
    });
  }
  // (lo, hi]: lo itself is excluded when `lo_open`.
  Flags& Double(const char* name, double* out, double lo, double hi,
                bool lo_open = true) {
    return Add(name, [=](const std::string& v) {
      double x = 0;
      if (!absl::SimpleAtod(v, &x) || (lo_open ? x <= lo : x < lo) || x > hi) {
        return false;
      }
      *out = x;
      return true;
    });
  }
  Flags& Switch(const char* name, bool* out) {
    switches_[name] = out;
    return *this;
  }

  // Parses argv[2..]; false (after saying why) on an unknown flag, a missing
  // value or a value out of range.
  bool Parse(int argc, char** argv) const {
    for (int i = 2; i < argc; ++i) {
      const std::string flag = argv[i];
      if (auto sw = switches_.find(flag); sw != switches_.end()) {
        *sw->second = true;
        continue;
      }
      auto it = values_.find(flag);
      if (it == values_.end() || i + 1 >= argc || !it->second(argv[++i])) {
        std::fprintf(stderr, "evbus-bench: bad or unknown option %s\n",
                     flag.c_str());
        return false;
      }
    }
    return true;
  }

 private:
  Flags& Add(const char* name, std::function<bool(const std::string&)> fn) {
    values_[name] = std::move(fn);
    return *this;
  }
  std::map<std::string, std::function<bool(const std::string&)>> values_;
  std::map<std::string, bool*> switches_;
};

constexpr int64_t kBig = int64_t{1} << 40;

int PutEvents(int argc, char** argv) {
  evbus::bench::PutEventsLoadOptions o;
  Flags f;
  f.Str("--endpoint", &o.endpoint)
      .Str("--event-bus-name", &o.event_bus_name)
      .Int("--concurrency", &o.concurrency, 1, 4096)
      .Int("--batch", &o.batch, 1, 10)
      .Int("--payload-bytes", &o.payload_bytes, 1, 1 << 20)
      .Double("--duration", &o.duration_seconds, 0, 3600)
      .Int("--channels", &o.channels, 1, 256)
      .Int("--client-threads", &o.client_threads, 0, 64)
      .Int("--rules", &o.rules, 0, 100000)
      .Str("--tls-ca", &o.tls_ca_file);
  if (!f.Parse(argc, argv)) return Usage();
  return evbus::bench::RunPutEventsLoad(o);
}

int E2e(int argc, char** argv) {
  evbus::bench::E2eOptions o;
  Flags f;
  f.Str("--endpoint", &o.endpoint)
      .Int("--concurrency", &o.concurrency, 1, 4096)
      .Double("--rate", &o.rate, 0, 1e9, /*lo_open=*/false)
      .Double("--duration", &o.duration_seconds, 0, 3600)
      .Int("--payload-bytes", &o.payload_bytes, 1, 1 << 20)
      .Int("--batch", &o.batch, 1, 10);
  if (!f.Parse(argc, argv)) return Usage();
  return evbus::bench::RunE2e(o);
}

int HttpLimit(int argc, char** argv) {
  evbus::bench::HttpLimitOptions o;
  Flags f;
  f.Int("--connections", &o.connections, 1, 1024)
      .Double("--duration", &o.duration_seconds, 0, 3600)
      .Int("--payload-bytes", &o.payload_bytes, 1, 1 << 20);
  if (!f.Parse(argc, argv)) return Usage();
  o.receiver_threads = std::max(o.receiver_threads, o.connections + 8);
  return evbus::bench::RunHttpLimit(o);
}

int Restart(int argc, char** argv) {
  evbus::bench::RestartBenchOptions o;
  Flags f;
  f.Str("--evbusd", &o.evbusd)
      .Int("--events", &o.events, 1, kBig)
      .Int("--batch", &o.batch, 1, 10)
      .Int("--concurrency", &o.concurrency, 1, 1024)
      .Int("--payload-bytes", &o.payload_bytes, 1, 1 << 20)
      .Switch("--keep-data-dir", &o.keep_data_dir);
  if (!f.Parse(argc, argv)) return Usage();
  if (o.evbusd.empty()) {
    std::fprintf(stderr, "evbus-bench restart: --evbusd is required\n");
    return Usage();
  }
  return evbus::bench::RunRestartBench(o);
}

int Soak(int argc, char** argv) {
  evbus::bench::SoakOptions o;
  Flags f;
  f.Str("--endpoint", &o.endpoint)
      .Str("--http", &o.http)
      .Int("--pid", &o.daemon_pid, 0, kBig)
      .Double("--duration", &o.duration_seconds, 0, 86400)
      .Double("--rate", &o.rate, 0, 1e9)
      .Double("--sample", &o.sample_seconds, 0, 86400);
  if (!f.Parse(argc, argv)) return Usage();
  return evbus::bench::RunSoak(o);
}

int Functions(int argc, char** argv) {
  evbus::bench::FunctionsBenchOptions o;
  Flags f;
  f.Str("--endpoint", &o.endpoint)
      .Str("--http", &o.http)
      .Int("--warm", &o.warm_invocations, 0, kBig)
      .Int("--cold", &o.cold_invocations, 0, kBig)
      .Int("--async", &o.async_invocations, 0, kBig)
      .Int("--concurrency", &o.concurrency, 1, 4096);
  if (!f.Parse(argc, argv)) return Usage();
  return evbus::bench::RunFunctionsBench(o);
}

int Schedules(int argc, char** argv) {
  evbus::bench::SchedulesBenchOptions o;
  Flags f;
  f.Str("--endpoint", &o.endpoint)
      .Int("--count", &o.count, 0, kBig)
      .Int("--concurrency", &o.concurrency, 1, 4096)
      .Int("--due-together", &o.due_together, 0, kBig)
      .Int("--pid", &o.daemon_pid, 0, kBig);
  if (!f.Parse(argc, argv)) return Usage();
  return evbus::bench::RunSchedulesBench(o);
}

int Match(int argc, char** argv) {
  std::string rules, events;
  evbus::bench::MatchBenchOptions o;
  Flags f;
  f.Str("--rules", &rules)
      .Str("--events", &events)
      .Double("--seconds", &o.seconds, 0, 86400)
      .Str("--set", &o.set)
      .Int("--verify", &o.verify_events, 0, kBig)
      .Int("--flatten-only", &o.flatten_only, 0, 1)
      .Int("--trusted", &o.trusted, 0, 1)
      .Int("--huge-pages", &o.huge_pages, 0, 1);
  if (!f.Parse(argc, argv) || rules.empty() || events.empty()) return Usage();
  return evbus::bench::RunMatchBench(rules, events, o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string verb = argv[1];
  if (verb == "put-events") return PutEvents(argc, argv);
  if (verb == "e2e") return E2e(argc, argv);
  if (verb == "http-limit") return HttpLimit(argc, argv);
  if (verb == "restart") return Restart(argc, argv);
  if (verb == "soak") return Soak(argc, argv);
  if (verb == "functions") return Functions(argc, argv);
  if (verb == "schedules") return Schedules(argc, argv);
  if (verb == "match") return Match(argc, argv);
  return Usage();
}
