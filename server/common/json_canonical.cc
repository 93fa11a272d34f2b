#include "server/common/json_canonical.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nlohmann/json.hpp"
#include "server/common/utf8.h"

namespace evbus::common {
namespace {

// Length of the valid UTF-8 sequence at p (RFC 3629, as nlohmann's lexer
// accepts it), or 0.
size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  auto cont = [&](size_t i, unsigned char lo, unsigned char hi) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) {
    return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  if (c >= 0xF1 && c <= 0xF3) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  if (c == 0xF4) {
    return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

bool ValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 16 (SSE2) or 8 bytes at a time.
#if defined(__SSE2__)
    while (end - p >= 16 && _mm_movemask_epi8(_mm_loadu_si128(
                                reinterpret_cast<const __m128i*>(p))) == 0) {
      p += 16;
    }
#endif
    while (end - p >= 8) {
      uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      if ((chunk & 0x8080808080808080ULL) != 0) break;
      p += 8;
    }
    if (p >= end) break;
    const size_t n = Utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

void AppendControlEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '\b':
      out->append("\\b");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\r':
      out->append("\\r");
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(esc, 6);
      return;
    }
  }
}

// True for bytes a JSON string literal cannot hold raw (or that end it).
inline bool Special(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

// The first Special byte in [p, end), or end. Sixteen bytes at a time where
// SSE2 is available (string contents are most of a typical Detail).
inline const char* FindSpecial(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i max_control = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= 0x1F  <=>  min(v, 0x1F) == v.
    const __m128i hits = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
        _mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && !Special(static_cast<unsigned char>(*p))) ++p;
  return p;
}

// Appends code point `cp` (from a \u escape) as DumpJson writes it.
void AppendCodePoint(uint32_t cp, std::string* out) {
  if (cp < 0x20) {
    AppendControlEscape(static_cast<unsigned char>(cp), out);
  } else if (cp == '"') {
    out->append("\\\"");
  } else if (cp == '\\') {
    out->append("\\\\");
  } else {
    AppendUtf8(cp, out);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Canonicalizer {
 public:
  Canonicalizer(absl::string_view text, const CanonicalJsonLimits& limits,
                std::string* out)
      : p_(text.data()),
        end_(text.data() + text.size()),
        limits_(limits),
        out_(out) {}

  bool Run() {
    SkipSpace();
    if (p_ == end_) return false;
    if (limits_.require_object && *p_ != '{') return false;
    int depth = 0;
    if (!Value(1, &depth)) return false;
    SkipSpace();
    return p_ == end_ && depth <= limits_.max_depth;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  // `level`: nesting level of this value (the top level is 1). Sets *depth
  // to its JsonDepth.
  bool Value(int level, int* depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return Object(level, depth);
      case '[':
        return Array(level, depth);
      case '"':
        *depth = 1;
        return String();
      case 't':
        *depth = 1;
        return Literal("true");
      case 'f':
        *depth = 1;
        return Literal("false");
      case 'n':
        *depth = 1;
        return Literal("null");
      default:
        *depth = 1;
        return Number();
    }
  }

  bool Literal(absl::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    out_->append(word.data(), word.size());
    p_ += word.size();
    return true;
  }

  bool Object(int level, int* depth) {
    // A container at level L has JsonDepth >= 1 and makes the document at
    // least L deep.
    if (level > limits_.max_depth) return false;
    ++p_;  // '{'
    out_->push_back('{');
    SkipSpace();
    int deepest = 0;
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      out_->push_back('}');
      *depth = 1;
      return true;
    }
    const size_t keys_base = keys_.size();
    bool ok = false;
    while (true) {
      if (p_ == end_ || *p_ != '"') break;
      const size_t key_begin = out_->size();
      if (!String()) break;
      const size_t key_end = out_->size();
      if (!NewKey(keys_base, key_begin, key_end)) break;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') break;
      ++p_;
      out_->push_back(':');
      SkipSpace();
      int d = 0;
      if (!Value(level + 1, &d)) break;
      deepest = std::max(deepest, d);
      SkipSpace();
      if (p_ == end_) break;
      if (*p_ == ',') {
        ++p_;
        out_->push_back(',');
        SkipSpace();
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        out_->push_back('}');
        ok = true;
      }
      break;
    }
    keys_.resize(keys_base);
    *depth = deepest + 1;
    return ok;
  }

  // Records the key just written at [begin, end) of the output; false when
  // the object already has it (duplicate keys: the slow path decides) or has
  // too many keys to check cheaply.
  bool NewKey(size_t base, size_t begin, size_t end) {
    constexpr size_t kMaxKeys = 128;
    if (keys_.size() - base >= kMaxKeys) return false;
    const size_t len = end - begin;
    const char* data = out_->data();
    for (size_t i = base; i < keys_.size(); ++i) {
      const auto [b, e] = keys_[i];
      if (e - b == len && std::memcmp(data + b, data + begin, len) == 0) {
        return false;
      }
    }
    keys_.emplace_back(begin, end);
    return true;
  }

  bool Array(int level, int* depth) {
    if (level > limits_.max_depth) return false;
    ++p_;  // '['
    out_->push_back('[');
    SkipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      out_->push_back(']');
      *depth = 1;
      return true;
    }
    int deepest = 0;
    while (true) {
      int d = 0;
      if (!Value(level + 1, &d)) return false;
      deepest = std::max(deepest, d);
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        out_->push_back(',');
        SkipSpace();
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      out_->push_back(']');
      *depth = deepest + 1;
      return true;
    }
  }

  // A string literal at p_ (which is '"'), re-escaped into the output.
  // UTF-8 was validated for the whole text beforehand.
  bool String() {
    ++p_;  // opening quote
    out_->push_back('"');
    while (true) {
      const char* run = p_;
      p_ = FindSpecial(p_, end_);
      out_->append(run, static_cast<size_t>(p_ - run));
      if (p_ == end_) return false;
      const char c = *p_;
      if (c == '"') {
        ++p_;
        out_->push_back('"');
        return true;
      }
      if (c != '\\') return false;  // raw control character
      if (end_ - p_ < 2) return false;
      const char e = p_[1];
      p_ += 2;
      switch (e) {
        case '"':
          out_->append("\\\"");
          break;
        case '\\':
          out_->append("\\\\");
          break;
        case '/':
          out_->push_back('/');
          break;
        case 'b':
          out_->append("\\b");
          break;
        case 'f':
          out_->append("\\f");
          break;
        case 'n':
          out_->append("\\n");
          break;
        case 'r':
          out_->append("\\r");
          break;
        case 't':
          out_->append("\\t");
          break;
        case 'u': {
          int cp = Hex4();
          if (cp < 0) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // lone low
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            const int low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendCodePoint(static_cast<uint32_t>(cp), out_);
          break;
        }
        default:
          return false;
      }
    }
  }

  int Hex4() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = HexDigit(p_[i]);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    p_ += 4;
    return v;
  }

  bool Number() {
    const char* begin = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    bool integral = true;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      const char* digits = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == digits) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* digits = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == digits) return false;
    }
    if (integral) {
      if (*begin == '-') {
        int64_t v = 0;
        auto r = std::from_chars(begin, p_, v);
        if (r.ec != std::errc() || r.ptr != p_) return false;
        if (v == 0) {
          out_->push_back('0');  // "-0" is the integer 0
          return true;
        }
      } else {
        uint64_t v = 0;
        auto r = std::from_chars(begin, p_, v);
        if (r.ec != std::errc() || r.ptr != p_) return false;
        if (limits_.integers_fit_int64 &&
            v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return false;
        }
      }
      out_->append(begin, static_cast<size_t>(p_ - begin));
      return true;
    }
    double d = 0;
    auto r = std::from_chars(begin, p_, d);
    if (r.ec != std::errc() || r.ptr != p_ || !std::isfinite(d)) return false;
    // nlohmann's own formatter, as its serializer calls it.
    char buf[64];
    char* end = ::nlohmann::detail::to_chars(buf, buf + sizeof(buf), d);
    out_->append(buf, static_cast<size_t>(end - buf));
    return true;
  }

  const char* p_;
  const char* end_;
  const CanonicalJsonLimits& limits_;
  std::string* out_;
  // Keys of the objects being read, as [begin, end) offsets into *out_.
  std::vector<std::pair<size_t, size_t>> keys_;
};

}  // namespace

bool AppendCanonicalJson(absl::string_view text,
                         const CanonicalJsonLimits& limits, std::string* out) {
  if (!ValidUtf8(text)) return false;
  const size_t old_size = out->size();
  Canonicalizer c(text, limits, out);
  if (c.Run()) return true;
  out->resize(old_size);
  return false;
}

bool AppendJsonString(absl::string_view s, std::string* out) {
  if (!ValidUtf8(s)) return false;
  out->push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* run = p;
    p = FindSpecial(p, end);
    out->append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p++);
    if (c == '"') {
      out->append("\\\"");
    } else if (c == '\\') {
      out->append("\\\\");
    } else {
      AppendControlEscape(c, out);
    }
  }
  out->push_back('"');
  return true;
}

}  // namespace evbus::common
