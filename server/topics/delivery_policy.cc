#include "server/topics/delivery_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/common/json.h"

namespace evbus::topics {
namespace {

constexpr int kTotalRetrySeconds = 3600;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("DeliveryPolicy: ", what));
}

// The k backoff delays from `min` to `max` along `function`.
std::vector<int32_t> Backoff(int min, int max, int k,
                             absl::string_view function) {
  std::vector<int32_t> out;
  for (int i = 1; i <= k; ++i) {
    const double t = static_cast<double>(i) / k;
    double d;
    if (function == "arithmetic") {
      d = min + (max - min) * t * t;
    } else if (function == "geometric") {
      d = min * std::pow(static_cast<double>(max) / min, t);
    } else if (function == "exponential") {
      d = min + (max - min) * (std::exp2(k * t) - 1) / (std::exp2(k) - 1);
    } else {  // linear
      d = min + (max - min) * t;
    }
    out.push_back(static_cast<int32_t>(std::lround(d)));
  }
  return out;
}

}  // namespace

absl::StatusOr<HttpRetryPolicy> ParseHttpDeliveryPolicy(
    absl::string_view json) {
  absl::StatusOr<common::Json> doc = common::ParseJson(json, "DeliveryPolicy");
  if (!doc.ok() || !doc->is_object()) return Invalid("not a JSON object");
  HttpRetryPolicy p;
  if (!doc->contains("http")) return p;
  const common::Json& http = (*doc)["http"];
  if (!http.is_object()) return Invalid("http must be an object");
  if (!http.contains("defaultHealthyRetryPolicy")) return p;
  const common::Json& r = http["defaultHealthyRetryPolicy"];
  if (!r.is_object()) {
    return Invalid("http.defaultHealthyRetryPolicy must be an object");
  }
  struct Field {
    const char* name;
    int* value;
    int min;
    int max;
  };
  const Field fields[] = {
      {"minDelayTarget", &p.min_delay_target, 1, 3600},
      {"maxDelayTarget", &p.max_delay_target, 1, 3600},
      {"numRetries", &p.num_retries, 0, 100},
      {"numNoDelayRetries", &p.num_no_delay_retries, 0, 100},
      {"numMinDelayRetries", &p.num_min_delay_retries, 0, 100},
      {"numMaxDelayRetries", &p.num_max_delay_retries, 0, 100},
  };
  for (const Field& f : fields) {
    if (!r.contains(f.name)) continue;
    const common::Json& v = r[f.name];
    if (!v.is_number_integer() || v.get<int64_t>() < f.min ||
        v.get<int64_t>() > f.max) {
      return Invalid(absl::StrCat(f.name, " must be an integer from ", f.min,
                                  " to ", f.max));
    }
    *f.value = static_cast<int>(v.get<int64_t>());
  }
  if (r.contains("backoffFunction")) {
    const common::Json& v = r["backoffFunction"];
    const std::string f = v.is_string() ? v.get<std::string>() : "";
    if (f != "linear" && f != "arithmetic" && f != "geometric" &&
        f != "exponential") {
      return Invalid(
          "backoffFunction must be linear, arithmetic, geometric or "
          "exponential");
    }
    p.backoff_function = f;
  }
  if (p.min_delay_target > p.max_delay_target) {
    return Invalid("minDelayTarget must not be more than maxDelayTarget");
  }
  if (p.num_no_delay_retries + p.num_min_delay_retries +
          p.num_max_delay_retries >
      p.num_retries) {
    return Invalid(
        "numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries add up "
        "to more than numRetries");
  }
  return p;
}

std::string EffectiveDeliveryPolicyJson(const HttpRetryPolicy& p) {
  common::Json retry = common::Json::object();
  retry["minDelayTarget"] = p.min_delay_target;
  retry["maxDelayTarget"] = p.max_delay_target;
  retry["numRetries"] = p.num_retries;
  retry["numMaxDelayRetries"] = p.num_max_delay_retries;
  retry["numNoDelayRetries"] = p.num_no_delay_retries;
  retry["numMinDelayRetries"] = p.num_min_delay_retries;
  retry["backoffFunction"] = p.backoff_function;
  common::Json http = common::Json::object();
  http["defaultHealthyRetryPolicy"] = std::move(retry);
  http["disableSubscriptionOverrides"] = false;
  http["defaultRequestPolicy"] = {
      {"headerContentType", "text/plain; charset=UTF-8"}};
  common::Json out = common::Json::object();
  out["http"] = std::move(http);
  return common::DumpJson(out);
}

std::vector<int32_t> RetryDelays(const HttpRetryPolicy& p) {
  std::vector<int32_t> all(p.num_no_delay_retries, 0);
  all.insert(all.end(), p.num_min_delay_retries, p.min_delay_target);
  const int k = p.num_retries - p.num_no_delay_retries -
                p.num_min_delay_retries - p.num_max_delay_retries;
  std::vector<int32_t> backoff =
      Backoff(p.min_delay_target, p.max_delay_target, k, p.backoff_function);
  all.insert(all.end(), backoff.begin(), backoff.end());
  all.insert(all.end(), p.num_max_delay_retries, p.max_delay_target);
  // All retries within an hour: the ones past it are not made.
  std::vector<int32_t> out;
  int64_t total = 0;
  for (int32_t d : all) {
    total += d;
    if (total > kTotalRetrySeconds) break;
    out.push_back(d);
  }
  return out;
}

std::vector<int32_t> EmailRetryDelays() {
  std::vector<int32_t> out(2, 10);
  std::vector<int32_t> backoff = Backoff(10, 600, 10, "exponential");
  out.insert(out.end(), backoff.begin(), backoff.end());
  out.insert(out.end(), 38, 600);
  return out;
}

}  // namespace evbus::topics
