// evbus-bench: benchmarks for evbus (docs/performance.md).
//   evbus-bench put-events --endpoint E --concurrency C --batch B
//                          --payload-bytes N --duration S
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/put_events_load.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: evbus-bench put-events [--endpoint HOST:PORT] "
               "[--concurrency C] [--batch B] [--payload-bytes N] "
               "[--duration S] [--channels K] [--event-bus-name B]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string verb = argv[1];
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
