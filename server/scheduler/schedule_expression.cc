#include "server/scheduler/schedule_expression.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/aws_error.h"

namespace evbus::scheduler {

namespace {

constexpr size_t kMaxExpressionChars = 256;  // the API models' length limit
constexpr size_t kMaxTimeZoneChars = 50;

// A safety net only: every step below advances at least one field, so real
// expressions finish in a few thousand steps at most (see README.md).
constexpr int kMaxSearchSteps = 200000;

constexpr std::array<absl::string_view, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<absl::string_view, 7> kDayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// Bits of one cron field: bit i means value (lo + i).
using FieldBits = std::bitset<256>;

struct FieldRange {
  int lo;
  int hi;
  bool wraps;  // a-b with a > b wraps around (not for years)
  const absl::string_view* names;  // names[i] means value i + 1, or nullptr
  size_t name_count;
};

constexpr FieldRange kMinuteRange{0, 59, true, nullptr, 0};
constexpr FieldRange kHourRange{0, 23, true, nullptr, 0};
constexpr FieldRange kDomRange{1, 31, true, nullptr, 0};
constexpr FieldRange kMonthRange{1, 12, true, kMonthNames.data(),
                                 kMonthNames.size()};
constexpr FieldRange kDowRange{1, 7, true, kDayNames.data(), kDayNames.size()};
constexpr FieldRange kYearRange{kCronMinYear, kCronMaxYear, false, nullptr, 0};

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// Digits only (no sign), at most `max_digits` of them.
std::optional<int64_t> ParseDigits(absl::string_view s, size_t max_digits) {
  if (!AllDigits(s) || s.size() > max_digits) return std::nullopt;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// A number in [lo, hi], or (months, days of week) a three-letter name.
std::optional<int> ParseFieldValue(absl::string_view s, const FieldRange& r) {
  if (r.names != nullptr && s.size() == 3 && !AllDigits(s)) {
    for (size_t i = 0; i < r.name_count; ++i) {
      if (s == r.names[i]) return static_cast<int>(i) + 1;
    }
    return std::nullopt;
  }
  std::optional<int64_t> v = ParseDigits(s, 4);
  if (!v || *v < r.lo || *v > r.hi) return std::nullopt;
  return static_cast<int>(*v);
}

// One plain list item: `*`, `*/s`, `a`, `a/s`, `a-b`, `a-b/s`. Ranges with
// a > b wrap (`20-2` hours) where the field allows it. The step is 1..number
// of values in the field.
bool ParsePlainItem(absl::string_view item, const FieldRange& r,
                    FieldBits* bits) {
  const int size = r.hi - r.lo + 1;
  int step = 1;
  const size_t slash = item.find('/');
  const bool has_step = slash != absl::string_view::npos;
  if (has_step) {
    std::optional<int64_t> s = ParseDigits(item.substr(slash + 1), 4);
    if (!s || *s < 1 || *s > size) return false;
    step = static_cast<int>(*s);
    item = item.substr(0, slash);
  }
  int start;
  int end;
  if (item == "*") {
    start = r.lo;
    end = r.hi;
  } else if (size_t dash = item.find('-'); dash != absl::string_view::npos) {
    std::optional<int> a = ParseFieldValue(item.substr(0, dash), r);
    std::optional<int> b = ParseFieldValue(item.substr(dash + 1), r);
    if (!a || !b) return false;
    if (*a > *b && !r.wraps) return false;
    start = *a;
    end = *b;
  } else {
    std::optional<int> a = ParseFieldValue(item, r);
    if (!a) return false;
    start = *a;
    // `a/s` runs from a to the end of the field; a plain `a` is just a.
    end = has_step ? r.hi : *a;
  }
  // Walk `count` positions from start, wrapping past hi back to lo.
  const int count = (end - start + size) % size + 1;
  for (int off = 0; off < count; off += step) {
    bits->set(static_cast<size_t>((start - r.lo + off) % size));
  }
  return true;
}

// A whole field made only of plain items (minutes, hours, months, years).
std::optional<FieldBits> ParsePlainField(absl::string_view field,
                                         const FieldRange& r) {
  FieldBits bits;
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    if (!ParsePlainItem(item, r, &bits)) return std::nullopt;
  }
  return bits;
}

}  // namespace

// Builds ScheduleExpression values; a friend so that the value class keeps no
// public setters.
class ScheduleExpressionParser {
 public:
  static bool ParseRate(absl::string_view body, ScheduleExpression* out) {
    // body is "<n> <unit>" exactly: one space, no padding.
    const size_t space = body.find(' ');
    if (space == absl::string_view::npos) return false;
    absl::string_view number = body.substr(0, space);
    absl::string_view unit = body.substr(space + 1);
    // Up to 9 digits keeps n×1 day far inside absl::Duration's range.
    std::optional<int64_t> n = ParseDigits(number, 9);
    if (!n || *n < 1) return false;
    absl::Duration per_unit;
    if (unit == "minute" || unit == "minutes") {
      per_unit = absl::Minutes(1);
    } else if (unit == "hour" || unit == "hours") {
      per_unit = absl::Hours(1);
    } else if (unit == "day" || unit == "days") {
      per_unit = absl::Hours(24);
    } else {
      return false;
    }
    // Singular iff n == 1.
    if ((*n == 1) == absl::EndsWith(unit, "s")) return false;
    out->kind_ = ExpressionKind::kRate;
    out->rate_period_ = per_unit * *n;
    return true;
  }

  static bool ParseAt(absl::string_view body, ScheduleExpression* out) {
    // yyyy-mm-ddThh:mm:ss, exactly.
    if (body.size() != 19 || body[4] != '-' || body[7] != '-' ||
        body[10] != 'T' || body[13] != ':' || body[16] != ':') {
      return false;
    }
    std::optional<int64_t> y = ParseDigits(body.substr(0, 4), 4);
    std::optional<int64_t> mo = ParseDigits(body.substr(5, 2), 2);
    std::optional<int64_t> d = ParseDigits(body.substr(8, 2), 2);
    std::optional<int64_t> h = ParseDigits(body.substr(11, 2), 2);
    std::optional<int64_t> mi = ParseDigits(body.substr(14, 2), 2);
    std::optional<int64_t> s = ParseDigits(body.substr(17, 2), 2);
    if (!y || !mo || !d || !h || !mi || !s) return false;
    if (*mo < 1 || *mo > 12 || *d < 1 || *h > 23 || *mi > 59 || *s > 59) {
      return false;
    }
    const absl::CivilSecond cs(*y, *mo, *d, *h, *mi, *s);
    // CivilSecond normalises 2026-02-30 to March; reject instead.
    if (cs.year() != *y || cs.month() != *mo || cs.day() != *d) return false;
    out->kind_ = ExpressionKind::kAt;
    out->at_ = cs;
    return true;
  }

  static bool ParseCron(absl::string_view body, ScheduleExpression* out) {
    std::vector<std::string> fields =
        absl::StrSplit(absl::AsciiStrToUpper(body), ' ');
    if (fields.size() != 6) return false;
    for (const std::string& f : fields) {
      if (f.empty()) return false;
    }
    ScheduleExpression::CronSpec spec;

    std::optional<FieldBits> minutes = ParsePlainField(fields[0], kMinuteRange);
    std::optional<FieldBits> hours = ParsePlainField(fields[1], kHourRange);
    std::optional<FieldBits> months = ParsePlainField(fields[3], kMonthRange);
    std::optional<FieldBits> years = ParsePlainField(fields[5], kYearRange);
    if (!minutes || !hours || !months || !years) return false;
    for (int i = 0; i < 60; ++i) {
      if ((*minutes)[i]) spec.minutes |= uint64_t{1} << i;
    }
    for (int i = 0; i < 24; ++i) {
      if ((*hours)[i]) spec.hours |= uint32_t{1} << i;
    }
    for (int i = 0; i < 12; ++i) {
      if ((*months)[i]) spec.months |= static_cast<uint16_t>(1u << (i + 1));
    }
    for (size_t i = 0; i < spec.years.size(); ++i) spec.years[i] = (*years)[i];

    // Exactly one of day-of-month / day-of-week is `?`.
    const bool dom_any = fields[2] == "?";
    const bool dow_any = fields[4] == "?";
    if (dom_any == dow_any) return false;
    spec.uses_dom = dow_any;
    if (spec.uses_dom) {
      if (!ParseDomField(fields[2], &spec)) return false;
    } else {
      if (!ParseDowField(fields[4], &spec)) return false;
    }
    out->kind_ = ExpressionKind::kCron;
    out->cron_ = spec;
    return true;
  }

 private:
  // Items: plain, `L`, `LW`, `nW` (n = 1..31).
  static bool ParseDomField(absl::string_view field,
                            ScheduleExpression::CronSpec* spec) {
    for (absl::string_view item : absl::StrSplit(field, ',')) {
      if (item == "L") {
        spec->dom_last = true;
      } else if (item == "LW") {
        spec->dom_last_weekday = true;
      } else if (absl::EndsWith(item, "W")) {
        std::optional<int> n =
            ParseFieldValue(item.substr(0, item.size() - 1), kDomRange);
        if (!n) return false;
        spec->dom_nearest_weekday |= uint32_t{1} << *n;
      } else {
        FieldBits bits;
        if (!ParsePlainItem(item, kDomRange, &bits)) return false;
        for (int i = 0; i < 31; ++i) {
          if (bits[i]) spec->dom_days |= uint32_t{1} << (i + 1);
        }
      }
    }
    return true;
  }

  // Items: plain, `L` (= 7, Saturday), `dL` (last weekday d of the month),
  // `d#k` (k-th weekday d, k = 1..5; at most one per field).
  static bool ParseDowField(absl::string_view field,
                            ScheduleExpression::CronSpec* spec) {
    for (absl::string_view item : absl::StrSplit(field, ',')) {
      if (item == "L") {
        spec->dow_days |= 1u << 7;
      } else if (size_t hash = item.find('#');
                 hash != absl::string_view::npos) {
        if (spec->dow_nth_day != 0) return false;  // only one `#`
        std::optional<int> d = ParseFieldValue(item.substr(0, hash), kDowRange);
        std::optional<int64_t> k = ParseDigits(item.substr(hash + 1), 1);
        if (!d || !k || *k < 1 || *k > 5) return false;
        spec->dow_nth_day = *d;
        spec->dow_nth = static_cast<int>(*k);
      } else if (item.size() > 1 && absl::EndsWith(item, "L")) {
        std::optional<int> d =
            ParseFieldValue(item.substr(0, item.size() - 1), kDowRange);
        if (!d) return false;
        spec->dow_last |= static_cast<uint8_t>(1u << *d);
      } else {
        FieldBits bits;
        if (!ParsePlainItem(item, kDowRange, &bits)) return false;
        for (int i = 0; i < 7; ++i) {
          if (bits[i]) spec->dow_days |= static_cast<uint8_t>(1u << (i + 1));
        }
      }
    }
    return true;
  }
};

namespace {

absl::Status InvalidExpression(absl::string_view text, Dialect dialect) {
  if (dialect == Dialect::kRule) {
    return common::ValidationError(
        "Parameter ScheduleExpression is not valid.");
  }
  return common::ValidationError(
      absl::StrCat("Invalid Schedule Expression ", text, "."));
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name,
                                        Dialect dialect) {
  if (name.empty() || name == "UTC") return absl::UTCTimeZone();
  if (dialect == Dialect::kRule) {
    return common::ValidationError(
        absl::StrCat("Rule schedule expressions are evaluated in UTC; time "
                     "zone ",
                     name, " is not supported."));
  }
  const absl::Status invalid = common::ValidationError(
      absl::StrCat("Invalid ScheduleExpressionTimezone ", name, "."));
  // IANA names only: no paths, no "localtime", no abseil "Fixed/UTC+hh:mm".
  if (name.size() > kMaxTimeZoneChars || name.front() == '/' ||
      absl::StrContains(name, "..") || name == "localtime" ||
      absl::StartsWith(name, "Fixed/")) {
    return invalid;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '/' &&
        c != '_' && c != '-' && c != '+') {
      return invalid;
    }
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name.data(), name.size()), &tz)) {
    return invalid;
  }
  return tz;
}

absl::CivilMinute MinuteOf(int year, int month, int day, int hour = 0,
                           int minute = 0) {
  return absl::CivilMinute(year, month, day, hour, minute);
}

// Cron day of week (1 = Sunday .. 7 = Saturday).
int CronWeekday(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::sunday:
      return 1;
    case absl::Weekday::monday:
      return 2;
    case absl::Weekday::tuesday:
      return 3;
    case absl::Weekday::wednesday:
      return 4;
    case absl::Weekday::thursday:
      return 5;
    case absl::Weekday::friday:
      return 6;
    case absl::Weekday::saturday:
      return 7;
  }
  return 1;
}

}  // namespace

absl::StatusOr<ScheduleExpression> ScheduleExpression::Parse(
    absl::string_view text, Dialect dialect, absl::string_view time_zone) {
  ScheduleExpression e;
  bool ok = false;
  if (text.size() <= kMaxExpressionChars && absl::EndsWith(text, ")")) {
    if (absl::StartsWith(text, "rate(")) {
      ok = ScheduleExpressionParser::ParseRate(text.substr(5, text.size() - 6),
                                               &e);
    } else if (absl::StartsWith(text, "cron(")) {
      ok = ScheduleExpressionParser::ParseCron(text.substr(5, text.size() - 6),
                                               &e);
    } else if (absl::StartsWith(text, "at(") &&
               dialect == Dialect::kScheduler) {
      ok = ScheduleExpressionParser::ParseAt(text.substr(3, text.size() - 4),
                                             &e);
    }
  }
  if (!ok) return InvalidExpression(text, dialect);
  absl::StatusOr<absl::TimeZone> tz = LoadZone(time_zone, dialect);
  if (!tz.ok()) return tz.status();
  e.time_zone_ = *tz;
  e.text_.assign(text.data(), text.size());
  return e;
}

uint32_t ScheduleExpression::DayMask(int year, int month) const {
  const absl::CivilDay first(year, month, 1);
  const int dim =
      static_cast<int>(absl::CivilDay(absl::CivilMonth(first) + 1) - first);
  const uint32_t valid = ((uint32_t{1} << dim) - 1) << 1;  // bits 1..dim
  const int first_dow = CronWeekday(first);
  auto dow_of = [first_dow](int d) { return (first_dow - 1 + d - 1) % 7 + 1; };
  const CronSpec& c = cron_;
  uint32_t mask = 0;
  if (c.uses_dom) {
    mask = c.dom_days & valid;
    if (c.dom_last) mask |= uint32_t{1} << dim;
    if (c.dom_last_weekday) {
      const int w = dow_of(dim);
      const int d = w == 7 ? dim - 1 : w == 1 ? dim - 2 : dim;
      mask |= uint32_t{1} << d;
    }
    // nW: the weekday nearest day n, never leaving the month; a day the
    // month does not have selects nothing.
    for (uint32_t bits = c.dom_nearest_weekday & valid; bits != 0;
         bits &= bits - 1) {
      const int n = absl::countr_zero(bits);
      const int w = dow_of(n);
      int d = n;
      if (w == 7) d = n == 1 ? 3 : n - 1;        // Saturday
      if (w == 1) d = n == dim ? n - 2 : n + 1;  // Sunday
      mask |= uint32_t{1} << d;
    }
    return mask;
  }
  if (c.dow_days != 0) {
    for (int d = 1; d <= dim; ++d) {
      if (c.dow_days & (1u << dow_of(d))) mask |= uint32_t{1} << d;
    }
  }
  for (int w = 1; w <= 7; ++w) {
    if (c.dow_last & (1u << w)) {
      mask |= uint32_t{1} << (dim - (dow_of(dim) - w + 7) % 7);
    }
  }
  if (c.dow_nth_day != 0) {
    const int d = 1 + (c.dow_nth_day - first_dow + 7) % 7 + 7 * (c.dow_nth - 1);
    if (d <= dim) mask |= uint32_t{1} << d;
  }
  return mask;
}

std::optional<absl::Time> ScheduleExpression::NextCronFireAfter(
    absl::Time after) const {
  const CronSpec& c = cron_;
  absl::CivilMinute m =
      after == absl::InfinitePast()
          ? MinuteOf(kCronMinYear, 1, 1)
          : absl::CivilMinute(absl::ToCivilSecond(after, time_zone_)) + 1;
  for (int step = 0; step < kMaxSearchSteps; ++step) {
    const int year = static_cast<int>(m.year());
    if (year > kCronMaxYear) return std::nullopt;
    if (year < kCronMinYear) {
      m = MinuteOf(kCronMinYear, 1, 1);
      continue;
    }
    if (!c.years[year - kCronMinYear]) {
      int next = year + 1;
      while (next <= kCronMaxYear && !c.years[next - kCronMinYear]) ++next;
      if (next > kCronMaxYear) return std::nullopt;
      m = MinuteOf(next, 1, 1);
      continue;
    }
    const int month = m.month();
    const uint16_t later_months =
        static_cast<uint16_t>(c.months & ~((1u << month) - 1));
    if ((c.months & (1u << month)) == 0) {
      m = later_months == 0
              ? MinuteOf(year + 1, 1, 1)
              : MinuteOf(year, absl::countr_zero(later_months), 1);
      continue;
    }
    const int day = m.day();
    const uint32_t days = DayMask(year, month);
    if ((days & (uint32_t{1} << day)) == 0) {
      const uint32_t later = days & ~((uint32_t{1} << day) - 1);
      // MinuteOf normalises month 13 to January of the next year.
      m = later == 0 ? MinuteOf(year, month + 1, 1)
                     : MinuteOf(year, month, absl::countr_zero(later));
      continue;
    }
    const int hour = m.hour();
    if ((c.hours & (uint32_t{1} << hour)) == 0) {
      const uint32_t later = c.hours & ~((uint32_t{1} << hour) - 1);
      m = later == 0 ? MinuteOf(year, month, day + 1)
                     : MinuteOf(year, month, day, absl::countr_zero(later));
      continue;
    }
    const int minute = m.minute();
    if ((c.minutes & (uint64_t{1} << minute)) == 0) {
      const uint64_t later = c.minutes & ~((uint64_t{1} << minute) - 1);
      m = later == 0
              ? MinuteOf(year, month, day, hour + 1)
              : MinuteOf(year, month, day, hour, absl::countr_zero(later));
      continue;
    }
    // All fields match: map the local minute to an instant.
    const absl::TimeZone::TimeInfo info = time_zone_.At(m);
    if (info.kind == absl::TimeZone::TimeInfo::SKIPPED) {
      // Inside a spring-forward gap: jump to the first minute after it.
      const absl::CivilMinute resume(
          absl::ToCivilSecond(info.trans, time_zone_));
      m = std::max(m + 1, resume);
      continue;
    }
    // UNIQUE, or REPEATED: `pre` is the first occurrence.
    if (info.pre <= after) {
      // `after` lies in the second pass of a repeated hour; minutes whose
      // first occurrence already passed do not fire again.
      m += 1;
      continue;
    }
    return info.pre;
  }
  return std::nullopt;
}

std::optional<absl::Time> ScheduleExpression::NextFireAfter(
    absl::Time after, absl::Time anchor) const {
  if (after == absl::InfiniteFuture()) return std::nullopt;
  switch (kind_) {
    case ExpressionKind::kRate: {
      if (anchor == absl::InfinitePast() || anchor == absl::InfiniteFuture()) {
        return std::nullopt;
      }
      if (after < anchor) return anchor + rate_period_;
      absl::Duration rem;
      const int64_t k = absl::IDivDuration(after - anchor, rate_period_, &rem);
      const absl::Time t = anchor + rate_period_ * (k + 1);
      if (t == absl::InfiniteFuture()) return std::nullopt;
      return t;
    }
    case ExpressionKind::kAt: {
      const absl::TimeZone::TimeInfo info = time_zone_.At(at_);
      if (info.kind == absl::TimeZone::TimeInfo::SKIPPED) return std::nullopt;
      if (info.pre <= after) return std::nullopt;
      return info.pre;
    }
    case ExpressionKind::kCron:
      return NextCronFireAfter(after);
  }
  return std::nullopt;
}

}  // namespace evbus::scheduler
