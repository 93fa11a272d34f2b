#include "server/pattern/pattern.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/pattern/internal/case_fold.h"
#include "server/pattern/internal/compiled.h"
#include "server/pattern/internal/pattern_json.h"
#include "server/pattern/internal/strings.h"

namespace evbus::pattern {
namespace internal {

bool MatcherAccepts(const Matcher& m, const LeafValue& v,
                    std::optional<std::string>* folded) {
  const bool is_string = v.kind == ValueKind::kString;
  auto fold = [&]() -> const std::string& {
    if (!folded->has_value()) *folded = FoldCase(v.text);
    return **folded;
  };
  switch (m.kind) {
    case MatcherKind::kExactString:
      if (!is_string) return false;
      if (v.text == m.str) return true;
      if (m.ip.has_value()) {
        std::optional<IpAddress> ip = ParseIp(v.text);
        return ip.has_value() && *ip == *m.ip;
      }
      return false;
    case MatcherKind::kExactNumber:
      if (v.kind != ValueKind::kNumber) return false;
      if (m.num_finite && std::isfinite(v.number) && v.number == m.num) {
        return true;
      }
      return v.text == m.num_text;
    case MatcherKind::kTrue:
      return v.kind == ValueKind::kTrue;
    case MatcherKind::kFalse:
      return v.kind == ValueKind::kFalse;
    case MatcherKind::kNull:
      return v.kind == ValueKind::kNull;
    case MatcherKind::kPrefix:
      return is_string && v.text.starts_with(m.str);
    case MatcherKind::kSuffix:
      return is_string && v.text.ends_with(m.str);
    case MatcherKind::kPrefixIgnoreCase:
      return is_string && std::string_view(fold()).starts_with(m.str);
    case MatcherKind::kSuffixIgnoreCase:
      return is_string && std::string_view(fold()).ends_with(m.str);
    case MatcherKind::kEqualsIgnoreCase:
      return is_string && fold() == m.str;
    case MatcherKind::kWildcard:
      return is_string && m.globs.front().Matches(v.text);
    case MatcherKind::kAnythingButStrings:
      return !(is_string && m.str_set.contains(v.text));
    case MatcherKind::kAnythingButNumbers:
      if (v.kind != ValueKind::kNumber) return true;
      return std::find(m.nums.begin(), m.nums.end(), v.number) == m.nums.end();
    case MatcherKind::kAnythingButPrefix:
      if (!is_string) return true;
      for (const std::string& p : m.strs) {
        if (v.text.starts_with(p)) return false;
      }
      return true;
    case MatcherKind::kAnythingButSuffix:
      if (!is_string) return true;
      for (const std::string& p : m.strs) {
        if (v.text.ends_with(p)) return false;
      }
      return true;
    case MatcherKind::kAnythingButIgnoreCase:
      return !(is_string && m.str_set.contains(fold()));
    case MatcherKind::kAnythingButWildcard:
      if (!is_string) return true;
      for (const Glob& g : m.globs) {
        if (g.Matches(v.text)) return false;
      }
      return true;
    case MatcherKind::kNumeric: {
      if (v.kind != ValueKind::kNumber || !std::isfinite(v.number)) {
        return false;
      }
      const double x = v.number;
      const bool lo_ok = m.lo_inclusive ? x >= m.lo : x > m.lo;
      const bool hi_ok = m.hi_inclusive ? x <= m.hi : x < m.hi;
      return lo_ok && hi_ok;
    }
    case MatcherKind::kExists:
      return true;
    case MatcherKind::kAbsent:
      return false;
    case MatcherKind::kCidr: {
      if (!is_string) return false;
      std::optional<IpAddress> ip = ParseIp(v.text);
      return ip.has_value() && m.cidr.Contains(*ip);
    }
  }
  return false;
}

namespace {

constexpr uint32_t kAbsentChoice = ~0u;

class Solver {
 public:
  Solver(const FlatEvent& event, FieldCandidates* fields, size_t n)
      : event_(event), fields_(fields), n_(n) {}

  bool Run() {
    // Most constrained first; fields that may be absent last.
    std::sort(fields_, fields_ + n_,
              [](const FieldCandidates& a, const FieldCandidates& b) {
                if (a.field->has_absent != b.field->has_absent) {
                  return !a.field->has_absent;
                }
                return a.count < b.count;
              });
    for (size_t i = 0; i < n_; ++i) {
      if (fields_[i].count == 0 && !fields_[i].field->has_absent) return false;
    }
    return Recurse(0);
  }

 private:
  bool ConsistentWithChosen(const FlatEvent::Leaf& leaf) const {
    if (leaf.pos_size == 0) return true;
    for (uint32_t c : chosen_) {
      if (c == kAbsentChoice) continue;
      if (!event_.Consistent(leaf, event_.leaf(c))) return false;
    }
    return true;
  }

  bool Recurse(size_t i) {
    if (i == n_) return AbsencesHold();
    const FieldCandidates& f = fields_[i];
    for (uint32_t k = 0; k < f.count; ++k) {
      const uint32_t leaf = f.leaves[k];
      if (!ConsistentWithChosen(event_.leaf(leaf))) continue;
      chosen_.push_back(leaf);
      if (Recurse(i + 1)) return true;
      chosen_.pop_back();
      // A leaf outside every array is consistent with anything, so a failure
      // after choosing it cannot be fixed by another choice for this field
      // unless some other candidate constrains differently; keep searching.
    }
    if (f.field->has_absent) {
      chosen_.push_back(kAbsentChoice);
      if (Recurse(i + 1)) return true;
      chosen_.pop_back();
    }
    return false;
  }

  bool AbsencesHold() const {
    for (size_t i = 0; i < n_; ++i) {
      if (chosen_[i] != kAbsentChoice) continue;
      auto [begin, end] = event_.FindPath(fields_[i].field->path);
      for (size_t l = begin; l < end; ++l) {
        if (ConsistentWithChosen(event_.leaf(l))) return false;
      }
    }
    return true;
  }

  const FlatEvent& event_;
  FieldCandidates* fields_;
  size_t n_;
  absl::InlinedVector<uint32_t, 16> chosen_;
};

}  // namespace

bool SolveSubRule(const FlatEvent& event, FieldCandidates* fields, size_t n) {
  Solver solver(event, fields, n);
  return solver.Run();
}

bool EvaluateSubRule(const FlatEvent& event, const SubRule& sub) {
  absl::InlinedVector<LeafRange, 16> ranges;
  for (const Field& f : sub.fields) {
    const auto [begin, end] = event.FindPath(f.path);
    ranges.push_back(
        {static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
  }
  return EvaluateSubRule(event, sub, ranges.data());
}

bool EvaluateSubRule(const FlatEvent& event, const SubRule& sub,
                     const LeafRange* ranges) {
  absl::InlinedVector<uint32_t, 32> leaves;
  absl::InlinedVector<std::pair<uint32_t, uint32_t>, 16> spans;
  bool any_positions = false;
  for (size_t fi = 0; fi < sub.fields.size(); ++fi) {
    const Field& f = sub.fields[fi];
    const auto start = static_cast<uint32_t>(leaves.size());
    const auto [begin, end] = ranges[fi];
    for (size_t i = begin; i < end; ++i) {
      const FlatEvent::Leaf& leaf = event.leaf(i);
      const LeafValue v{leaf.kind, event.text(leaf), leaf.number};
      std::optional<std::string> folded;
      for (const Matcher& m : f.matchers) {
        if (MatcherAccepts(m, v, &folded)) {
          leaves.push_back(static_cast<uint32_t>(i));
          any_positions |= leaf.pos_size != 0;
          break;
        }
      }
    }
    const auto count = static_cast<uint32_t>(leaves.size()) - start;
    if (count == 0 && !f.has_absent) return false;
    spans.emplace_back(start, count);
  }
  if (!any_positions && sub.required == sub.fields.size()) return true;
  absl::InlinedVector<FieldCandidates, 16> fields;
  for (size_t i = 0; i < sub.fields.size(); ++i) {
    fields.push_back(
        {leaves.data() + spans[i].first, spans[i].second, &sub.fields[i]});
  }
  return SolveSubRule(event, fields.data(), fields.size());
}

}  // namespace internal

namespace {

using internal::Field;
using internal::Glob;
using internal::Matcher;
using internal::MatcherKind;
using internal::PatternJson;
using internal::SubRule;

absl::Status Invalid(std::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(
      internal::ToAbsl(kInvalidPatternPrefix), internal::ToAbsl(reason)));
}

constexpr std::string_view kReservedInOr[] = {"exactly",
                                              "equals-ignore-case",
                                              "prefix",
                                              "suffix",
                                              "anything-but",
                                              "exists",
                                              "wildcard",
                                              "numeric",
                                              "cidr",
                                              "=",
                                              "<",
                                              "<=",
                                              ">",
                                              ">=",
                                              "regex",
                                              "not-wildcard",
                                              "not-equals-ignore-case",
                                              "date-after",
                                              "date-on-or-after",
                                              "date-before",
                                              "date-on-or-before",
                                              "in-date-range",
                                              "ip-address-in-range",
                                              "ip-address-not-in-range"};

bool IsReservedInOr(std::string_view name) {
  for (std::string_view r : kReservedInOr) {
    if (r == name) return true;
  }
  return false;
}

// Parses a JSON number token as event-ruler does (Java's
// Double.parseDouble): false, with *value +-inf, when it is too large for a
// double; a magnitude too small for one is 0.
bool ParseNumber(std::string_view text, double* value) {
  *value = internal::JsonNumberValue(text);
  return std::isfinite(*value);
}

struct Item;

// One object level of the pattern with nested objects flattened into it.
struct Node {
  std::vector<Item> items;
};

struct Item {
  bool is_or = false;
  Field field;                     // !is_or
  std::vector<Node> alternatives;  // is_or
};

class Compiler {
 public:
  explicit Compiler(const PatternLimits& limits) : limits_(limits) {}

  absl::StatusOr<std::shared_ptr<internal::CompiledPattern>> Compile(
      const PatternJson& root) {
    if (!root.is_object()) return Invalid("Filter is not an object");
    Node node;
    EVBUS_RETURN_IF_ERROR(CompileObject(root, "", /*in_or=*/false, &node));
    // Wildcard complexity, per field path. A glob listed twice counts once:
    // event-ruler adds a repeated value to the field's machine once.
    for (auto& [path, globs] : wildcards_) {
      std::sort(globs.begin(), globs.end(), [](const Glob* a, const Glob* b) {
        return a->segments() < b->segments();
      });
      globs.erase(std::unique(globs.begin(), globs.end(),
                              [](const Glob* a, const Glob* b) {
                                return a->segments() == b->segments();
                              }),
                  globs.end());
      if (internal::WildcardComplexity(globs, limits_.max_wildcard_complexity) >
          limits_.max_wildcard_complexity) {
        return Invalid(
            "Rule is too complex - try using fewer wildcard characters or "
            "fewer repeating character sequences after a wildcard character");
      }
    }
    const size_t combos = Count(node);
    if (combos > limits_.max_or_combinations) {
      return Invalid(
          absl::StrCat("The number of $or combinations exceeds the limit of ",
                       limits_.max_or_combinations));
    }
    std::vector<std::vector<Field>> rules(1);
    Expand(node, &rules);
    auto out = std::make_shared<internal::CompiledPattern>();
    absl::flat_hash_set<std::string> paths;
    for (auto& fields : rules) {
      SubRule sub;
      for (Field& f : fields) {
        paths.insert(f.path);
        if (!f.has_absent) ++sub.required;
        sub.fields.push_back(std::move(f));
      }
      out->subrules.push_back(std::move(sub));
    }
    out->paths.assign(paths.begin(), paths.end());
    std::sort(out->paths.begin(), out->paths.end());
    return out;
  }

 private:
  size_t Count(const Node& node) const {
    size_t total = 1;
    const size_t cap = limits_.max_or_combinations + 1;
    for (const Item& item : node.items) {
      if (!item.is_or) continue;
      size_t sum = 0;
      for (const Node& alt : item.alternatives)
        sum = std::min(cap, sum + Count(alt));
      total = std::min(cap, total * sum);
    }
    return total;
  }

  static void Put(std::vector<Field>* rule, const Field& f) {
    for (Field& existing : *rule) {
      if (existing.path == f.path) {
        existing = f;  // last one wins
        return;
      }
    }
    rule->push_back(f);
  }

  void Expand(const Node& node, std::vector<std::vector<Field>>* rules) const {
    for (const Item& item : node.items) {
      if (!item.is_or) {
        for (auto& r : *rules) Put(&r, item.field);
        continue;
      }
      std::vector<std::vector<Field>> out;
      for (const Node& alt : item.alternatives) {
        std::vector<std::vector<Field>> branch = *rules;
        Expand(alt, &branch);
        for (auto& b : branch) out.push_back(std::move(b));
      }
      *rules = std::move(out);
    }
  }

  absl::Status CompileObject(const PatternJson& obj, const std::string& prefix,
                             bool in_or, Node* node) {
    if (obj.members.empty()) return Invalid("Empty objects are not allowed");
    for (const auto& [key, value] : obj.members) {
      if (key == "$or" && value.is_array() &&
          (value.items.empty() || value.items.front().is_object())) {
        Item item;
        item.is_or = true;
        for (const PatternJson& alt : value.items) {
          if (!alt.is_object()) {
            return Invalid(
                "Only JSON object is allowed in array of $or relationship.");
          }
          Node alt_node;
          EVBUS_RETURN_IF_ERROR(CompileObject(alt, prefix, true, &alt_node));
          item.alternatives.push_back(std::move(alt_node));
        }
        if (item.alternatives.size() < 2) {
          return Invalid(
              "There must have at least 2 Objects in $or relationship.");
        }
        node->items.push_back(std::move(item));
        continue;
      }
      if (in_or && IsReservedInOr(key)) {
        return Invalid(absl::StrCat(
            key,
            " is Ruler reserved fieldName which cannot be used inside $or."));
      }
      const std::string path =
          prefix.empty() ? key : absl::StrCat(prefix, ".", key);
      if (value.is_object()) {
        EVBUS_RETURN_IF_ERROR(CompileObject(value, path, in_or, node));
      } else if (value.is_array()) {
        Item item;
        item.field.path = path;
        EVBUS_RETURN_IF_ERROR(CompileValueList(value, &item.field));
        for (const Matcher& m : item.field.matchers) {
          if (m.kind == MatcherKind::kAbsent) {
            item.field.has_absent = true;
          } else {
            item.field.has_positive = true;
          }
        }
        node->items.push_back(std::move(item));
      } else {
        return Invalid(
            absl::StrCat("\"", key, "\" must be an object or an array"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CompileValueList(const PatternJson& list, Field* field) {
    for (const PatternJson& v : list.items) {
      Matcher m;
      switch (v.kind) {
        case PatternJson::Kind::kString:
          m.kind = MatcherKind::kExactString;
          m.str = v.text;
          m.ip = internal::ParseIp(v.text);
          break;
        case PatternJson::Kind::kNumber:
          m.kind = MatcherKind::kExactNumber;
          m.num_finite = ParseNumber(v.text, &m.num);
          if (m.num == 0) m.num = 0.0;  // -0 == 0
          m.num_text = v.text;
          break;
        case PatternJson::Kind::kTrue:
          m.kind = MatcherKind::kTrue;
          break;
        case PatternJson::Kind::kFalse:
          m.kind = MatcherKind::kFalse;
          break;
        case PatternJson::Kind::kNull:
          m.kind = MatcherKind::kNull;
          break;
        case PatternJson::Kind::kObject:
          EVBUS_RETURN_IF_ERROR(CompileMatchExpression(v, field->path, &m));
          break;
        case PatternJson::Kind::kArray:
          return Invalid(
              "Match value must be String, number, true, false, or null");
      }
      field->matchers.push_back(std::move(m));
    }
    if (field->matchers.empty()) return Invalid("Empty arrays are not allowed");
    return absl::OkStatus();
  }

  static absl::Status OnlyOneKey(const PatternJson& obj) {
    if (obj.members.size() > 1) {
      return Invalid("Only one key allowed in match expression");
    }
    return absl::OkStatus();
  }

  static absl::Status TooManyElements() {
    return Invalid("Too many elements in numeric expression");
  }

  absl::Status CompileMatchExpression(const PatternJson& obj,
                                      const std::string& path, Matcher* m) {
    if (obj.members.empty()) return Invalid("Match expression name not found");
    const std::string& name = obj.members.front().first;
    const PatternJson& value = obj.members.front().second;
    if (name == "exactly") {
      if (!value.is_string())
        return Invalid("exact match pattern must be a string");
      m->kind = MatcherKind::kExactString;
      m->str = value.text;
      return OnlyOneKey(obj);
    }
    if (name == "prefix" || name == "suffix") {
      const bool prefix = name == "prefix";
      if (value.is_string()) {
        m->kind = prefix ? MatcherKind::kPrefix : MatcherKind::kSuffix;
        m->str = value.text;
      } else if (value.is_object() && !value.members.empty()) {
        const auto& [inner_key, inner] = value.members.front();
        if (inner_key != "equals-ignore-case") {
          return Invalid(
              absl::StrCat("Unsupported ", name, " pattern: ", inner_key));
        }
        if (!inner.is_string()) {
          return Invalid("equals-ignore-case match pattern must be a string");
        }
        EVBUS_RETURN_IF_ERROR(OnlyOneKey(value));
        m->kind = prefix ? MatcherKind::kPrefixIgnoreCase
                         : MatcherKind::kSuffixIgnoreCase;
        m->str = internal::FoldCase(inner.text);
      } else {
        return Invalid(absl::StrCat(name, " match pattern must be a string"));
      }
      return OnlyOneKey(obj);
    }
    if (name == "equals-ignore-case") {
      if (!value.is_string()) {
        return Invalid("equals-ignore-case match pattern must be a string");
      }
      m->kind = MatcherKind::kEqualsIgnoreCase;
      m->str = internal::FoldCase(value.text);
      return OnlyOneKey(obj);
    }
    if (name == "wildcard") {
      if (!value.is_string()) {
        return Invalid("wildcard match pattern must be a string");
      }
      absl::StatusOr<Glob> g = Glob::Compile(value.text);
      if (!g.ok()) return Invalid(internal::ToStd(g.status().message()));
      m->kind = MatcherKind::kWildcard;
      m->globs.push_back(*std::move(g));
      EVBUS_RETURN_IF_ERROR(OnlyOneKey(obj));
      wildcard_globs_.push_back(std::make_unique<Glob>(m->globs.front()));
      wildcards_[path].push_back(wildcard_globs_.back().get());
      return absl::OkStatus();
    }
    if (name == "numeric") {
      if (!value.is_array())
        return Invalid("Value of numeric must be an array.");
      EVBUS_RETURN_IF_ERROR(CompileNumeric(value, m));
      if (obj.members.size() > 1) return TooManyElements();
      return absl::OkStatus();
    }
    if (name == "anything-but") {
      EVBUS_RETURN_IF_ERROR(CompileAnythingBut(value, m));
      if (obj.members.size() > 1) return TooManyElements();
      if (m->kind == MatcherKind::kAnythingButWildcard) {
        // Counted like `wildcard` (event-ruler's MachineComplexityEvaluator
        // counts WILDCARD and ANYTHING_BUT_WILDCARD).
        for (const Glob& g : m->globs) {
          wildcard_globs_.push_back(std::make_unique<Glob>(g));
          wildcards_[path].push_back(wildcard_globs_.back().get());
        }
      }
      return absl::OkStatus();
    }
    if (name == "exists") {
      if (value.kind == PatternJson::Kind::kTrue) {
        m->kind = MatcherKind::kExists;
      } else if (value.kind == PatternJson::Kind::kFalse) {
        m->kind = MatcherKind::kAbsent;
      } else {
        return Invalid("exists match pattern must be either true or false.");
      }
      return OnlyOneKey(obj);
    }
    if (name == "cidr") {
      if (!value.is_string())
        return Invalid("prefix match pattern must be a string");
      absl::StatusOr<internal::Cidr> c = internal::ParseCidr(value.text);
      if (!c.ok()) return Invalid(internal::ToStd(c.status().message()));
      m->kind = MatcherKind::kCidr;
      m->cidr = *c;
      return OnlyOneKey(obj);
    }
    return Invalid(absl::StrCat("Unrecognized match type ", name));
  }

  static absl::Status NumericOperand(const PatternJson& v, double* out) {
    if (!ParseNumber(v.text, out)) {
      return Invalid(absl::StrCat("Cannot compare number : ", v.text));
    }
    return absl::OkStatus();
  }

  absl::Status CompileNumeric(const PatternJson& arr, Matcher* m) {
    const auto& items = arr.items;
    if (items.empty()) return Invalid("Invalid member in numeric match: ]");
    if (!items[0].is_string()) {
      return Invalid(absl::StrCat("Invalid member in numeric match: ",
                                  items[0].TokenText()));
    }
    const std::string& op = items[0].text;
    const bool has_num = items.size() > 1 && items[1].is_number();
    m->kind = MatcherKind::kNumeric;
    m->lo = -std::numeric_limits<double>::infinity();
    m->hi = std::numeric_limits<double>::infinity();
    if (op == "=") {
      if (!has_num) return Invalid("Value of equals must be numeric");
      double v = 0;
      EVBUS_RETURN_IF_ERROR(NumericOperand(items[1], &v));
      if (items.size() > 2) return TooManyElements();
      m->lo = m->hi = v;
      m->lo_inclusive = m->hi_inclusive = true;
      return absl::OkStatus();
    }
    if (op == ">" || op == ">=") {
      if (!has_num)
        return Invalid(absl::StrCat("Value of ", op, " must be numeric"));
      EVBUS_RETURN_IF_ERROR(NumericOperand(items[1], &m->lo));
      m->lo_inclusive = op == ">=";
      if (items.size() == 2) return absl::OkStatus();
      const PatternJson& op2 = items[2];
      if (!op2.is_string()) {
        return Invalid(
            absl::StrCat("Bad value in numeric range: ", op2.TokenText()));
      }
      if (op2.text != "<" && op2.text != "<=") {
        return Invalid(absl::StrCat("Bad numeric range operator: ", op2.text));
      }
      if (items.size() < 4 || !items[3].is_number()) {
        return Invalid(absl::StrCat("Value of ", op2.text, " must be numeric"));
      }
      EVBUS_RETURN_IF_ERROR(NumericOperand(items[3], &m->hi));
      m->hi_inclusive = op2.text == "<=";
      if (items.size() > 4) {
        return Invalid("Too many terms in numeric range expression");
      }
      if (!(m->lo < m->hi)) return Invalid("Bottom must be less than top");
      return absl::OkStatus();
    }
    if (op == "<" || op == "<=") {
      if (!has_num)
        return Invalid(absl::StrCat("Value of ", op, " must be numeric"));
      EVBUS_RETURN_IF_ERROR(NumericOperand(items[1], &m->hi));
      m->hi_inclusive = op == "<=";
      if (items.size() > 2) return TooManyElements();
      return absl::OkStatus();
    }
    return Invalid(absl::StrCat("Unrecognized numeric range operator: ", op));
  }

  static constexpr std::string_view kAnythingButShape =
      "Value of anything-but must be an array or single string/number value.";
  static constexpr std::string_view kAnythingButIgnoreCaseList =
      "Inside anything-but/equals-ignore-case list, "
      "number|start|null|boolean is not supported.";

  absl::Status CompileAnythingBut(const PatternJson& value, Matcher* m) {
    if (value.is_object()) {
      if (value.members.empty()) {
        return Invalid("Anything-But expression name not found");
      }
      const auto& [op, inner] = value.members.front();
      if (op == "prefix" || op == "suffix") {
        m->kind = op == "prefix" ? MatcherKind::kAnythingButPrefix
                                 : MatcherKind::kAnythingButSuffix;
        if (inner.is_string()) {
          m->strs.push_back(inner.text);
        } else if (inner.is_array()) {
          for (const PatternJson& s : inner.items) {
            if (!s.is_string()) {
              return Invalid("prefix/suffix match pattern must be a string");
            }
            m->strs.push_back(s.text);
          }
          if (m->strs.empty()) {
            return Invalid("prefix/suffix match pattern must be a string");
          }
        } else if (inner.is_object()) {
          return Invalid(kAnythingButShape);
        } else {
          return Invalid("prefix/suffix match pattern must be a string");
        }
        for (const std::string& s : m->strs) {
          if (s.empty()) return Invalid("Null prefix/suffix not allowed");
        }
        return OnlyOneKey(value);
      }
      if (op == "equals-ignore-case") {
        m->kind = MatcherKind::kAnythingButIgnoreCase;
        if (inner.is_string()) {
          m->strs.push_back(internal::FoldCase(inner.text));
        } else if (inner.is_array()) {
          for (const PatternJson& s : inner.items) {
            if (!s.is_string()) return Invalid(kAnythingButIgnoreCaseList);
            m->strs.push_back(internal::FoldCase(s.text));
          }
          if (m->strs.empty()) return Invalid(kAnythingButIgnoreCaseList);
        } else if (inner.is_number()) {
          return Invalid(kAnythingButIgnoreCaseList);
        } else {
          return Invalid(kAnythingButShape);
        }
        m->str_set.insert(m->strs.begin(), m->strs.end());
        if (value.members.size() > 1) return TooManyElements();
        return absl::OkStatus();
      }
      if (op == "wildcard") {
        m->kind = MatcherKind::kAnythingButWildcard;
        std::vector<const PatternJson*> texts;
        if (inner.is_string()) {
          texts.push_back(&inner);
        } else if (inner.is_array() && !inner.items.empty()) {
          for (const PatternJson& s : inner.items) {
            if (!s.is_string()) {
              return Invalid("wildcard match pattern must be a string");
            }
            texts.push_back(&s);
          }
        } else {
          return Invalid("wildcard match pattern must be a string");
        }
        for (const PatternJson* t : texts) {
          absl::StatusOr<Glob> g = Glob::Compile(t->text);
          if (!g.ok()) return Invalid(internal::ToStd(g.status().message()));
          m->globs.push_back(*std::move(g));
        }
        return OnlyOneKey(value);
      }
      return Invalid(absl::StrCat("Unsupported anything-but pattern: ", op));
    }
    if (value.is_array()) {
      bool has_string = false;
      bool has_number = false;
      for (const PatternJson& v : value.items) {
        if (v.is_string()) {
          has_string = true;
          m->strs.push_back(v.text);
        } else if (v.is_number()) {
          has_number = true;
          double d = 0;
          EVBUS_RETURN_IF_ERROR(NumericOperand(v, &d));
          m->nums.push_back(d);
        } else {
          return Invalid(
              "Inside anything but list, start|null|boolean is not supported.");
        }
      }
      if (has_string == has_number) {
        return Invalid(
            "Inside anything but list, either all values are number or "
            "string, mixed type is not supported");
      }
      if (has_string) {
        m->kind = MatcherKind::kAnythingButStrings;
        m->str_set.insert(m->strs.begin(), m->strs.end());
      } else {
        m->kind = MatcherKind::kAnythingButNumbers;
      }
      return absl::OkStatus();
    }
    if (value.is_string()) {
      m->kind = MatcherKind::kAnythingButStrings;
      m->strs.push_back(value.text);
      m->str_set.insert(value.text);
      return absl::OkStatus();
    }
    if (value.is_number()) {
      m->kind = MatcherKind::kAnythingButNumbers;
      double d = 0;
      EVBUS_RETURN_IF_ERROR(NumericOperand(value, &d));
      m->nums.push_back(d);
      return absl::OkStatus();
    }
    return Invalid(kAnythingButShape);
  }

  const PatternLimits& limits_;
  std::vector<std::unique_ptr<Glob>> wildcard_globs_;
  absl::flat_hash_map<std::string, std::vector<const Glob*>> wildcards_;
};

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace

size_t PatternLength(std::string_view json) {
  return internal::Utf16Length(json);
}

absl::StatusOr<Pattern> Pattern::Compile(std::string_view json,
                                         const PatternLimits& limits) {
  const size_t chars = internal::Utf16Length(json);
  if (chars > limits.max_pattern_chars) {
    return Invalid(absl::StrCat("Event pattern is too long: ", chars,
                                " characters (maximum ",
                                limits.max_pattern_chars, ")"));
  }
  if (IsBlank(json)) return Invalid("Filter is not an object");
  absl::StatusOr<PatternJson> root = internal::ParsePatternJson(json);
  if (!root.ok()) return Invalid(internal::ToStd(root.status().message()));
  Compiler compiler(limits);
  absl::StatusOr<std::shared_ptr<internal::CompiledPattern>> compiled =
      compiler.Compile(*root);
  if (!compiled.ok()) return compiled.status();
  return Pattern(*std::move(compiled));
}

const std::vector<std::string>& Pattern::paths() const {
  return compiled_->paths;
}

size_t Pattern::subrule_count() const { return compiled_->subrules.size(); }

bool Pattern::Matches(const FlatEvent& event) const {
  for (const SubRule& sub : compiled_->subrules) {
    if (internal::EvaluateSubRule(event, sub)) return true;
  }
  return false;
}

}  // namespace evbus::pattern
