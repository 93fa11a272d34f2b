#include "server/alarms/alarm_rule.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evbus::alarms {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

class AlarmRule::Parser {
 public:
  Parser(absl::string_view text, AlarmRule* rule) : text_(text), rule_(rule) {}

  absl::Status Run() {
    absl::StatusOr<uint32_t> root = Or(0);
    if (!root.ok()) return root.status();
    SkipSpace();
    if (pos_ != text_.size()) return Unsupported(pos_);
    // The root must be the last node (Evaluate starts there).
    if (*root + 1 != rule_->nodes_.size()) {
      rule_->nodes_.push_back(rule_->nodes_[*root]);
    }
    return absl::OkStatus();
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  // The word at `at`: a parenthesis, or a run up to white space or one.
  absl::string_view WordAt(size_t at) const {
    if (at >= text_.size()) return {};
    if (text_[at] == '(' || text_[at] == ')') return text_.substr(at, 1);
    size_t end = at;
    while (end < text_.size() && !IsSpace(text_[end]) && text_[end] != '(' &&
           text_[end] != ')') {
      ++end;
    }
    return text_.substr(at, end - at);
  }
  absl::Status Unsupported(size_t at) const {
    if (at >= text_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Error in AlarmRule [Unexpected end of rule at char ", at, "]"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("Error in AlarmRule [Unsupported token '", WordAt(at),
                     "' at char ", at, "]"));
  }
  // Consumes keyword `word` (followed by white space, a parenthesis or the
  // end) when it is next.
  bool Keyword(absl::string_view word) {
    SkipSpace();
    if (WordAt(pos_) != word) return false;
    pos_ += word.size();
    return true;
  }
  uint32_t Add(Node node) {
    rule_->nodes_.push_back(node);
    return static_cast<uint32_t>(rule_->nodes_.size() - 1);
  }
  // An n-ary AND / OR over `operands` (or the single operand itself).
  uint32_t Join(Kind kind, const std::vector<uint32_t>& operands) {
    if (operands.size() == 1) return operands[0];
    Node n{kind};
    n.a = static_cast<uint32_t>(rule_->operands_.size());
    rule_->operands_.insert(rule_->operands_.end(), operands.begin(),
                            operands.end());
    n.b = static_cast<uint32_t>(rule_->operands_.size());
    return Add(n);
  }

  absl::StatusOr<uint32_t> Or(int depth) {
    std::vector<uint32_t> operands;
    do {
      absl::StatusOr<uint32_t> x = And(depth);
      if (!x.ok()) return x;
      operands.push_back(*x);
    } while (Keyword("OR"));
    return Join(Kind::kOr, operands);
  }
  absl::StatusOr<uint32_t> And(int depth) {
    std::vector<uint32_t> operands;
    do {
      absl::StatusOr<uint32_t> x = Unary(depth);
      if (!x.ok()) return x;
      operands.push_back(*x);
    } while (Keyword("AND"));
    return Join(Kind::kAnd, operands);
  }
  absl::StatusOr<uint32_t> Unary(int depth) {
    SkipSpace();
    if (depth >= kMaxDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat("Error in AlarmRule [more than ", kMaxDepth,
                       " nested parentheses and NOTs at char ", pos_, "]"));
    }
    const size_t at = pos_;
    if (Keyword("NOT")) {
      absl::StatusOr<uint32_t> x = Unary(depth + 1);
      if (!x.ok()) return x;
      Node n{Kind::kNot};
      n.a = *x;
      return Add(n);
    }
    if (Keyword("TRUE")) return Add(Node{Kind::kTrue});
    if (Keyword("FALSE")) return Add(Node{Kind::kFalse});
    if (at < text_.size() && text_[at] == '(') {
      ++pos_;
      absl::StatusOr<uint32_t> x = Or(depth + 1);
      if (!x.ok()) return x;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Unsupported(pos_);
      ++pos_;
      return x;
    }
    for (AlarmState state :
         {AlarmState::kAlarm, AlarmState::kOk, AlarmState::kInsufficientData}) {
      if (Keyword(AlarmStateName(state))) return StateFunction(state);
    }
    return Unsupported(at);
  }
  // After ALARM / OK / INSUFFICIENT_DATA: "(" alarm ")".
  absl::StatusOr<uint32_t> StateFunction(AlarmState state) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '(') return Unsupported(pos_);
    ++pos_;
    SkipSpace();
    const size_t name_at = pos_;
    std::string name;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const size_t close = text_.find('"', pos_ + 1);
      if (close == absl::string_view::npos) return Unsupported(pos_);
      name = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      SkipSpace();
    } else {
      const size_t close = text_.find(')', pos_);
      if (close == absl::string_view::npos) return Unsupported(pos_);
      size_t end = close;
      while (end > pos_ && IsSpace(text_[end - 1])) --end;
      name = std::string(text_.substr(pos_, end - pos_));
      pos_ = close;
    }
    if (name.empty()) return Unsupported(name_at);
    if (pos_ >= text_.size() || text_[pos_] != ')') return Unsupported(pos_);
    ++pos_;
    std::vector<std::string>& children = rule_->children_;
    auto it = std::find(children.begin(), children.end(), name);
    Node n{Kind::kState};
    n.state = state;
    n.a = static_cast<uint32_t>(it - children.begin());
    if (it == children.end()) children.push_back(std::move(name));
    return Add(n);
  }

  absl::string_view text_;
  size_t pos_ = 0;
  AlarmRule* rule_;
};

absl::StatusOr<AlarmRule> AlarmRule::Parse(absl::string_view text) {
  if (text.size() > kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Error in AlarmRule [the rule is ", text.size(),
        " characters long; at most ", kMaxLength, " are allowed]"));
  }
  AlarmRule rule;
  Parser parser(text, &rule);
  absl::Status s = parser.Run();
  if (!s.ok()) return s;
  return rule;
}

bool AlarmRule::Evaluate(
    absl::FunctionRef<AlarmState(absl::string_view alarm)> state_of) const {
  return Eval(static_cast<uint32_t>(nodes_.size() - 1), state_of);
}

bool AlarmRule::Eval(
    uint32_t node,
    absl::FunctionRef<AlarmState(absl::string_view)> state_of) const {
  const Node& n = nodes_[node];
  switch (n.kind) {
    case Kind::kTrue:
      return true;
    case Kind::kFalse:
      return false;
    case Kind::kState:
      return state_of(children_[n.a]) == n.state;
    case Kind::kNot:
      return !Eval(n.a, state_of);
    case Kind::kAnd:
      for (uint32_t i = n.a; i < n.b; ++i) {
        if (!Eval(operands_[i], state_of)) return false;
      }
      return true;
    case Kind::kOr:
      for (uint32_t i = n.a; i < n.b; ++i) {
        if (Eval(operands_[i], state_of)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace evbus::alarms
