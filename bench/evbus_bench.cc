// evbus-bench: benchmarks for evbus (docs/performance.md).
//   evbus-bench put-events --endpoint E --concurrency C --batch B
//                          --payload-bytes N --duration S [--rules K]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
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
      "[--client-threads N]\n"
      "       evbus-bench e2e [--endpoint HOST:PORT] [--concurrency C] "
      "[--rate R] [--duration S] [--payload-bytes N] [--batch B]\n"
      "       evbus-bench match --rules FILE --events FILE.jsonl "
      "[--seconds S] [--set NAME] [--verify N]\n"
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

int HttpLimit(int argc, char** argv) {
  evbus::bench::HttpLimitOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--connections") {
      ok = absl::SimpleAtoi(value, &o.connections) && o.connections > 0 &&
           o.connections <= 1024;
    } else if (flag == "--duration") {
      ok = absl::SimpleAtod(value, &o.duration_seconds) &&
           o.duration_seconds > 0 && o.duration_seconds <= 3600;
    } else if (flag == "--payload-bytes") {
      ok = absl::SimpleAtoi(value, &o.payload_bytes) && o.payload_bytes > 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "evbus-bench: bad value for %s\n", flag.c_str());
      return Usage();
    }
  }
  o.receiver_threads = std::max(o.receiver_threads, o.connections + 8);
  return evbus::bench::RunHttpLimit(o);
}

int E2e(int argc, char** argv) {
  evbus::bench::E2eOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--endpoint") {
      o.endpoint = value;
    } else if (flag == "--concurrency") {
      ok = absl::SimpleAtoi(value, &o.concurrency) && o.concurrency > 0;
    } else if (flag == "--rate") {
      ok = absl::SimpleAtod(value, &o.rate) && o.rate >= 0;
    } else if (flag == "--duration") {
      ok = absl::SimpleAtod(value, &o.duration_seconds) &&
           o.duration_seconds > 0 && o.duration_seconds <= 3600;
    } else if (flag == "--payload-bytes") {
      ok = absl::SimpleAtoi(value, &o.payload_bytes) && o.payload_bytes > 0;
    } else if (flag == "--batch") {
      ok = absl::SimpleAtoi(value, &o.batch) && o.batch > 0 && o.batch <= 10;
    } else {
      ok = false;
    }
    if (!ok) return Usage();
  }
  return evbus::bench::RunE2e(o);
}

int Restart(int argc, char** argv) {
  evbus::bench::RestartBenchOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--keep-data-dir") {
      o.keep_data_dir = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--evbusd") {
      o.evbusd = value;
    } else if (flag == "--events") {
      ok = absl::SimpleAtoi(value, &o.events) && o.events > 0;
    } else if (flag == "--batch") {
      ok = absl::SimpleAtoi(value, &o.batch) && o.batch > 0 && o.batch <= 10;
    } else if (flag == "--concurrency") {
      ok = absl::SimpleAtoi(value, &o.concurrency) && o.concurrency > 0 &&
           o.concurrency <= 1024;
    } else if (flag == "--payload-bytes") {
      ok = absl::SimpleAtoi(value, &o.payload_bytes) && o.payload_bytes > 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "evbus-bench: bad value for %s\n", flag.c_str());
      return Usage();
    }
  }
  if (o.evbusd.empty()) {
    std::fprintf(stderr, "evbus-bench restart: --evbusd is required\n");
    return Usage();
  }
  return evbus::bench::RunRestartBench(o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string verb = argv[1];
  if (verb == "e2e") return E2e(argc, argv);
  if (verb == "http-limit") return HttpLimit(argc, argv);
  if (verb == "restart") return Restart(argc, argv);
  if (verb == "soak") {
    evbus::bench::SoakOptions so;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string f = argv[i], v = argv[i + 1];
      bool ok = true;
      if (f == "--endpoint") {
        so.endpoint = v;
      } else if (f == "--http") {
        so.http = v;
      } else if (f == "--pid") {
        ok = absl::SimpleAtoi(v, &so.daemon_pid);
      } else if (f == "--duration") {
        ok = absl::SimpleAtod(v, &so.duration_seconds) &&
             so.duration_seconds > 0 && so.duration_seconds <= 86400;
      } else if (f == "--rate") {
        ok = absl::SimpleAtod(v, &so.rate) && so.rate > 0;
      } else if (f == "--sample") {
        ok = absl::SimpleAtod(v, &so.sample_seconds) && so.sample_seconds > 0;
      } else {
        ok = false;
      }
      if (!ok) return Usage();
    }
    return evbus::bench::RunSoak(so);
  }
  if (verb == "functions") {
    evbus::bench::FunctionsBenchOptions fo;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string f = argv[i], v = argv[i + 1];
      bool ok = true;
      if (f == "--endpoint") {
        fo.endpoint = v;
      } else if (f == "--http") {
        fo.http = v;
      } else if (f == "--warm") {
        ok = absl::SimpleAtoi(v, &fo.warm_invocations);
      } else if (f == "--cold") {
        ok = absl::SimpleAtoi(v, &fo.cold_invocations);
      } else if (f == "--async") {
        ok = absl::SimpleAtoi(v, &fo.async_invocations);
      } else if (f == "--concurrency") {
        ok = absl::SimpleAtoi(v, &fo.concurrency) && fo.concurrency > 0;
      } else {
        ok = false;
      }
      if (!ok) return Usage();
    }
    return evbus::bench::RunFunctionsBench(fo);
  }
  if (verb == "schedules") {
    evbus::bench::SchedulesBenchOptions so;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string f = argv[i], v = argv[i + 1];
      bool ok = true;
      if (f == "--endpoint") {
        so.endpoint = v;
      } else if (f == "--count") {
        ok = absl::SimpleAtoi(v, &so.count) && so.count >= 0;
      } else if (f == "--concurrency") {
        ok = absl::SimpleAtoi(v, &so.concurrency) && so.concurrency > 0;
      } else if (f == "--due-together") {
        ok = absl::SimpleAtoi(v, &so.due_together) && so.due_together >= 0;
      } else if (f == "--pid") {
        ok = absl::SimpleAtoi(v, &so.daemon_pid);
      } else {
        ok = false;
      }
      if (!ok) return Usage();
    }
    return evbus::bench::RunSchedulesBench(so);
  }
  if (verb == "match") {
    std::string rules, events;
    evbus::bench::MatchBenchOptions mo;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string f = argv[i], v = argv[i + 1];
      if (f == "--rules") {
        rules = v;
      } else if (f == "--events") {
        events = v;
      } else if (f == "--seconds") {
        if (!absl::SimpleAtod(v, &mo.seconds) || mo.seconds <= 0)
          return Usage();
      } else if (f == "--set") {
        mo.set = v;
      } else if (f == "--verify") {
        if (!absl::SimpleAtoi(v, &mo.verify_events)) return Usage();
      } else {
        return Usage();
      }
    }
    if (rules.empty() || events.empty()) return Usage();
    return evbus::bench::RunMatchBench(rules, events, mo);
  }
  if (verb != "put-events") return Usage();
  evbus::bench::PutEventsLoadOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--endpoint") {
      o.endpoint = value;
    } else if (flag == "--event-bus-name") {
      o.event_bus_name = value;
    } else if (flag == "--concurrency") {
      ok = absl::SimpleAtoi(value, &o.concurrency) && o.concurrency > 0;
    } else if (flag == "--batch") {
      ok = absl::SimpleAtoi(value, &o.batch) && o.batch > 0 && o.batch <= 10;
    } else if (flag == "--payload-bytes") {
      ok = absl::SimpleAtoi(value, &o.payload_bytes) && o.payload_bytes > 0;
    } else if (flag == "--duration") {
      ok = absl::SimpleAtod(value, &o.duration_seconds) &&
           o.duration_seconds > 0 && o.duration_seconds <= 3600;
    } else if (flag == "--channels") {
      ok = absl::SimpleAtoi(value, &o.channels) && o.channels > 0;
    } else if (flag == "--client-threads") {
      ok = absl::SimpleAtoi(value, &o.client_threads) &&
           o.client_threads >= 0 && o.client_threads <= 64;
    } else if (flag == "--rules") {
      ok = absl::SimpleAtoi(value, &o.rules) && o.rules >= 0 &&
           o.rules <= 100000;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "evbus-bench: bad value for %s\n", flag.c_str());
      return Usage();
    }
  }
  return evbus::bench::RunPutEventsLoad(o);
}
