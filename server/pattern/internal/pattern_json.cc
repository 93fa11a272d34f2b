#include "server/pattern/internal/pattern_json.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/utf8.h"
#include "server/pattern/internal/case_fold.h"
#include "server/pattern/internal/strings.h"

namespace evbus::pattern::internal {

std::string PatternJson::TokenText() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kTrue:
      return "true";
    case Kind::kFalse:
      return "false";
    case Kind::kNumber:
    case Kind::kString:
      return text;
    case Kind::kArray:
      return "[";
    case Kind::kObject:
      return "{";
  }
  return "";
}

namespace {

constexpr int kMaxDepth = 256;

class Reader {
 public:
  Reader(std::string_view text, bool keep_duplicate_keys)
      : s_(text), keep_duplicate_keys_(keep_duplicate_keys) {}

  absl::StatusOr<PatternJson> ParseDocument() {
    PatternJson root;
    SkipWs();
    if (!ParseValue(&root, 0)) return error_;
    SkipWs();
    if (pos_ < s_.size()) {
      Fail(absl::StrCat("Unexpected character (", Describe(pos_),
                        "): expected end-of-input"));
      return error_;
    }
    return root;
  }

 private:
  // Jackson's rendering of the character at `at`: "'x' (code 120)".
  std::string Describe(size_t at) const {
    size_t p = at;
    const char32_t cp = DecodeUtf8(s_, &p);
    if (cp < 32) return absl::StrCat("(CTRL-CHAR, code ", cp, ")");
    std::string ch(s_.substr(at, p - at));
    return absl::StrCat("'", ch, "' (code ", static_cast<uint32_t>(cp), ")");
  }

  bool Fail(std::string_view message) {
    if (!failed_) {
      failed_ = true;
      int line = 1;
      size_t line_start = 0;
      for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
        if (s_[i] == '\n') {
          ++line;
          line_start = i + 1;
        }
      }
      const size_t column =
          (pos_ > s_.size() ? s_.size() : pos_) - line_start + 1;
      error_ = absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(message), "\n at [Source: (String)\"", ToAbsl(s_),
                       "\"; line: ", line, ", column: ", column, "]"));
    }
    return false;
  }

  bool FailEof(std::string_view what) {
    return Fail(absl::StrCat("Unexpected end-of-input", ToAbsl(what)));
  }

  void SkipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  static bool IsTokenChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '-' ||
           c == '.' || static_cast<unsigned char>(c) >= 0x80;
  }

  bool UnrecognizedToken(size_t start) {
    size_t end = start;
    while (end < s_.size() && IsTokenChar(s_[end])) ++end;
    if (end == start) end = start + 1;
    pos_ = end;
    return Fail(absl::StrCat(
        "Unrecognized token '", ToAbsl(s_.substr(start, end - start)),
        "': was expecting (JSON String, Number, Array, Object or token "
        "'null', 'true' or 'false')"));
  }

  bool ParseLiteral(std::string_view word, PatternJson::Kind kind,
                    PatternJson* out) {
    const size_t start = pos_;
    size_t end = start;
    while (end < s_.size() && IsTokenChar(s_[end])) ++end;
    if (s_.substr(start, end - start) != word) return UnrecognizedToken(start);
    pos_ = end;
    out->kind = kind;
    return true;
  }

  bool ParseValue(PatternJson* out, int depth) {
    if (pos_ >= s_.size()) {
      return FailEof(": expected a value");
    }
    const char c = s_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out, depth + 1);
      case '[':
        return ParseArray(out, depth + 1);
      case '"':
        out->kind = PatternJson::Kind::kString;
        return ParseString(&out->text);
      case 't':
        return ParseLiteral("true", PatternJson::Kind::kTrue, out);
      case 'f':
        return ParseLiteral("false", PatternJson::Kind::kFalse, out);
      case 'n':
        return ParseLiteral("null", PatternJson::Kind::kNull, out);
      default:
        break;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      return UnrecognizedToken(pos_);
    }
    return Fail(
        absl::StrCat("Unexpected character (", Describe(pos_),
                     "): expected a valid value (JSON String, Number, Array, "
                     "Object or token 'null', 'true' or 'false')"));
  }

  bool ParseNumber(PatternJson* out) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return FailEof(" in a Number value");
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        return Fail("Invalid numeric value: Leading zeroes not allowed");
      }
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    } else {
      return Fail(
          absl::StrCat("Unexpected character (", Describe(pos_),
                       "): Expected space separating root-level values"));
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      const size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == digits) {
        return Fail(
            "Unexpected character: Decimal point not followed by a digit");
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      const size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == digits) {
        return Fail(
            "Unexpected character: Exponent indicator not followed by "
            "a digit");
      }
    }
    out->kind = PatternJson::Kind::kNumber;
    out->text = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  bool ParseHex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return FailEof(" in VALUE_STRING");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_];
      int h = -1;
      if (c >= '0' && c <= '9') h = c - '0';
      if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
      if (h < 0) {
        return Fail(absl::StrCat(
            "Unexpected character (", Describe(pos_),
            "): expected a hex-digit for character escape sequence"));
      }
      *v = *v * 16 + static_cast<uint32_t>(h);
      ++pos_;
    }
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    out->clear();
    while (true) {
      if (pos_ >= s_.size()) return FailEof(" in VALUE_STRING");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Fail(absl::StrCat(
            "Illegal unquoted character (", Describe(pos_),
            "): has to be escaped using backslash to be included in string "
            "value"));
      }
      if (c != '\\') {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x80) {
          out->push_back(c);
          ++pos_;
          continue;
        }
        const size_t start = pos_;
        DecodeUtf8(s_, &pos_);
        if (pos_ == start + 1) {
          return Fail(absl::StrFormat("Invalid UTF-8 start byte 0x%02x", b));
        }
        out->append(s_.substr(start, pos_ - start));
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return FailEof(" in VALUE_STRING");
      const char e = s_[pos_];
      ++pos_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!ParseHex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 6 <= s_.size() &&
              s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
            const size_t save = pos_;
            pos_ += 2;
            uint32_t lo = 0;
            if (!ParseHex4(&lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          common::AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Fail(
              absl::StrCat("Unrecognized character escape ", Describe(pos_)));
      }
    }
  }

  bool ParseArray(PatternJson* out, int depth) {
    if (depth > kMaxDepth) return Fail("Maximum nesting depth exceeded");
    out->kind = PatternJson::Kind::kArray;
    ++pos_;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWs();
      if (pos_ >= s_.size()) {
        return FailEof(": expected close marker for Array");
      }
      if (s_[pos_] == ']' || s_[pos_] == ',') {
        return Fail(absl::StrCat("Unexpected character (", Describe(pos_),
                                 "): expected a value"));
      }
      out->items.emplace_back();
      if (!ParseValue(&out->items.back(), depth)) return false;
      SkipWs();
      if (pos_ >= s_.size()) {
        return FailEof(": expected close marker for Array");
      }
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail(
          absl::StrCat("Unexpected character (", Describe(pos_),
                       "): was expecting comma to separate Array entries"));
    }
  }

  bool ParseObject(PatternJson* out, int depth) {
    if (depth > kMaxDepth) return Fail("Maximum nesting depth exceeded");
    out->kind = PatternJson::Kind::kObject;
    ++pos_;
    absl::flat_hash_map<std::string, size_t> index;
    bool first = true;
    while (true) {
      SkipWs();
      if (pos_ >= s_.size()) {
        return FailEof(": expected close marker for Object");
      }
      if (first && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      if (s_[pos_] != '"') {
        return Fail(
            absl::StrCat("Unexpected character (", Describe(pos_),
                         "): was expecting double-quote to start field name"));
      }
      first = false;
      std::string key;
      if (!ParseString(&key)) return false;
      SkipWs();
      if (pos_ >= s_.size()) {
        return FailEof(": expected close marker for Object");
      }
      if (s_[pos_] != ':') {
        return Fail(absl::StrCat(
            "Unexpected character (", Describe(pos_),
            "): was expecting a colon to separate field name and value"));
      }
      ++pos_;
      SkipWs();
      PatternJson value;
      if (!ParseValue(&value, depth)) return false;
      if (keep_duplicate_keys_) {
        out->members.emplace_back(std::move(key), std::move(value));
      } else if (auto [it, inserted] =
                     index.try_emplace(key, out->members.size());
                 inserted) {
        out->members.emplace_back(std::move(key), std::move(value));
      } else {
        out->members[it->second].second = std::move(value);  // last one wins
      }
      SkipWs();
      if (pos_ >= s_.size()) {
        return FailEof(": expected close marker for Object");
      }
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail(
          absl::StrCat("Unexpected character (", Describe(pos_),
                       "): was expecting comma to separate Object entries"));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  bool failed_ = false;
  absl::Status error_;
  const bool keep_duplicate_keys_;
};

}  // namespace

absl::StatusOr<PatternJson> ParsePatternJson(std::string_view text,
                                             bool keep_duplicate_keys) {
  Reader reader(text, keep_duplicate_keys);
  return reader.ParseDocument();
}

double JsonNumberValue(std::string_view token) {
  double d = 0;
  const std::from_chars_result r =
      std::from_chars(token.data(), token.data() + token.size(), d);
  if (r.ec == std::errc()) return d;
  // Out of range: rounds to 0 or to infinity, by the decimal exponent of
  // the first significant digit (the token has one, or it would be 0).
  const bool negative = !token.empty() && token.front() == '-';
  size_t i = negative ? 1 : 0;
  int64_t exponent = 0;  // of the first significant digit
  bool significant = false;
  for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
    if (token[i] != '0') significant = true;
    if (significant) ++exponent;
  }
  exponent -= 1;  // "123" -> 2
  if (i < token.size() && token[i] == '.') {
    for (++i; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
      if (significant) continue;
      if (token[i] == '0') {
        --exponent;  // each leading zero of the fraction
      } else {
        significant = true;
      }
    }
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) {
      negative_exponent = token[i] == '-';
      ++i;
    }
    int64_t e = 0;
    for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
      if (e < 1000000000) e = e * 10 + (token[i] - '0');  // saturates
    }
    exponent += negative_exponent ? -e : e;
  }
  if (exponent < 0) return negative ? -0.0 : 0.0;
  return negative ? -std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::infinity();
}

}  // namespace evbus::pattern::internal
