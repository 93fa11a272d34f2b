// File: server/metricmath/expression.h
//
// CloudWatch metric math (shared/spec/lambda-cloudwatch-sns.md §4.5, §4.6):
// the expression of a MetricDataQuery, e.g. `100*e/i` or
// `IF(errors > 0, errors / MAX([invocations, 1]), 0)`, parsed once and then
// evaluated over time series that share one grid of period buckets.
//
// Grammar (loosest first; operators as CloudWatch documents them):
//   or      := and { ("OR" | "||") and }
//   and     := cmp { ("AND" | "&&") cmp }
//   cmp     := sum [ ("==" | "!=" | "<=" | "<" | ">=" | ">") sum ]
//   sum     := product { ("+" | "-") product }
//   product := unary { ("*" | "/") unary }
//   unary   := "-" unary | power
//   power   := primary [ "^" unary ]              (right-associative)
//   primary := number | id | FUNCTION "(" [ arg { "," arg } ] ")"
//            | "(" or ")" | "[" or { "," or } "]"   (an array of series)
//   arg     := or | string | REPEAT | LINEAR        (string: METRICS' filter)
// Ids start with a lower-case letter (letters, digits, '_'); function names
// are upper case. Supported functions: ABS, AVG, CEIL, DATAPOINT_COUNT,
// DIFF, DIFF_TIME, FILL, FIRST, FLOOR, IF, LAST, LOG, LOG10, MAX, METRICS,
// MIN, PERIOD, RATE, REMOVE_EMPTY, RUNNING_SUM, STDDEV, SUM, TIME_SERIES.
// Other CloudWatch functions (SEARCH, ANOMALY_DETECTION_BAND, SORT, ...) are
// refused by name.
//
// Values: a scalar, a time series (one optional value per bucket of the
// grid), or an array of time series (METRICS(), `[a, b]`). Semantics:
//  * arithmetic, comparison (1 or 0) and logic (non-zero is true) apply per
//    bucket; a bucket missing in either operand is missing in the result,
//    and so is a result that is not finite (x/0, LOG(-1));
//  * a scalar combines with every bucket of a series; an operation between
//    an array and a scalar or a series applies to each member; two arrays
//    cannot be combined;
//  * AVG, MAX, MIN, SUM, STDDEV of one series give a scalar over its
//    datapoints; of an array, a series: per bucket, over the members that
//    have a value there;
//  * DATAPOINT_COUNT(s) and PERIOD(s) are scalars; DIFF, DIFF_TIME and RATE
//    compare each datapoint with the previous one; RUNNING_SUM adds up;
//    FILL(s, v | REPEAT | LINEAR) fills missing buckets (REPEAT from the
//    last value before, LINEAR between the values around; neither fills
//    before the first datapoint); IF(c, a [, b]) picks per bucket (missing
//    where c is false and b is absent); TIME_SERIES(x) has x in every
//    bucket; FIRST/LAST pick an array's first/last member; REMOVE_EMPTY
//    drops members without datapoints; METRICS(["text"]) is every MetricStat
//    query (whose id or label contains text).
//
// Thread safety: Expression is immutable once parsed (thread-safe to share).
//
// Example:
//   absl::StatusOr<Expression> e = Expression::Parse("100*e/i");
//   if (!e.ok()) return e.status();       // names the position and token
//   e->references();                      // {"e", "i"}
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::metricmath {

// The longest expression accepted (CloudWatch's model: 1..2048).
inline constexpr size_t kMaxExpressionLength = 2048;

// One node of a parsed expression.
struct Node {
  enum class Kind {
    kNumber,    // number
    kString,    // text (METRICS' filter)
    kKeyword,   // text: REPEAT or LINEAR (FILL's second argument)
    kId,        // text: a query id
    kNegate,    // args[0]
    kBinary,    // op, args[0], args[1]
    kFunction,  // text: the name; args
    kArray,     // args
  };
  Kind kind = Kind::kNumber;
  double number = 0;
  std::string text;
  std::string op;  // kBinary: "+", "-", "*", "/", "^", "==", ..., "AND", "OR"
  std::vector<Node> args;
  size_t position = 0;  // where the node starts in the expression (0-based)
};

class Expression {
 public:
  // Parses `text`. InvalidArgument on a syntax error ("Syntax error at
  // position N: ..."), an unknown or unsupported function, a wrong number
  // of arguments, or a text longer than kMaxExpressionLength.
  static absl::StatusOr<Expression> Parse(absl::string_view text);

  const std::string& text() const { return text_; }
  const Node& root() const { return *root_; }
  // The ids the expression names, each once, in order of first appearance.
  const std::vector<std::string>& references() const { return references_; }
  // Whether it calls METRICS(), which reads every MetricStat query.
  bool uses_all_metrics() const { return uses_all_metrics_; }

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::vector<std::string> references_;
  bool uses_all_metrics_ = false;
};

// Whether `id` is a valid query id: 1..255 characters, a lower-case letter
// first, then letters, digits and '_'.
bool IsValidId(absl::string_view id);

}  // namespace evbus::metricmath
