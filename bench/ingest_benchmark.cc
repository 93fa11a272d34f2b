// Google Benchmark micro-benchmarks of the per-event work on the PutEvents
// path (docs/performance.md): Detail validation and re-serialisation (the
// one-pass fast path against the JSON library's parse + dump it replaced),
// the envelope, event/task ids, and the storage key encodings.
//   ingest_benchmark --benchmark_filter=Detail
#include <uuid/uuid.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/bus/envelope.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/json_canonical.h"
#include "server/storage/keys.h"

namespace {

// A ~1 KB Detail with ~30 leaves, nested objects, arrays, numbers and a
// non-ASCII string, as PutEvents receives it (with spaces).
std::string MakeDetail(int i) {
  return absl::StrCat(
      R"({ "order": { "id": "ord-)", 10000 + i, R"(", "total": )",
      100 + i % 900, R"(.25, "currency": "EUR",)",
      R"( "items": [ { "sku": "SKU-001", "qty": 2, "price": 19.99 },)",
      R"( { "sku": "SKU-002", "qty": 1, "price": 5.5 } ] },)",
      R"( "user": { "id": "u-)", i % 97,
      R"(", "tier": "gold", "email": "alpha@example.com", "age": 41 },)",
      R"( "address": { "city": "Berlin", "country": "DE", "zip": "10115",)",
      R"( "street": "Unter den Linden 1" }, "state": "pending",)",
      R"( "tags": [ "new", "priority", "gift" ], "enabled": true,)",
      R"( "coupon": null, "note": "Caf\u00e9 order \/ from the web shop",)",
      R"( "metrics": { "latency-ms": 123, "ratio": 0.75, "count": 4 },)",
      R"( "message": "Please deliver between 9 and 17 and ring twice" })");
}

void BM_DetailLibraryParseDump(benchmark::State& state) {
  const std::string detail = MakeDetail(7);
  for (auto _ : state) {
    absl::StatusOr<evbus::common::Json> doc = evbus::common::ParseJson(detail);
    std::string out = evbus::common::DumpJson(*doc);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(detail.size()));
}
BENCHMARK(BM_DetailLibraryParseDump);

void BM_DetailCanonicalFastPath(benchmark::State& state) {
  const std::string detail = MakeDetail(7);
  std::string out;
  for (auto _ : state) {
    out.clear();
    bool ok = evbus::common::AppendCanonicalJson(
        detail,
        {.max_depth = 64, .require_object = true, .integers_fit_int64 = true},
        &out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(detail.size()));
}
BENCHMARK(BM_DetailCanonicalFastPath);

void BM_Envelope(benchmark::State& state) {
  std::string detail;
  evbus::common::AppendCanonicalJson(MakeDetail(7), {}, &detail);
  evbus::bus::EnvelopeFields f;
  f.id = evbus::common::NewUuidV4();
  f.detail_type = "Order Placed";
  f.source = "com.shop.orders";
  f.account = "000000000000";
  f.time = absl::FromUnixSeconds(1767323045);
  f.region = "us-east-1";
  f.resources = {"arn:aws:s3:::bucket/key"};
  f.detail_json = detail;
  for (auto _ : state) {
    std::string envelope = evbus::bus::BuildEnvelope(f);
    benchmark::DoNotOptimize(envelope);
  }
}
BENCHMARK(BM_Envelope);

void BM_NewUuidV4(benchmark::State& state) {
  for (auto _ : state) {
    std::string id = evbus::common::NewUuidV4();
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(BM_NewUuidV4);

// What NewUuidV4 used before (libuuid), for comparison.
void BM_LibUuidGenerateRandom(benchmark::State& state) {
  for (auto _ : state) {
    uuid_t raw;
    uuid_generate_random(raw);
    char text[37];
    uuid_unparse_lower(raw, text);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_LibUuidGenerateRandom);

void BM_EventKeyEncodeParse(benchmark::State& state) {
  const std::string id = evbus::common::NewUuidV4();
  uint64_t seq = 0;
  for (auto _ : state) {
    std::string key =
        evbus::storage::keys::EventKey("orders", 1767323045123, ++seq, id);
    auto parts = evbus::storage::keys::ParseEventKey(key);
    benchmark::DoNotOptimize(parts);
  }
}
BENCHMARK(BM_EventKeyEncodeParse);

void BM_QueueKeyEncodeParse(benchmark::State& state) {
  const std::string task = evbus::common::NewUuidV4();
  const std::string target =
      evbus::storage::keys::TargetKey("orders", "to-webhook", "receiver");
  uint64_t due = 1767323045123;
  for (auto _ : state) {
    std::string key = evbus::storage::keys::QueueKey(++due, task, target);
    uint64_t d = evbus::storage::keys::QueueKeyDueMs(key);
    auto t = evbus::storage::keys::QueueKeyTargetKey(key);
    benchmark::DoNotOptimize(d);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_QueueKeyEncodeParse);

}  // namespace

BENCHMARK_MAIN();
