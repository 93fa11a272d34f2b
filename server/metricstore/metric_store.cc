#include "server/metricstore/metric_store.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/aws_error.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/storage/keys.h"

namespace evbus::metricstore {
namespace {

constexpr char kSeriesPrefix[] = "s";
constexpr char kDataPrefix[] = "d";

std::string IndexKey(const std::string& id) {
  std::string k = kSeriesPrefix;
  k.push_back('\0');
  k += id;
  return k;
}

std::string DataPrefix(const std::string& id) {
  std::string k = kDataPrefix;
  k.push_back('\0');
  k += id;
  k.push_back('\0');
  return k;
}

std::string DataKey(const std::string& id, int64_t minute_ms) {
  std::string k = DataPrefix(id);
  storage::keys::AppendBigEndian64(&k, static_cast<uint64_t>(minute_ms));
  return k;
}

int64_t MinuteOf(absl::Time t) {
  int64_t ms = absl::ToUnixMillis(t);
  return ms - (((ms % 60000) + 60000) % 60000);
}

absl::Status InvalidValue(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameterValue", message);
}

// A value PutMetricData accepts: finite and within ±2^360.
absl::Status CheckValue(double value, absl::string_view parameter) {
  if (std::isfinite(value) && std::fabs(value) <= kMaxMetricValue) {
    return absl::OkStatus();
  }
  return InvalidValue(absl::StrCat("The value ", value, " for parameter ",
                                   parameter, " is invalid."));
}

absl::Status CheckValues(const evbus::v1::MetricDatum& d,
                         absl::string_view at) {
  if (d.has_value()) {
    EVBUS_RETURN_IF_ERROR(CheckValue(d.value(), absl::StrCat(at, ".Value")));
  }
  for (int j = 0; j < d.values_size(); ++j) {
    EVBUS_RETURN_IF_ERROR(
        CheckValue(d.values(j), absl::StrCat(at, ".Values.member.", j + 1)));
  }
  if (d.has_statistic_values()) {
    const evbus::v1::StatisticSet& s = d.statistic_values();
    for (const auto& [value, name] :
         {std::pair<double, absl::string_view>{s.sample_count(), "SampleCount"},
          {s.sum(), "Sum"},
          {s.minimum(), "Minimum"},
          {s.maximum(), "Maximum"}}) {
      EVBUS_RETURN_IF_ERROR(
          CheckValue(value, absl::StrCat(at, ".StatisticValues.", name)));
    }
  }
  return absl::OkStatus();
}

// The model's constraint on every datum's Unit (StandardUnit), reported as
// CloudWatch's ValidationError before anything else is looked at.
absl::Status CheckUnits(const evbus::v1::PutMetricDataRequest& request) {
  std::vector<std::string> clauses;
  for (int i = 0; i < request.metric_data_size(); ++i) {
    const std::string& unit = request.metric_data(i).unit();
    if (unit.empty() ||
        std::find(std::begin(kStandardUnits), std::end(kStandardUnits), unit) !=
            std::end(kStandardUnits)) {
      continue;
    }
    clauses.push_back(common::ConstraintClause(
        unit, absl::StrCat("metricData.", i + 1, ".member.unit"),
        absl::StrCat("satisfy enum value set: [",
                     absl::StrJoin(kStandardUnits, ", "), "]")));
  }
  if (clauses.empty()) return absl::OkStatus();
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "ValidationError",
      clauses.size() == 1
          ? absl::StrCat("1 validation error detected: ", clauses[0])
          : absl::StrCat(clauses.size(), " validation errors detected: ",
                         absl::StrJoin(clauses, "; ")));
}

bool HasControl(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20;
  });
}

}  // namespace

MetricStore::MetricStore(storage::Store& store, common::Clock& clock,
                         MetricStoreOptions options)
    : store_(store), clock_(clock), options_(options) {}

Dimensions MetricStore::DimensionsOf(
    const google::protobuf::RepeatedPtrField<evbus::v1::Dimension>& dims) {
  Dimensions out;
  for (const auto& d : dims) out.emplace_back(d.name(), d.value());
  std::sort(out.begin(), out.end());
  return out;
}

std::string MetricStore::SeriesId(const std::string& ns,
                                  const std::string& name,
                                  Dimensions dimensions) {
  std::sort(dimensions.begin(), dimensions.end());
  std::string id = ns;
  id.push_back('\0');
  id += name;
  id.push_back('\0');
  for (const auto& [n, v] : dimensions) {
    id += n;
    id.push_back('\1');
    id += v;
    id.push_back('\2');
  }
  return id;
}

absl::Status MetricStore::Load() {
  std::map<std::string, Series> loaded;
  std::string prefix = IndexKey("");
  EVBUS_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kMetrics, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        evbus::v1::Metric m;
        if (m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          Series s{m.namespace_(), m.metric_name(),
                   DimensionsOf(m.dimensions()), m.unit()};
          loaded[std::string(key.substr(prefix.size()))] = std::move(s);
        }
        return true;
      }));
  absl::MutexLock lock(&mu_);
  series_ = std::move(loaded);
  return absl::OkStatus();
}

void MetricStore::Record(const std::string& ns, const std::string& name,
                         const Dimensions& dimensions, absl::Time time,
                         double value, const std::string& unit) {
  if (!std::isfinite(value)) return;
  std::string id = SeriesId(ns, name, dimensions);
  absl::MutexLock lock(&mu_);
  if (series_.count(id) == 0) {
    Dimensions sorted = dimensions;
    std::sort(sorted.begin(), sorted.end());
    series_[id] = Series{ns, name, std::move(sorted), unit};
    unsaved_series_.insert(id);
  }
  (void)pending_[{id, MinuteOf(time)}].Add(value);
}

absl::Status MetricStore::PutMetricData(
    const evbus::v1::PutMetricDataRequest& request, bool allow_aws) {
  const std::string& ns = request.namespace_();
  if (ns.empty()) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "MissingParameter",
                            "The parameter Namespace is required.");
  }
  if (ns.size() > 255 || HasControl(ns) ||
      (!allow_aws && absl::StartsWith(ns, "AWS/"))) {
    return InvalidValue(
        absl::StrCat("The value ", ns, " for parameter Namespace is invalid."));
  }
  if (request.metric_data_size() == 0) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "MissingParameter",
                            "The parameter MetricData is required.");
  }
  if (request.metric_data_size() > 1000) {
    return InvalidValue(
        "The collection MetricData must not have a size greater than 1000.");
  }
  EVBUS_RETURN_IF_ERROR(CheckUnits(request));
  absl::Time now = clock_.Now();
  std::vector<std::pair<int64_t, Aggregate>> staged;
  std::vector<std::string> ids;
  for (int i = 0; i < request.metric_data_size(); ++i) {
    const evbus::v1::MetricDatum& d = request.metric_data(i);
    std::string at = absl::StrCat("MetricData.member.", i + 1);
    if (d.metric_name().empty()) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "MissingParameter",
          absl::StrCat("The parameter ", at, ".MetricName is required."));
    }
    if (d.metric_name().size() > 255 || HasControl(d.metric_name())) {
      return InvalidValue(absl::StrCat("The value ", d.metric_name(),
                                       " for parameter ", at,
                                       ".MetricName is invalid."));
    }
    if (d.dimensions_size() > 30) {
      return InvalidValue(absl::StrCat("The collection ", at,
                                       ".Dimensions must not have a size "
                                       "greater than 30."));
    }
    for (int j = 0; j < d.dimensions_size(); ++j) {
      const auto& dim = d.dimensions(j);
      if (dim.name().empty() || dim.value().empty() ||
          dim.name().size() > 255 || dim.value().size() > 1024 ||
          HasControl(dim.name()) || HasControl(dim.value())) {
        return InvalidValue(absl::StrCat("The value for parameter ", at,
                                         ".Dimensions.member.", j + 1,
                                         " is invalid."));
      }
    }
    int forms = (d.has_value() ? 1 : 0) + (d.values_size() > 0 ? 1 : 0) +
                (d.has_statistic_values() ? 1 : 0);
    if (forms > 1) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "InvalidParameterCombination",
          absl::StrCat("The parameters ", at, ".Value, ", at, ".Values and ",
                       at,
                       ".StatisticValues are mutually exclusive and you have "
                       "specified more than one."));
    }
    if (forms == 0) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "MissingParameter",
          absl::StrCat("The parameter ", at,
                       ".Value, Values or StatisticValues is required."));
    }
    absl::Time t =
        d.timestamp_ms() == 0 ? now : absl::FromUnixMillis(d.timestamp_ms());
    if (t < now - absl::Hours(24 * 14) || t > now + absl::Hours(2)) {
      return InvalidValue(absl::StrCat(
          "The parameter ", at,
          ".Timestamp must specify a time no more than two weeks in the past "
          "and no more than two hours in the future."));
    }
    EVBUS_RETURN_IF_ERROR(CheckValues(d, at));
    Aggregate a;
    absl::Status added;
    if (d.has_value()) {
      added = a.Add(d.value());
    } else if (d.values_size() > 0) {
      if (d.values_size() > 150) {
        return InvalidValue(absl::StrCat("The collection ", at,
                                         ".Values must not have a size "
                                         "greater than 150."));
      }
      if (d.counts_size() > 0 && d.counts_size() != d.values_size()) {
        return common::AwsError(
            absl::StatusCode::kInvalidArgument, "InvalidParameterValue",
            absl::StrCat("The parameters ", at, ".Values and ", at,
                         ".Counts must be of the same size."));
      }
      for (int j = 0; j < d.values_size() && added.ok(); ++j) {
        added = a.Add(d.values(j), d.counts_size() > 0 ? d.counts(j) : 1.0);
      }
    } else {
      const evbus::v1::StatisticSet& s = d.statistic_values();
      added = a.AddStatisticSet(s.sample_count(), s.sum(), s.minimum(),
                                s.maximum());
    }
    if (!added.ok()) {
      return InvalidValue(absl::StrCat("The value for parameter ", at,
                                       " is invalid: ", added.message()));
    }
    ids.push_back(SeriesId(ns, d.metric_name(), DimensionsOf(d.dimensions())));
    staged.emplace_back(MinuteOf(t), std::move(a));
  }
  absl::ReleasableMutexLock lock(&mu_);
  for (size_t i = 0; i < staged.size(); ++i) {
    const evbus::v1::MetricDatum& d = request.metric_data(static_cast<int>(i));
    if (series_.count(ids[i]) == 0) {
      series_[ids[i]] =
          Series{ns, d.metric_name(), DimensionsOf(d.dimensions()), d.unit()};
      unsaved_series_.insert(ids[i]);
    }
    pending_[{ids[i], staged[i].first}].Merge(staged[i].second);
  }
  lock.Release();
  // Acknowledged data survives a crash, as every acknowledged write does
  // (evbus's own metrics wait for the next flush, once a second).
  return Write(/*sync=*/true);
}

absl::Status MetricStore::Flush() { return Write(/*sync=*/false); }

absl::Status MetricStore::Write(bool sync) {
  absl::MutexLock flush_lock(&flush_mu_);
  std::map<std::pair<std::string, int64_t>, Aggregate> pending;
  std::vector<std::pair<std::string, evbus::v1::Metric>> new_series;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(pending_);
    for (const std::string& id : unsaved_series_) {
      const Series& s = series_[id];
      evbus::v1::Metric m;
      m.set_namespace_(s.ns);
      m.set_metric_name(s.name);
      m.set_unit(s.unit);
      for (const auto& [n, v] : s.dimensions) {
        evbus::v1::Dimension* d = m.add_dimensions();
        d->set_name(n);
        d->set_value(v);
      }
      new_series.emplace_back(id, std::move(m));
    }
    unsaved_series_.clear();
  }
  if (pending.empty() && new_series.empty()) return absl::OkStatus();
  storage::WriteBatch batch;
  for (const auto& [id, m] : new_series) {
    batch.Put(storage::Family::kMetrics, IndexKey(id), m.SerializeAsString());
  }
  for (auto& [key, aggregate] : pending) {
    std::string k = DataKey(key.first, key.second);
    absl::StatusOr<std::optional<std::string>> old =
        store_.Get(storage::Family::kMetrics, k);
    if (old.ok() && old->has_value()) {
      absl::StatusOr<Aggregate> prev = Aggregate::Parse(**old);
      if (prev.ok()) aggregate.Merge(*prev);
    }
    batch.Put(storage::Family::kMetrics, k, aggregate.Serialize());
  }
  return store_.Write(batch, sync);
}

absl::StatusOr<std::vector<MinutePoint>> MetricStore::Query(
    const std::string& ns, const std::string& name,
    const Dimensions& dimensions, absl::Time start, absl::Time end) {
  EVBUS_RETURN_IF_ERROR(Flush());
  std::string id = SeriesId(ns, name, dimensions);
  std::vector<MinutePoint> out;
  if (end <= start) return out;
  // Minutes m with start <= m < end.
  int64_t first = MinuteOf(start);
  if (first < absl::ToUnixMillis(start)) first += 60000;
  std::string begin = DataKey(id, std::max<int64_t>(0, first));
  std::string stop = DataKey(id, std::max<int64_t>(0, absl::ToUnixMillis(end)));
  absl::Status bad;
  size_t prefix = DataPrefix(id).size();
  EVBUS_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kMetrics, begin, stop,
      [&](absl::string_view key, absl::string_view value) {
        if (key.size() != prefix + 8) return true;
        absl::StatusOr<Aggregate> a = Aggregate::Parse(value);
        if (!a.ok()) {
          bad = a.status();
          return false;
        }
        out.push_back({absl::FromUnixMillis(static_cast<int64_t>(
                           storage::keys::ReadBigEndian64(key.substr(prefix)))),
                       *std::move(a)});
        return true;
      }));
  EVBUS_RETURN_IF_ERROR(bad);
  return out;
}

std::vector<evbus::v1::Metric> MetricStore::ListMetrics(
    const std::string& ns, const std::string& name,
    const Dimensions& dimension_filter) const {
  std::vector<evbus::v1::Metric> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, s] : series_) {
    if (!ns.empty() && s.ns != ns) continue;
    if (!name.empty() && s.name != name) continue;
    bool match = true;
    for (const auto& [fn, fv] : dimension_filter) {
      auto it = std::find_if(s.dimensions.begin(), s.dimensions.end(),
                             [&](const auto& d) { return d.first == fn; });
      if (it == s.dimensions.end() || (!fv.empty() && it->second != fv)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    evbus::v1::Metric m;
    m.set_namespace_(s.ns);
    m.set_metric_name(s.name);
    for (const auto& [n, v] : s.dimensions) {
      evbus::v1::Dimension* d = m.add_dimensions();
      d->set_name(n);
      d->set_value(v);
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string MetricStore::UnitOf(const std::string& ns, const std::string& name,
                                const Dimensions& dimensions) const {
  absl::MutexLock lock(&mu_);
  auto it = series_.find(SeriesId(ns, name, dimensions));
  return it == series_.end() ? "" : it->second.unit;
}

absl::Status MetricStore::Trim() {
  int64_t cutoff = MinuteOf(clock_.Now() - options_.retention);
  if (cutoff <= 0) return absl::OkStatus();
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, s] : series_) ids.push_back(id);
  }
  storage::WriteBatch batch;
  for (const std::string& id : ids) {
    batch.DeleteRange(storage::Family::kMetrics, DataKey(id, 0),
                      DataKey(id, cutoff));
  }
  return store_.Write(batch, /*sync=*/false);
}

}  // namespace evbus::metricstore
