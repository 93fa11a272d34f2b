#include "server/metricstore/datapoint.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

// Encoding, format version 1 (all integers little-endian):
//
//   aggregate := version:u8(=1) flags:u8 sample_count:f64 sum:f64
//                minimum:f64 maximum:f64 sketch
//   flags     := bit 0: the sketch's extremes differ from minimum/maximum
//                (statistic sets were added) and are stored; other bits 0
//   sketch    := zero_count:count positive:bins negative:bins
//                [min:f64 max:f64]             (only with flag bit 0)
//   bins      := n:varint bin{n}
//   bin       := index:zigzag-varint count      (first bin: the index itself;
//                                                later bins: delta >= 1 from
//                                                the previous index)
//   count     := tag:varint [f64]               (tag even: count = tag >> 1,
//                                                an integer; tag == 1: an f64
//                                                follows)
//
// f64 is the IEEE-754 bit pattern as a fixed 8-byte little-endian integer.
// Integral counts (the usual case) cost one or two bytes, so a one-sample
// aggregate is 39 bytes.

namespace evbus::metricstore {

namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kFlagSketchExtremes = 1;

// gamma = (1 + a) / (1 - a); bucket i covers (gamma^(i-1), gamma^i].
const double kGamma =
    (1 + kSketchRelativeAccuracy) / (1 - kSketchRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
// Representative value of bucket i: 2 gamma^i / (gamma + 1), the point whose
// relative distance to both bucket bounds is a.
const double kLogRepresentativeFactor = std::log(2 / (kGamma + 1));

// Every normal double maps into this range (|log x| <= 709.8 → |i| < 35,500);
// Parse rejects indices outside it.
constexpr int32_t kMinIndex = -36000;
constexpr int32_t kMaxIndex = 36000;

// Integral counts below this are varint-encoded exactly.
constexpr double kMaxExactCount = 9007199254740992.0;  // 2^53

int32_t BucketIndex(double magnitude) {
  // REQUIRES: magnitude >= DBL_MIN (normal, positive, finite).
  double i = std::ceil(std::log(magnitude) / kLogGamma);
  return static_cast<int32_t>(std::clamp<double>(i, kMinIndex, kMaxIndex));
}

double BucketValue(int32_t index) {
  double v = std::exp(index * kLogGamma + kLogRepresentativeFactor);
  return std::min(v, std::numeric_limits<double>::max());
}

// ---- encoding helpers ----

void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void PutDouble(std::string* out, double d) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(d));
  std::memcpy(&bits, &d, sizeof(d));
  PutFixed64(out, bits);
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint32_t ZigZag(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}

int32_t UnZigZag(uint32_t v) {
  return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
}

void PutCount(std::string* out, double count) {
  if (count >= 0 && count < kMaxExactCount && std::floor(count) == count) {
    PutVarint(out, static_cast<uint64_t>(count) << 1);
  } else {
    PutVarint(out, 1);
    PutDouble(out, count);
  }
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("metric aggregate: ", what));
}

bool GetFixed64(absl::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) {
    r |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  }
  in->remove_prefix(8);
  *v = r;
  return true;
}

bool GetDouble(absl::string_view* in, double* d) {
  uint64_t bits;
  if (!GetFixed64(in, &bits)) return false;
  std::memcpy(d, &bits, sizeof(*d));
  return true;
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (in->empty()) return false;
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // overflows 64 bits
    r |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

absl::StatusOr<double> GetCount(absl::string_view* in) {
  uint64_t tag;
  if (!GetVarint(in, &tag)) return Corrupt("truncated count");
  if ((tag & 1) == 0) {
    uint64_t n = tag >> 1;
    if (static_cast<double>(n) >= kMaxExactCount) {
      return Corrupt("integral count out of range");
    }
    return static_cast<double>(n);
  }
  if (tag != 1) return Corrupt("bad count tag");
  double d;
  if (!GetDouble(in, &d)) return Corrupt("truncated count");
  if (!std::isfinite(d) || d < 0) return Corrupt("count is not finite");
  return d;
}

}  // namespace

// ---------------------------------------------------------------------------
// QuantileSketch

void QuantileSketch::AddToBins(Bins& bins, int32_t index, double count) {
  auto it = std::lower_bound(bins.begin(), bins.end(), index,
                             [](const std::pair<int32_t, double>& b,
                                int32_t i) { return b.first < i; });
  if (it != bins.end() && it->first == index) {
    it->second += count;
    return;
  }
  bins.insert(it, {index, count});
  Collapse(bins);
}

void QuantileSketch::Collapse(Bins& bins) {
  if (bins.size() <= kMaxSketchBins) return;
  // Fold the lowest-magnitude buckets into the first one that is kept.
  size_t excess = bins.size() - kMaxSketchBins;
  double folded = 0;
  for (size_t i = 0; i < excess; ++i) folded += bins[i].second;
  bins[excess].second += folded;
  bins.erase(bins.begin(), bins.begin() + static_cast<ptrdiff_t>(excess));
}

void QuantileSketch::MergeBins(Bins& into, const Bins& from) {
  if (from.empty()) return;
  Bins out;
  out.reserve(into.size() + from.size());
  size_t i = 0;
  size_t j = 0;
  while (i < into.size() || j < from.size()) {
    if (j == from.size() ||
        (i < into.size() && into[i].first < from[j].first)) {
      out.push_back(into[i++]);
    } else if (i == into.size() || from[j].first < into[i].first) {
      out.push_back(from[j++]);
    } else {
      out.emplace_back(into[i].first, into[i].second + from[j].second);
      ++i;
      ++j;
    }
  }
  into = std::move(out);
  Collapse(into);
}

void QuantileSketch::Add(double value, double count) {
  if (empty()) {
    min_ = value;
    max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  if (value >= DBL_MIN) {
    AddToBins(positive_, BucketIndex(value), count);
  } else if (value <= -DBL_MIN) {
    AddToBins(negative_, BucketIndex(-value), count);
  } else {
    zero_count_ += count;  // zero and subnormal values
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.empty()) return;
  if (empty()) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  MergeBins(positive_, other.positive_);
  MergeBins(negative_, other.negative_);
  zero_count_ += other.zero_count_;
}

double QuantileSketch::count() const {
  double n = zero_count_;
  for (const auto& [index, c] : positive_) n += c;
  for (const auto& [index, c] : negative_) n += c;
  return n;
}

bool QuantileSketch::empty() const {
  return positive_.empty() && negative_.empty() && zero_count_ <= 0;
}

size_t QuantileSketch::bin_count() const {
  return positive_.size() + negative_.size() + (zero_count_ > 0 ? 1 : 0);
}

std::optional<double> QuantileSketch::Quantile(double q) const {
  if (empty()) return std::nullopt;
  if (!(q >= 0)) q = 0;  // also maps NaN to 0
  if (q > 1) q = 1;
  if (q == 0) return min_;
  if (q == 1) return max_;
  return std::clamp(BucketQuantile(q), min_, max_);
}

double QuantileSketch::BucketQuantile(double q) const {
  // 0-based nearest rank: the first bucket whose running count exceeds it.
  // (The tiny slack keeps q × count = an integer from rounding up a rank.)
  const double rank = std::max(0.0, std::ceil(q * count() - 1e-9) - 1);
  double seen = 0;
  // Ascending value order: most negative first.
  for (auto it = negative_.rbegin(); it != negative_.rend(); ++it) {
    seen += it->second;
    if (seen > rank) return -BucketValue(it->first);
  }
  if (zero_count_ > 0) {
    seen += zero_count_;
    if (seen > rank) return 0.0;
  }
  for (const auto& [index, c] : positive_) {
    seen += c;
    if (seen > rank) return BucketValue(index);
  }
  // Only reachable through rounding of the running sum.
  return max_;
}

void QuantileSketch::EncodeTo(std::string* out, bool with_extremes) const {
  PutCount(out, zero_count_);
  for (const Bins* bins : {&positive_, &negative_}) {
    PutVarint(out, bins->size());
    int32_t previous = 0;
    bool first = true;
    for (const auto& [index, c] : *bins) {
      PutVarint(out, ZigZag(first ? index : index - previous));
      PutCount(out, c);
      previous = index;
      first = false;
    }
  }
  if (with_extremes) {
    PutDouble(out, min_);
    PutDouble(out, max_);
  }
}

absl::StatusOr<QuantileSketch> QuantileSketch::DecodeFrom(absl::string_view* in,
                                                          bool with_extremes,
                                                          double min,
                                                          double max) {
  QuantileSketch s;
  absl::StatusOr<double> zero = GetCount(in);
  if (!zero.ok()) return zero.status();
  s.zero_count_ = *zero;
  for (Bins* bins : {&s.positive_, &s.negative_}) {
    uint64_t n;
    if (!GetVarint(in, &n)) return Corrupt("truncated bucket count");
    // Each bucket takes at least two bytes; this also bounds the allocation.
    if (n > kMaxSketchBins || n > in->size() / 2) {
      return Corrupt("bucket count out of range");
    }
    bins->reserve(n);
    int64_t previous = 0;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t raw;
      if (!GetVarint(in, &raw) || raw > 0xffffffffu) {
        return Corrupt("truncated bucket index");
      }
      int64_t delta = UnZigZag(static_cast<uint32_t>(raw));
      int64_t index = k == 0 ? delta : previous + delta;
      if (k > 0 && delta < 1) return Corrupt("bucket indices not increasing");
      if (index < kMinIndex || index > kMaxIndex) {
        return Corrupt("bucket index out of range");
      }
      absl::StatusOr<double> c = GetCount(in);
      if (!c.ok()) return c.status();
      if (*c <= 0) return Corrupt("empty bucket");
      bins->emplace_back(static_cast<int32_t>(index), *c);
      previous = index;
    }
  }
  if (with_extremes) {
    if (!GetDouble(in, &s.min_) || !GetDouble(in, &s.max_)) {
      return Corrupt("truncated sketch extremes");
    }
    if (s.empty()) return Corrupt("extremes stored for an empty sketch");
    if (!std::isfinite(s.min_) || !std::isfinite(s.max_) || s.min_ > s.max_) {
      return Corrupt("bad sketch extremes");
    }
  } else if (!s.empty()) {
    s.min_ = min;
    s.max_ = max;
  }
  return s;
}

// ---------------------------------------------------------------------------
// Aggregate

absl::Status Aggregate::Add(double value) { return Add(value, 1); }

absl::Status Aggregate::Add(double value, double count) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric value must be finite, got ", value));
  }
  if (!std::isfinite(count) || count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric count must be a finite number >= 0, got ", count));
  }
  if (count == 0) return absl::OkStatus();
  if (empty()) {
    minimum = value;
    maximum = value;
  } else {
    minimum = std::min(minimum, value);
    maximum = std::max(maximum, value);
  }
  sample_count += count;
  sum += value * count;
  sketch.Add(value, count);
  return absl::OkStatus();
}

absl::Status Aggregate::AddStatisticSet(double set_sample_count, double set_sum,
                                        double set_minimum,
                                        double set_maximum) {
  if (!std::isfinite(set_sample_count) || !std::isfinite(set_sum) ||
      !std::isfinite(set_minimum) || !std::isfinite(set_maximum)) {
    return absl::InvalidArgumentError(
        "statistic set fields must be finite numbers");
  }
  if (set_sample_count <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "statistic set SampleCount must be > 0, got ", set_sample_count));
  }
  if (set_minimum > set_maximum) {
    return absl::InvalidArgumentError(
        absl::StrCat("statistic set Minimum (", set_minimum,
                     ") is greater than Maximum (", set_maximum, ")"));
  }
  if (empty()) {
    minimum = set_minimum;
    maximum = set_maximum;
  } else {
    minimum = std::min(minimum, set_minimum);
    maximum = std::max(maximum, set_maximum);
  }
  sample_count += set_sample_count;
  sum += set_sum;
  return absl::OkStatus();
}

void Aggregate::Merge(const Aggregate& other) {
  if (other.empty()) return;
  if (empty()) {
    minimum = other.minimum;
    maximum = other.maximum;
  } else {
    minimum = std::min(minimum, other.minimum);
    maximum = std::max(maximum, other.maximum);
  }
  sample_count += other.sample_count;
  sum += other.sum;
  sketch.Merge(other.sketch);
}

std::optional<double> Aggregate::Percentile(double p) const {
  std::optional<double> v = sketch.Quantile(p / 100);
  if (!v.has_value() || empty()) return std::nullopt;
  return std::clamp(*v, minimum, maximum);
}

std::string Aggregate::Serialize() const {
  std::string out;
  out.reserve(48);
  const bool with_extremes =
      !sketch.empty() && (sketch.min() != minimum || sketch.max() != maximum);
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(static_cast<char>(with_extremes ? kFlagSketchExtremes : 0));
  PutDouble(&out, sample_count);
  PutDouble(&out, sum);
  PutDouble(&out, minimum);
  PutDouble(&out, maximum);
  sketch.EncodeTo(&out, with_extremes);
  return out;
}

absl::StatusOr<Aggregate> Aggregate::Parse(absl::string_view bytes) {
  if (bytes.empty()) return Corrupt("empty record");
  auto version = static_cast<uint8_t>(bytes.front());
  if (version != kFormatVersion) {
    return Corrupt(absl::StrCat("unsupported format version ", version));
  }
  if (bytes.size() < 2) return Corrupt("truncated header");
  auto flags = static_cast<uint8_t>(bytes[1]);
  if ((flags & ~kFlagSketchExtremes) != 0) return Corrupt("unknown flags");
  absl::string_view in = bytes.substr(2);
  Aggregate a;
  if (!GetDouble(&in, &a.sample_count) || !GetDouble(&in, &a.sum) ||
      !GetDouble(&in, &a.minimum) || !GetDouble(&in, &a.maximum)) {
    return Corrupt("truncated header");
  }
  if (!std::isfinite(a.sample_count) || !std::isfinite(a.sum) ||
      !std::isfinite(a.minimum) || !std::isfinite(a.maximum)) {
    return Corrupt("non-finite statistic");
  }
  if (a.sample_count < 0) return Corrupt("negative sample count");
  if (a.sample_count > 0 && a.minimum > a.maximum) {
    return Corrupt("minimum greater than maximum");
  }
  absl::StatusOr<QuantileSketch> sketch = QuantileSketch::DecodeFrom(
      &in, (flags & kFlagSketchExtremes) != 0, a.minimum, a.maximum);
  if (!sketch.ok()) return sketch.status();
  a.sketch = *std::move(sketch);
  if (!in.empty()) return Corrupt("trailing bytes");
  // The sketch holds a subset of the samples (statistic sets add none).
  double sketched = a.sketch.count();
  if (sketched > a.sample_count * (1 + 1e-9) + 1e-9) {
    return Corrupt("sketch holds more samples than the aggregate");
  }
  if (!a.sketch.empty() &&
      (a.sketch.min() < a.minimum || a.sketch.max() > a.maximum)) {
    return Corrupt("sketch extremes outside [minimum, maximum]");
  }
  return a;
}

// ---------------------------------------------------------------------------
// Statistics

namespace {

struct SimpleStatistic {
  absl::string_view name;
  StatisticKind kind;
};

constexpr SimpleStatistic kSimpleStatistics[] = {
    {"SampleCount", StatisticKind::kSampleCount},
    {"Average", StatisticKind::kAverage},
    {"Sum", StatisticKind::kSum},
    {"Minimum", StatisticKind::kMinimum},
    {"Maximum", StatisticKind::kMaximum},
};

// p(\d{1,2}(\.\d{0,2})?|100) → the percentile, or nullopt.
std::optional<double> ParsePercentile(absl::string_view s) {
  if (s.size() < 2 || s[0] != 'p') return std::nullopt;
  s.remove_prefix(1);
  if (s == "100") return 100.0;
  size_t i = 0;
  int whole = 0;
  while (i < s.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
    whole = whole * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0 || i > 2) return std::nullopt;
  double value = whole;
  if (i == s.size()) return value;
  if (s[i] != '.') return std::nullopt;
  ++i;
  size_t fraction_digits = s.size() - i;
  if (fraction_digits > 2) return std::nullopt;
  int fraction = 0;
  for (; i < s.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
    fraction = fraction * 10 + (s[i] - '0');
  }
  if (fraction_digits == 1) value += fraction / 10.0;
  if (fraction_digits == 2) value += fraction / 100.0;
  return value;
}

// CloudWatch's other extended statistics: tm90, tc90, ts90, wm90 (a digit
// follows), IQM, and the TM(..), TC(..), TS(..), WM(..), PR(..) forms.
bool LooksLikeOtherExtendedStatistic(absl::string_view s) {
  if (s == "IQM") return true;
  for (absl::string_view prefix : {"tm", "tc", "ts", "wm"}) {
    if (s.size() > 2 && s.substr(0, 2) == prefix &&
        absl::ascii_isdigit(static_cast<unsigned char>(s[2]))) {
      return true;
    }
  }
  for (absl::string_view prefix : {"TM(", "TC(", "TS(", "WM(", "PR("}) {
    if (s.size() > 3 && s.substr(0, 3) == prefix && s.back() == ')') {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsSimpleStatistic(absl::string_view name) {
  for (const SimpleStatistic& s : kSimpleStatistics) {
    if (s.name == name) return true;
  }
  return false;
}

absl::StatusOr<StatisticSpec> ParseStatisticName(absl::string_view name) {
  for (const SimpleStatistic& s : kSimpleStatistics) {
    if (s.name == name) {
      return StatisticSpec{s.kind, 0, std::string(name)};
    }
  }
  if (std::optional<double> p = ParsePercentile(name)) {
    return StatisticSpec{StatisticKind::kPercentile, *p, std::string(name)};
  }
  if (LooksLikeOtherExtendedStatistic(name)) {
    return absl::UnimplementedError(absl::StrCat(
        "Unsupported statistic '", name,
        "': only SampleCount, Average, Sum, Minimum, Maximum and percentiles "
        "p0..p100 are implemented"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Invalid statistic '", name,
                   "': expected SampleCount, Average, Sum, Minimum, Maximum "
                   "or a percentile such as p99 or p99.9"));
}

std::optional<double> StatisticValue(const Aggregate& aggregate,
                                     const StatisticSpec& spec) {
  if (aggregate.empty()) return std::nullopt;
  switch (spec.kind) {
    case StatisticKind::kSampleCount:
      return aggregate.sample_count;
    case StatisticKind::kAverage:
      return aggregate.sum / aggregate.sample_count;
    case StatisticKind::kSum:
      return aggregate.sum;
    case StatisticKind::kMinimum:
      return aggregate.minimum;
    case StatisticKind::kMaximum:
      return aggregate.maximum;
    case StatisticKind::kPercentile:
      return aggregate.Percentile(spec.percentile);
  }
  return std::nullopt;
}

absl::StatusOr<double> Statistic(const Aggregate& aggregate,
                                 absl::string_view stat) {
  absl::StatusOr<StatisticSpec> spec = ParseStatisticName(stat);
  if (!spec.ok()) return spec.status();
  std::optional<double> v = StatisticValue(aggregate, *spec);
  if (!v.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "no value for statistic ", stat,
        aggregate.empty() ? ": the aggregate is empty"
                          : ": no individual samples for percentiles"));
  }
  return *v;
}

}  // namespace evbus::metricstore
