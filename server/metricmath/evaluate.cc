#include "server/metricmath/evaluate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace evbus::metricmath {
namespace {

using Kind = Value::Kind;

std::optional<double> Finite(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

Value Scalar(std::optional<double> v) {
  Value out;
  out.kind = Kind::kScalar;
  out.scalar = v;
  return out;
}

Value OfSeries(Series s) {
  Value out;
  out.kind = Kind::kSeries;
  out.series = std::move(s);
  return out;
}

std::optional<double> Apply(const std::string& op, double a, double b) {
  if (op == "+") return Finite(a + b);
  if (op == "-") return Finite(a - b);
  if (op == "*") return Finite(a * b);
  if (op == "/") return Finite(a / b);
  if (op == "^") return Finite(std::pow(a, b));
  if (op == "==") return a == b ? 1.0 : 0.0;
  if (op == "!=") return a != b ? 1.0 : 0.0;
  if (op == "<") return a < b ? 1.0 : 0.0;
  if (op == "<=") return a <= b ? 1.0 : 0.0;
  if (op == ">") return a > b ? 1.0 : 0.0;
  if (op == ">=") return a >= b ? 1.0 : 0.0;
  if (op == "AND") return (a != 0 && b != 0) ? 1.0 : 0.0;
  if (op == "OR") return (a != 0 || b != 0) ? 1.0 : 0.0;
  return std::nullopt;
}

// Aggregates of the values present (AVG, MAX, MIN, SUM, STDDEV, and
// DATAPOINT_COUNT); nullopt when there are none.
std::optional<double> Aggregate(const std::string& name,
                                const std::vector<double>& v) {
  if (name == "DATAPOINT_COUNT") return static_cast<double>(v.size());
  if (v.empty()) return std::nullopt;
  if (name == "MAX") return *std::max_element(v.begin(), v.end());
  if (name == "MIN") return *std::min_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  if (name == "SUM") return Finite(sum);
  const double mean = sum / static_cast<double>(v.size());
  if (name == "AVG") return Finite(mean);
  // STDDEV: the population standard deviation.
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return Finite(std::sqrt(squares / static_cast<double>(v.size())));
}

std::vector<double> Present(const Series& s) {
  std::vector<double> out;
  for (const std::optional<double>& v : s) {
    if (v.has_value()) out.push_back(*v);
  }
  return out;
}

// The values (buckets of series) an evaluation may still produce.
class Budget {
 public:
  explicit Budget(int64_t values) : left_(values) {}
  absl::Status Charge(int64_t values) {
    left_ -= values;
    if (left_ >= 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "The metric math needs more than ", kMaxValues,
        " values (time series x periods) in all; reduce the time range, the "
        "number of series or the number of queries, or use a longer "
        "period."));
  }

 private:
  int64_t left_;
};

int64_t CellsOf(const Value& v) {
  int64_t n = static_cast<int64_t>(v.series.size()) + 1;
  for (const Series& s : v.array) n += static_cast<int64_t>(s.size()) + 1;
  return n;
}

class Evaluator {
 public:
  Evaluator(const Grid& grid, const std::vector<QueryInput>& queries,
            const std::map<std::string, size_t>& index,
            const std::vector<std::optional<Value>>& done, Budget& budget)
      : grid_(grid),
        queries_(queries),
        index_(index),
        done_(done),
        budget_(budget) {}

  // Evaluates `n`, charging what its value holds to the budget (and what
  // an array holds as it grows), so that no expression can take more
  // memory or time than the budget allows.
  absl::StatusOr<Value> Eval(const Node& n) {
    absl::StatusOr<Value> v = EvalNode(n);
    if (!v.ok()) return v;
    absl::Status charged = budget_.Charge(CellsOf(*v));
    if (!charged.ok()) return charged;
    return v;
  }

 private:
  // Adds a member to array `out`, within the member limit and the budget.
  absl::Status AddMember(const Node& at, Value& out, Series s,
                         std::string label) {
    if (out.array.size() >= kMaxSeriesPerValue) {
      return Error(at, absl::StrCat("an expression may give at most ",
                                    kMaxSeriesPerValue, " time series"));
    }
    absl::Status charged = budget_.Charge(static_cast<int64_t>(s.size()) + 1);
    if (!charged.ok()) return charged;
    out.array.push_back(std::move(s));
    out.labels.push_back(std::move(label));
    return absl::OkStatus();
  }

  absl::StatusOr<Value> EvalNode(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kNumber:
        return Scalar(Finite(n.number));
      case Node::Kind::kId: {
        const std::optional<Value>& v = done_[index_.at(n.text)];
        return *v;  // CheckQueries and the order guarantee it is computed
      }
      case Node::Kind::kNegate: {
        absl::StatusOr<Value> v = Eval(n.args[0]);
        if (!v.ok()) return v;
        return Map(*v, [](double x) { return Finite(-x); });
      }
      case Node::Kind::kBinary:
        return EvalBinary(n);
      case Node::Kind::kFunction:
        return EvalFunction(n);
      case Node::Kind::kArray: {
        Value out;
        out.kind = Kind::kArray;
        for (const Node& member : n.args) {
          absl::StatusOr<Value> v = Eval(member);
          if (!v.ok()) return v;
          if (v->kind == Kind::kArray) {
            for (size_t i = 0; i < v->array.size(); ++i) {
              absl::Status added = AddMember(n, out, v->array[i], v->labels[i]);
              if (!added.ok()) return added;
            }
            continue;
          }
          absl::StatusOr<Series> s = v->AsSeries(grid_);
          if (!s.ok()) return s.status();
          // A query's member is labelled as METRICS() labels it: by the
          // query's label, else its id.
          std::string label;
          if (member.kind == Node::Kind::kId) {
            const QueryInput& q = queries_[index_.at(member.text)];
            label = q.label.empty() ? q.id : q.label;
          }
          absl::Status added = AddMember(n, out, *std::move(s), label);
          if (!added.ok()) return added;
        }
        return out;
      }
      case Node::Kind::kString:
      case Node::Kind::kKeyword:
        break;  // the parser allows them only where functions read them
    }
    return Error(n, "a string or keyword is not a value");
  }

  absl::Status Error(const Node& n, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("At position ", n.position + 1, ": ", what, "."));
  }

  // Applies `f` to every value (a scalar, each bucket, each member).
  template <typename F>
  Value Map(const Value& v, F f) {
    Value out = v;
    auto map_series = [&f](Series& s) {
      for (std::optional<double>& x : s) {
        if (x.has_value()) x = f(*x);
      }
    };
    switch (v.kind) {
      case Kind::kScalar:
        if (out.scalar.has_value()) out.scalar = f(*out.scalar);
        break;
      case Kind::kSeries:
        map_series(out.series);
        break;
      case Kind::kArray:
        for (Series& s : out.array) map_series(s);
        break;
    }
    return out;
  }

  static Series Combine(const Series& a, const Series& b,
                        const std::string& op) {
    Series out(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].has_value() && b[i].has_value()) {
        out[i] = Apply(op, *a[i], *b[i]);
      }
    }
    return out;
  }

  absl::StatusOr<Value> EvalBinary(const Node& n) {
    absl::StatusOr<Value> a = Eval(n.args[0]);
    if (!a.ok()) return a;
    absl::StatusOr<Value> b = Eval(n.args[1]);
    if (!b.ok()) return b;
    const std::string& op = n.op;
    if (a->kind == Kind::kScalar && b->kind == Kind::kScalar) {
      if (!a->scalar.has_value() || !b->scalar.has_value()) {
        return Scalar(std::nullopt);
      }
      return Scalar(Apply(op, *a->scalar, *b->scalar));
    }
    if (a->kind == Kind::kArray && b->kind == Kind::kArray) {
      return Error(n, absl::StrCat("the operator ", op,
                                   " cannot combine two arrays of series"));
    }
    // One side an array: apply to each member.
    if (a->kind == Kind::kArray || b->kind == Kind::kArray) {
      const bool left_array = a->kind == Kind::kArray;
      const Value& array = left_array ? *a : *b;
      absl::StatusOr<Series> other = (left_array ? *b : *a).AsSeries(grid_);
      if (!other.ok()) return other.status();
      Value out = array;
      for (Series& s : out.array) {
        s = left_array ? Combine(s, *other, op) : Combine(*other, s, op);
      }
      return out;
    }
    absl::StatusOr<Series> sa = a->AsSeries(grid_);
    absl::StatusOr<Series> sb = b->AsSeries(grid_);
    if (!sa.ok()) return sa.status();
    if (!sb.ok()) return sb.status();
    return OfSeries(Combine(*sa, *sb, op));
  }

  absl::StatusOr<Series> SeriesArg(const Node& call, const Value& v) {
    if (v.kind == Kind::kArray) {
      return Error(
          call, absl::StrCat(call.text, " takes a time series, not an array"));
    }
    return v.AsSeries(grid_);
  }

  // For each series of `v` (one, or each member of an array), `f` maps it.
  absl::StatusOr<Value> PerSeries(
      const Value& v, const std::function<Series(const Series&)>& f) {
    if (v.kind == Kind::kArray) {
      Value out = v;
      for (Series& s : out.array) s = f(s);
      return out;
    }
    absl::StatusOr<Series> s = v.AsSeries(grid_);
    if (!s.ok()) return s.status();
    return OfSeries(f(*s));
  }

  // Each datapoint against the previous one: f(value, previous value,
  // seconds between them); the first datapoint has no result.
  Series Stepwise(
      const Series& s,
      const std::function<std::optional<double>(double, double, double)>& f) {
    Series out(s.size());
    std::optional<size_t> last;
    for (size_t i = 0; i < s.size(); ++i) {
      if (!s[i].has_value()) continue;
      if (last.has_value()) {
        const double seconds = absl::ToDoubleSeconds(
            grid_.period * static_cast<int64_t>(i - *last));
        out[i] = f(*s[i], *s[*last], seconds);
      }
      last = i;
    }
    return out;
  }

  Series Fill(const Series& s, const Node& how, std::optional<double> value) {
    Series out = s;
    if (how.kind != Node::Kind::kKeyword) {
      for (std::optional<double>& x : out) {
        if (!x.has_value()) x = value;
      }
      return out;
    }
    std::optional<size_t> last;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i].has_value()) {
        if (last.has_value() && i - *last > 1) {
          for (size_t k = *last + 1; k < i; ++k) {
            if (how.text == "REPEAT") {
              out[k] = s[*last];
            } else {  // LINEAR
              const double t = static_cast<double>(k - *last) /
                               static_cast<double>(i - *last);
              out[k] = *s[*last] + (*s[i] - *s[*last]) * t;
            }
          }
        }
        last = i;
      }
    }
    // REPEAT also carries the last value to the end of the range.
    if (how.text == "REPEAT" && last.has_value()) {
      for (size_t k = *last + 1; k < s.size(); ++k) out[k] = s[*last];
    }
    return out;
  }

  absl::StatusOr<Value> EvalFunction(const Node& n) {
    const std::string& f = n.text;
    if (f == "METRICS") {
      const std::string filter = n.args.empty() ? "" : n.args[0].text;
      Value out;
      out.kind = Kind::kArray;
      for (const QueryInput& q : queries_) {
        if (!q.series.has_value()) continue;
        if (!filter.empty() && !absl::StrContains(q.id, filter) &&
            !absl::StrContains(q.label, filter)) {
          continue;
        }
        absl::Status added =
            AddMember(n, out, *q.series, q.label.empty() ? q.id : q.label);
        if (!added.ok()) return added;
      }
      return out;
    }
    std::vector<Value> args;
    for (const Node& a : n.args) {
      if (a.kind == Node::Kind::kKeyword) {
        args.emplace_back();
        continue;
      }
      absl::StatusOr<Value> v = Eval(a);
      if (!v.ok()) return v;
      args.push_back(*std::move(v));
    }
    const Value& x = args[0];
    if (f == "ABS")
      return Map(x, [](double v) { return Finite(std::fabs(v)); });
    if (f == "CEIL")
      return Map(x, [](double v) { return Finite(std::ceil(v)); });
    if (f == "FLOOR") {
      return Map(x, [](double v) { return Finite(std::floor(v)); });
    }
    if (f == "LOG") return Map(x, [](double v) { return Finite(std::log(v)); });
    if (f == "LOG10") {
      return Map(x, [](double v) { return Finite(std::log10(v)); });
    }
    if (f == "AVG" || f == "MAX" || f == "MIN" || f == "SUM" || f == "STDDEV" ||
        f == "DATAPOINT_COUNT") {
      if (x.kind == Kind::kScalar) {
        if (f == "DATAPOINT_COUNT") {
          return Scalar(x.scalar.has_value() ? 1.0 : 0.0);
        }
        if (f == "STDDEV") {
          return Scalar(x.scalar.has_value() ? std::optional<double>(0)
                                             : std::nullopt);
        }
        return x;
      }
      if (x.kind == Kind::kSeries)
        return Scalar(Aggregate(f, Present(x.series)));
      // An array: per bucket, over the members with a value there.
      Series out(static_cast<size_t>(grid_.count));
      for (size_t i = 0; i < out.size(); ++i) {
        std::vector<double> here;
        for (const Series& s : x.array) {
          if (s[i].has_value()) here.push_back(*s[i]);
        }
        if (!here.empty()) out[i] = Aggregate(f, here);
      }
      return OfSeries(std::move(out));
    }
    if (f == "PERIOD") {
      return Scalar(absl::ToDoubleSeconds(grid_.period));
    }
    if (f == "TIME_SERIES") {
      if (x.kind != Kind::kScalar) {
        return Error(n, "TIME_SERIES takes a scalar");
      }
      return OfSeries(Series(static_cast<size_t>(grid_.count), x.scalar));
    }
    if (f == "FIRST" || f == "LAST") {
      if (x.kind != Kind::kArray) {
        return Error(n, absl::StrCat(f, " takes an array of time series"));
      }
      if (x.array.empty()) {
        return OfSeries(Series(static_cast<size_t>(grid_.count)));
      }
      return OfSeries(f == "FIRST" ? x.array.front() : x.array.back());
    }
    if (f == "REMOVE_EMPTY") {
      if (x.kind != Kind::kArray) return x;
      Value out;
      out.kind = Kind::kArray;
      for (size_t i = 0; i < x.array.size(); ++i) {
        if (Present(x.array[i]).empty()) continue;
        out.array.push_back(x.array[i]);
        out.labels.push_back(x.labels[i]);
      }
      return out;
    }
    if (f == "DIFF" || f == "DIFF_TIME" || f == "RATE") {
      return PerSeries(x, [this, &f](const Series& s) {
        return Stepwise(s, [&f](double v, double prev, double seconds) {
          if (f == "DIFF") return Finite(v - prev);
          if (f == "DIFF_TIME") return Finite(seconds);
          return Finite((v - prev) / seconds);
        });
      });
    }
    if (f == "RUNNING_SUM") {
      return PerSeries(x, [](const Series& s) {
        Series out(s.size());
        double sum = 0;
        for (size_t i = 0; i < s.size(); ++i) {
          if (!s[i].has_value()) continue;
          sum += *s[i];
          out[i] = Finite(sum);
        }
        return out;
      });
    }
    if (f == "FILL") {
      const Node& how = n.args[1];
      std::optional<double> value;
      if (how.kind != Node::Kind::kKeyword) {
        if (args[1].kind != Kind::kScalar) {
          return Error(n,
                       "FILL's second argument must be a number, REPEAT "
                       "or LINEAR");
        }
        value = args[1].scalar;
      }
      if (x.kind == Kind::kScalar) return x;
      return PerSeries(x, [this, &how, value](const Series& s) {
        return Fill(s, how, value);
      });
    }
    if (f == "IF") {
      for (const Value& a : args) {
        if (a.kind == Kind::kArray) {
          return Error(n, "IF takes scalars or time series, not arrays");
        }
      }
      const bool all_scalar =
          std::all_of(args.begin(), args.end(),
                      [](const Value& a) { return a.kind == Kind::kScalar; });
      auto pick = [&args](const std::optional<double>& c,
                          const std::optional<double>& t,
                          const std::optional<double>& e) {
        if (!c.has_value()) return std::optional<double>();
        if (*c != 0) return t;
        return args.size() == 3 ? e : std::optional<double>();
      };
      if (all_scalar) {
        return Scalar(pick(args[0].scalar, args[1].scalar,
                           args.size() == 3 ? args[2].scalar : std::nullopt));
      }
      std::vector<Series> s;
      for (const Value& a : args) {
        absl::StatusOr<Series> as = a.AsSeries(grid_);
        if (!as.ok()) return as.status();
        s.push_back(*std::move(as));
      }
      Series out(static_cast<size_t>(grid_.count));
      for (size_t i = 0; i < out.size(); ++i) {
        out[i] = pick(s[0][i], s[1][i], s.size() == 3 ? s[2][i] : std::nullopt);
      }
      return OfSeries(std::move(out));
    }
    return Error(n, absl::StrCat("the function ", f, " is not evaluated"));
  }

  const Grid& grid_;
  const std::vector<QueryInput>& queries_;
  const std::map<std::string, size_t>& index_;
  const std::vector<std::optional<Value>>& done_;
  Budget& budget_;
};

// The ids a query needs computed first (METRICS() needs every MetricStat
// query, which has no dependencies of its own).
std::vector<std::string> Dependencies(const QueryInput& q) {
  if (!q.expression.has_value()) return {};
  return q.expression->references();
}

}  // namespace

absl::StatusOr<Series> Value::AsSeries(const Grid& grid) const {
  switch (kind) {
    case Kind::kScalar:
      return Series(static_cast<size_t>(grid.count), scalar);
    case Kind::kSeries:
      return series;
    case Kind::kArray:
      break;
  }
  return absl::InvalidArgumentError(
      "an array of time series is used where one time series is expected");
}

absl::Status CheckQueries(const std::vector<QueryInput>& queries) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::string& id = queries[i].id;
    if (!IsValidId(id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid id '", id,
          "': ids are 1 to 255 characters, start with a lower-case letter "
          "and hold only letters, digits and '_'."));
    }
    if (!index.emplace(id, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Duplicate id '", id, "' in the metrics list."));
    }
  }
  for (const QueryInput& q : queries) {
    for (const std::string& ref : Dependencies(q)) {
      if (index.count(ref) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("The expression of query '", q.id,
                         "' refers to unknown id '", ref, "'."));
      }
    }
  }
  // Cycles: depth-first search with colours.
  std::vector<int> colour(queries.size(), 0);  // 0 new, 1 open, 2 done
  std::vector<std::string> path;
  std::function<absl::Status(size_t)> visit = [&](size_t i) -> absl::Status {
    colour[i] = 1;
    path.push_back(queries[i].id);
    for (const std::string& ref : Dependencies(queries[i])) {
      const size_t j = index[ref];
      if (colour[j] == 1) {
        std::vector<std::string> cycle(std::find(path.begin(), path.end(), ref),
                                       path.end());
        cycle.push_back(ref);
        return absl::InvalidArgumentError(
            absl::StrCat("Circular dependency between queries: ",
                         absl::StrJoin(cycle, " -> "), "."));
      }
      if (colour[j] == 0) {
        absl::Status s = visit(j);
        if (!s.ok()) return s;
      }
    }
    path.pop_back();
    colour[i] = 2;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < queries.size(); ++i) {
    if (colour[i] != 0) continue;
    absl::Status s = visit(i);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Value>> EvaluateQueries(
    const Grid& grid, const std::vector<QueryInput>& queries) {
  absl::Status checked = CheckQueries(queries);
  if (!checked.ok()) return checked;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < queries.size(); ++i) index[queries[i].id] = i;
  Budget budget(kMaxValues);
  std::vector<std::optional<Value>> done(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!queries[i].series.has_value()) continue;
    absl::Status charged = budget.Charge(grid.count + 1);
    if (!charged.ok()) return charged;
    Series s = *queries[i].series;
    s.resize(static_cast<size_t>(grid.count));
    done[i] = OfSeries(std::move(s));
  }
  // Expressions in dependency order: the graph is acyclic, so each pass
  // computes at least one, and at most queries.size() passes are needed.
  for (size_t pass = 0; pass < queries.size(); ++pass) {
    bool progress = false;
    for (size_t i = 0; i < queries.size(); ++i) {
      if (done[i].has_value()) continue;
      const QueryInput& q = queries[i];
      if (!q.expression.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "The query '", q.id, "' has neither a metric nor an expression."));
      }
      const std::vector<std::string> deps = Dependencies(q);
      if (!std::all_of(deps.begin(), deps.end(), [&](const std::string& d) {
            return done[index[d]].has_value();
          })) {
        continue;
      }
      Evaluator evaluator(grid, queries, index, done, budget);
      absl::StatusOr<Value> v = evaluator.Eval(q.expression->root());
      if (!v.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("Error in the expression of query '", q.id,
                         "': ", v.status().message()));
      }
      done[i] = *std::move(v);
      progress = true;
    }
    if (!progress) break;
  }
  std::vector<Value> out;
  out.reserve(done.size());
  for (std::optional<Value>& v : done) {
    if (!v.has_value()) {
      return absl::InternalError("metric math: a query was not evaluated");
    }
    out.push_back(*std::move(v));
  }
  return out;
}

}  // namespace evbus::metricmath
