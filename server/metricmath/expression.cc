#include "server/metricmath/expression.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evbus::metricmath {
namespace {

struct FunctionSpec {
  const char* name;
  int min_args;
  int max_args;
};

// The functions evaluate.cc implements, with their arities.
constexpr FunctionSpec kFunctions[] = {
    {"ABS", 1, 1},          {"AVG", 1, 1},
    {"CEIL", 1, 1},         {"DATAPOINT_COUNT", 1, 1},
    {"DIFF", 1, 1},         {"DIFF_TIME", 1, 1},
    {"FILL", 2, 2},         {"FIRST", 1, 1},
    {"FLOOR", 1, 1},        {"IF", 2, 3},
    {"LAST", 1, 1},         {"LOG", 1, 1},
    {"LOG10", 1, 1},        {"MAX", 1, 1},
    {"METRICS", 0, 1},      {"MIN", 1, 1},
    {"PERIOD", 1, 1},       {"RATE", 1, 1},
    {"REMOVE_EMPTY", 1, 1}, {"RUNNING_SUM", 1, 1},
    {"STDDEV", 1, 1},       {"SUM", 1, 1},
    {"TIME_SERIES", 1, 1},
};

// CloudWatch functions evbus does not evaluate: refused by name, so that a
// user learns it is a gap rather than a typo.
constexpr const char* kUnsupported[] = {"ANOMALY_DETECTION_BAND",
                                        "CONCAT",
                                        "DATE",
                                        "DAY",
                                        "EPOCH",
                                        "HOUR",
                                        "INSIGHT_RULE_METRIC",
                                        "LAMBDA",
                                        "MINUTE",
                                        "MONTH",
                                        "SEARCH",
                                        "SERVICE_QUOTA",
                                        "SLICE",
                                        "SORT",
                                        "YEAR"};

const FunctionSpec* FindFunction(absl::string_view name) {
  for (const FunctionSpec& f : kFunctions) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool IsUnsupported(absl::string_view name) {
  return std::find(std::begin(kUnsupported), std::end(kUnsupported), name) !=
         std::end(kUnsupported);
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Recursive descent over the text; depth bounded so that no input can
// exhaust the stack.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Node> ParseAll() {
    absl::StatusOr<Node> root = Or();
    if (!root.ok()) return root;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text");
    return root;
  }

  std::vector<std::string> references;
  bool uses_all_metrics = false;

 private:
  static constexpr int kMaxDepth = 64;

  absl::Status Error(absl::string_view what) const {
    absl::string_view rest = text_.substr(std::min(pos_, text_.size()));
    return absl::InvalidArgumentError(absl::StrCat(
        "Syntax error at position ", pos_ + 1, ": ", what,
        rest.empty() ? std::string(" (end of expression)")
                     : absl::StrCat(" near '", rest.substr(0, 16), "'"),
        "."));
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }

  // Consumes `token` (an operator) if it comes next.
  bool Accept(absl::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  // Consumes the upper-case word `word` if it comes next as a whole word.
  bool AcceptWord(absl::string_view word) {
    SkipSpace();
    if (text_.substr(pos_, word.size()) != word) return false;
    const size_t after = pos_ + word.size();
    if (after < text_.size() && IsIdentChar(text_[after])) return false;
    pos_ = after;
    return true;
  }

  Node Binary(std::string op, Node left, Node right, size_t position) {
    Node n;
    n.kind = Node::Kind::kBinary;
    n.op = std::move(op);
    n.position = position;
    n.args.push_back(std::move(left));
    n.args.push_back(std::move(right));
    return n;
  }

  absl::StatusOr<Node> Or() {
    if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
    absl::StatusOr<Node> left = And();
    while (left.ok()) {
      const size_t at = pos_;
      if (!AcceptWord("OR") && !Accept("||")) break;
      absl::StatusOr<Node> right = And();
      if (!right.ok()) return right;
      left = Binary("OR", *std::move(left), *std::move(right), at);
    }
    --depth_;
    return left;
  }

  absl::StatusOr<Node> And() {
    absl::StatusOr<Node> left = Compare();
    while (left.ok()) {
      const size_t at = pos_;
      if (!AcceptWord("AND") && !Accept("&&")) break;
      absl::StatusOr<Node> right = Compare();
      if (!right.ok()) return right;
      left = Binary("AND", *std::move(left), *std::move(right), at);
    }
    return left;
  }

  absl::StatusOr<Node> Compare() {
    absl::StatusOr<Node> left = Sum();
    if (!left.ok()) return left;
    const size_t at = pos_;
    for (absl::string_view op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (!Accept(op)) continue;
      absl::StatusOr<Node> right = Sum();
      if (!right.ok()) return right;
      return Binary(std::string(op), *std::move(left), *std::move(right), at);
    }
    return left;
  }

  absl::StatusOr<Node> Sum() {
    absl::StatusOr<Node> left = Product();
    while (left.ok()) {
      const size_t at = pos_;
      std::string op;
      if (Accept("+")) {
        op = "+";
      } else if (Accept("-")) {
        op = "-";
      } else {
        break;
      }
      absl::StatusOr<Node> right = Product();
      if (!right.ok()) return right;
      left = Binary(op, *std::move(left), *std::move(right), at);
    }
    return left;
  }

  absl::StatusOr<Node> Product() {
    absl::StatusOr<Node> left = Unary();
    while (left.ok()) {
      const size_t at = pos_;
      std::string op;
      if (Accept("*")) {
        op = "*";
      } else if (Accept("/")) {
        op = "/";
      } else {
        break;
      }
      absl::StatusOr<Node> right = Unary();
      if (!right.ok()) return right;
      left = Binary(op, *std::move(left), *std::move(right), at);
    }
    return left;
  }

  absl::StatusOr<Node> Unary() {
    SkipSpace();
    const size_t at = pos_;
    if (Accept("-")) {
      if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
      absl::StatusOr<Node> operand = Unary();
      --depth_;
      if (!operand.ok()) return operand;
      Node n;
      n.kind = Node::Kind::kNegate;
      n.position = at;
      n.args.push_back(*std::move(operand));
      return n;
    }
    return Power();
  }

  absl::StatusOr<Node> Power() {
    absl::StatusOr<Node> base = Primary();
    if (!base.ok()) return base;
    const size_t at = pos_;
    if (!Accept("^")) return base;
    if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
    absl::StatusOr<Node> exponent = Unary();
    --depth_;
    if (!exponent.ok()) return exponent;
    return Binary("^", *std::move(base), *std::move(exponent), at);
  }

  absl::StatusOr<Node> Number() {
    const char* begin = text_.data() + pos_;
    char* end = nullptr;
    // strtod stops at the end of the number; text_ need not be
    // NUL-terminated, so copy the longest candidate first.
    size_t n = 0;
    while (pos_ + n < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_ + n])) != 0 ||
            text_[pos_ + n] == '.' || text_[pos_ + n] == 'e' ||
            text_[pos_ + n] == 'E' ||
            ((text_[pos_ + n] == '+' || text_[pos_ + n] == '-') && n > 0 &&
             (text_[pos_ + n - 1] == 'e' || text_[pos_ + n - 1] == 'E')))) {
      ++n;
    }
    const std::string candidate(begin, n);
    const double value = std::strtod(candidate.c_str(), &end);
    const size_t used = static_cast<size_t>(end - candidate.c_str());
    if (used == 0) return Error("expected a number");
    Node node;
    node.kind = Node::Kind::kNumber;
    node.number = value;
    node.position = pos_;
    pos_ += used;
    return node;
  }

  absl::StatusOr<Node> String() {
    const char quote = text_[pos_];
    const size_t start = pos_;
    const size_t close = text_.find(quote, pos_ + 1);
    if (close == absl::string_view::npos) return Error("unterminated string");
    Node node;
    node.kind = Node::Kind::kString;
    node.text = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
    node.position = start;
    pos_ = close + 1;
    return node;
  }

  // An argument: an expression, or a string or keyword where a function
  // takes one (checked by the caller).
  absl::StatusOr<Node> Argument() {
    SkipSpace();
    if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
      return String();
    }
    for (absl::string_view word : {"REPEAT", "LINEAR"}) {
      const size_t at = pos_;
      if (AcceptWord(word)) {
        Node node;
        node.kind = Node::Kind::kKeyword;
        node.text = std::string(word);
        node.position = at;
        return node;
      }
    }
    return Or();
  }

  absl::StatusOr<Node> Function(std::string name, size_t at) {
    const FunctionSpec* spec = FindFunction(name);
    if (spec == nullptr) {
      pos_ = at;
      if (IsUnsupported(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("The function ", name, " (position ", at + 1,
                         ") is not supported by evbus."));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "Unknown function ", name, " at position ", at + 1, "."));
    }
    Node node;
    node.kind = Node::Kind::kFunction;
    node.text = std::move(name);
    node.position = at;
    if (!Accept(")")) {
      do {
        absl::StatusOr<Node> arg = Argument();
        if (!arg.ok()) return arg;
        node.args.push_back(*std::move(arg));
      } while (Accept(","));
      if (!Accept(")")) return Error("expected ',' or ')'");
    }
    const int n = static_cast<int>(node.args.size());
    if (n < spec->min_args || n > spec->max_args) {
      return absl::InvalidArgumentError(absl::StrCat(
          "The function ", node.text, " (position ", at + 1, ") takes ",
          spec->min_args == spec->max_args
              ? absl::StrCat(spec->min_args)
              : absl::StrCat(spec->min_args, " to ", spec->max_args),
          spec->max_args == 1 && spec->min_args == 1 ? " argument"
                                                     : " arguments",
          ", not ", n, "."));
    }
    // Strings and keywords only where the function takes them.
    for (size_t i = 0; i < node.args.size(); ++i) {
      const Node& arg = node.args[i];
      const bool text_arg = node.text == "METRICS";
      const bool keyword_arg = node.text == "FILL" && i == 1;
      if ((arg.kind == Node::Kind::kString && !text_arg) ||
          (arg.kind == Node::Kind::kKeyword && !keyword_arg) ||
          (text_arg && arg.kind != Node::Kind::kString)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Argument ", i + 1, " of ", node.text, " (position ", at + 1, ") ",
            text_arg ? "must be a quoted string"
                     : "cannot be a string or keyword here",
            "."));
      }
    }
    if (node.text == "METRICS") uses_all_metrics = true;
    return node;
  }

  absl::StatusOr<Node> Primary() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("expected a value");
    const char c = text_[pos_];
    const size_t at = pos_;
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
      return Number();
    }
    if (c == '(') {
      ++pos_;
      absl::StatusOr<Node> inner = Or();
      if (!inner.ok()) return inner;
      if (!Accept(")")) return Error("expected ')'");
      return inner;
    }
    if (c == '[') {
      ++pos_;
      Node node;
      node.kind = Node::Kind::kArray;
      node.position = at;
      do {
        absl::StatusOr<Node> member = Or();
        if (!member.ok()) return member;
        node.args.push_back(*std::move(member));
      } while (Accept(","));
      if (!Accept("]")) return Error("expected ',' or ']'");
      return node;
    }
    if (!IsIdentStart(c)) return Error("expected a value");
    size_t end = pos_;
    while (end < text_.size() && IsIdentChar(text_[end])) ++end;
    std::string word(text_.substr(pos_, end - pos_));
    pos_ = end;
    if (Accept("(")) return Function(std::move(word), at);
    if (!IsValidId(word)) {
      pos_ = at;
      return Error(absl::StrCat(
          "'", word,
          "' is neither a function call nor a query id (ids start with a "
          "lower-case letter)"));
    }
    Node node;
    node.kind = Node::Kind::kId;
    node.text = word;
    node.position = at;
    if (std::find(references.begin(), references.end(), word) ==
        references.end()) {
      references.push_back(std::move(word));
    }
    return node;
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<Expression> Expression::Parse(absl::string_view text) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError("The expression is empty.");
  }
  if (text.size() > kMaxExpressionLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "The expression is ", text.size(), " characters long; the limit is ",
        kMaxExpressionLength, "."));
  }
  Parser parser(text);
  absl::StatusOr<Node> root = parser.ParseAll();
  if (!root.ok()) return root.status();
  Expression e;
  e.text_ = std::string(text);
  e.root_ = std::make_shared<const Node>(*std::move(root));
  e.references_ = std::move(parser.references);
  e.uses_all_metrics_ = parser.uses_all_metrics;
  return e;
}

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  if (id[0] < 'a' || id[0] > 'z') return false;
  return std::all_of(id.begin(), id.end(), IsIdentChar);
}

}  // namespace evbus::metricmath
