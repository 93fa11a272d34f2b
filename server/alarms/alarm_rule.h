// File: server/alarms/alarm_rule.h
//
// The AlarmRule of a composite alarm (PutCompositeAlarm; shared/spec/
// lambda-cloudwatch-sns.md §4.5): a boolean expression over other alarms'
// states.
//
//   rule    := or
//   or      := and ("OR" and)*
//   and     := unary ("AND" unary)*
//   unary   := "NOT" unary | primary
//   primary := "TRUE" | "FALSE" | "(" or ")"
//            | ("ALARM" | "OK" | "INSUFFICIENT_DATA") "(" alarm ")"
//   alarm   := '"' any characters but '"' '"' | characters up to ')'
//
// Keywords are upper case and separated by white space or parentheses; an
// alarm is named by its name or its ARN. CloudWatch does not document how
// AND and OR bind without parentheses; here NOT binds tightest, then AND,
// then OR (the usual order). A rule that does not parse is refused with
// CloudWatch's form of the reason: "Error in AlarmRule [Unsupported token
// ')' at char 1]" (0-based position).
//
// Thread safety: an AlarmRule is an immutable value once parsed.
//
// Example:
//   absl::StatusOr<AlarmRule> rule =
//       AlarmRule::Parse(R"(ALARM("cpu-high") AND NOT OK(deploying))");
//   rule->children();  // {"cpu-high", "deploying"}
//   bool fires = rule->Evaluate([](absl::string_view alarm) {
//     return AlarmState::kAlarm;  // the named alarm's state
//   });
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/alarms/evaluation.h"

namespace evbus::alarms {

class AlarmRule {
 public:
  static constexpr size_t kMaxLength = 10240;
  // Parentheses and NOTs nest at most this deep.
  static constexpr int kMaxDepth = 64;

  // Parses `text`. Errors: InvalidArgument with the reason alone (the
  // caller adds CloudWatch's exception name).
  static absl::StatusOr<AlarmRule> Parse(absl::string_view text);

  // The alarms the rule names, as written (names or ARNs), each once, in
  // order of first appearance.
  const std::vector<std::string>& children() const { return children_; }

  // True when the rule holds, given each named alarm's state (`state_of`
  // receives an entry of children()).
  bool Evaluate(
      absl::FunctionRef<AlarmState(absl::string_view alarm)> state_of) const;

 private:
  enum class Kind : uint8_t { kTrue, kFalse, kState, kNot, kAnd, kOr };
  struct Node {
    Kind kind;
    AlarmState state = AlarmState::kAlarm;  // kState: the state tested
    // kState: index into children_; kNot: the operand's node; kAnd/kOr:
    // the operands are operands_[a, b) (n-ary, so that a long chain does not
    // nest: evaluation recurses only as deep as the parentheses and NOTs).
    uint32_t a = 0;
    uint32_t b = 0;
  };
  class Parser;
  bool Eval(uint32_t node,
            absl::FunctionRef<AlarmState(absl::string_view)> state_of) const;

  std::vector<Node> nodes_;  // the root is the last node
  std::vector<uint32_t> operands_;
  std::vector<std::string> children_;
};

}  // namespace evbus::alarms
