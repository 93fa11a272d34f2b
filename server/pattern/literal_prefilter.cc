#include "server/pattern/literal_prefilter.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace evbus::pattern {
namespace {

// The 8-byte edge compares assume little-endian loads.
static_assert(std::endian::native == std::endian::little);

using internal::Field;
using internal::Matcher;
using internal::MatcherKind;

// The literal a matcher requires of the text, or "" when it has none.
std::string LiteralOf(const Matcher& m, bool* opens) {
  if (m.str.empty()) return "";
  switch (m.kind) {
    case MatcherKind::kExactString:
      if (m.ip.has_value()) return "";  // other spellings of the address match
      *opens = true;
      return "\"" + m.str + "\"";
    case MatcherKind::kPrefix:
      *opens = true;
      return "\"" + m.str;
    case MatcherKind::kSuffix:
      *opens = false;
      return m.str + "\"";
    default:
      return "";
  }
}

// Whether some sub-rule has every field mask met by `found`.
bool AnySubRulePasses(const std::vector<std::vector<uint64_t>>& subrules,
                      uint64_t found) {
  for (const std::vector<uint64_t>& fields : subrules) {
    bool passes = true;
    for (uint64_t mask : fields) {
      if ((mask & found) == 0) {
        passes = false;
        break;
      }
    }
    if (passes) return true;
  }
  return false;
}

}  // namespace

LiteralPrefilter LiteralPrefilter::Build(
    std::span<const internal::SubRule* const> subrules) {
  LiteralPrefilter f;
  if (subrules.empty() || subrules.size() > kMaxSubRules) return f;
  std::map<std::string, uint32_t> ids;
  for (const internal::SubRule* sub : subrules) {
    std::vector<uint64_t> masks;
    for (const Field& field : sub->fields) {
      if (field.has_absent || field.matchers.empty()) continue;
      uint64_t mask = 0;
      for (const Matcher& m : field.matchers) {
        bool opens = true;
        std::string text = LiteralOf(m, &opens);
        if (text.empty()) {
          mask = 0;
          break;
        }
        auto [it, fresh] =
            ids.try_emplace(text, static_cast<uint32_t>(f.literals_.size()));
        if (fresh) {
          if (f.literals_.size() == kMaxLiterals) return LiteralPrefilter();
          f.literals_.push_back({text, opens});
        }
        mask |= uint64_t{1} << it->second;
      }
      if (mask != 0) masks.push_back(mask);
    }
    if (masks.empty()) return LiteralPrefilter();  // always passes
    f.subrule_fields_.push_back(std::move(masks));
  }
  f.opening_pairs_.assign(65536 / 64, 0);
  f.closing_pairs_.assign(65536 / 64, 0);
  for (size_t i = 0; i < f.literals_.size(); ++i) {
    Literal& l = f.literals_[i];
    const size_t k = std::min<size_t>(8, l.text.size());
    l.edge_mask = k == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * k)) - 1;
    // Opening: the first bytes at the low end of a load at the quote.
    // Closing: the last bytes at the high end of a load ending at the quote.
    if (l.opens) {
      std::memcpy(&l.edge, l.text.data(), k);
    } else {
      uint64_t tail = 0;
      std::memcpy(&tail, l.text.data() + l.text.size() - k, k);
      l.edge = tail << (8 * (8 - k));
      l.edge_mask = k == 8 ? ~uint64_t{0} : l.edge_mask << (8 * (8 - k));
    }
    // Every literal has a quote and at least one other byte.
    auto mark = [](std::vector<uint64_t>& pairs, unsigned first, int second) {
      for (unsigned b = 0; b < 256; ++b) {
        if (second >= 0 && b != static_cast<unsigned>(second)) continue;
        const unsigned bit = first | b << 8;
        pairs[bit >> 6] |= uint64_t{1} << (bit & 63);
      }
    };
    const size_t size = l.text.size();
    if (l.opens) {
      mark(f.opening_pairs_, static_cast<unsigned char>(l.text[1]),
           size > 2 ? static_cast<unsigned char>(l.text[2]) : -1);
    } else {
      mark(f.closing_pairs_, static_cast<unsigned char>(l.text[size - 2]),
           size > 2 ? static_cast<unsigned char>(l.text[size - 3]) : -1);
    }
    if (l.opens) {
      f.opening_by_byte_[static_cast<unsigned char>(l.text[1])] |= uint64_t{1}
                                                                   << i;
    } else {
      f.closing_by_byte_[static_cast<unsigned char>(
          l.text[l.text.size() - 2])] |= uint64_t{1} << i;
    }
  }
  for (const Literal& l : f.literals_) {
    f.has_opening_ = f.has_opening_ || l.opens;
    f.has_closing_ = f.has_closing_ || !l.opens;
  }
  f.active_ = true;
  return f;
}

bool LiteralPrefilter::OccursAt(const Literal& l, const char* text, size_t n,
                                size_t q) {
  const size_t size = l.text.size();
  if (l.opens) {
    if (n - q < size) return false;
    if (n - q >= 8) {
      uint64_t head;
      std::memcpy(&head, text + q, 8);
      if ((head & l.edge_mask) != l.edge) return false;
      return size <= 8 ||
             std::memcmp(text + q + 8, l.text.data() + 8, size - 8) == 0;
    }
    return std::memcmp(text + q, l.text.data(), size) == 0;
  }
  if (q + 1 < size) return false;
  const size_t begin = q + 1 - size;
  if (q + 1 >= 8) {
    uint64_t tail;
    std::memcpy(&tail, text + q + 1 - 8, 8);
    if ((tail & l.edge_mask) != l.edge) return false;
    return size <= 8 || std::memcmp(text + begin, l.text.data(), size - 8) == 0;
  }
  return std::memcmp(text + begin, l.text.data(), size) == 0;
}

bool LiteralPrefilter::MayMatch(std::string_view json) const {
  if (!active_) return true;
  const char* const text = json.data();
  const size_t n = json.size();
  uint64_t found = 0;
  auto has_pair = [](const std::vector<uint64_t>& pairs, unsigned first,
                     unsigned second) {
    const unsigned bit = first | second << 8;
    return (pairs[bit >> 6] >> (bit & 63) & 1) != 0;
  };
  // Checks the literals at the quote at `q`; true once some sub-rule passes.
  auto at_quote = [&](size_t q, bool opening) {
    uint64_t candidates;
    if (opening) {
      if (q + 1 >= n) return false;
      const auto first = static_cast<unsigned char>(text[q + 1]);
      const auto second =
          q + 2 < n ? static_cast<unsigned char>(text[q + 2]) : 0u;
      if (!has_pair(opening_pairs_, first, second)) return false;
      candidates = opening_by_byte_[first];
    } else {
      if (q == 0) return false;
      const auto first = static_cast<unsigned char>(text[q - 1]);
      const auto second = q >= 2 ? static_cast<unsigned char>(text[q - 2]) : 0u;
      if (!has_pair(closing_pairs_, first, second)) return false;
      candidates = closing_by_byte_[first];
    }
    uint64_t fresh = 0;
    for (uint64_t c = candidates & ~found; c != 0; c &= c - 1) {
      if (OccursAt(literals_[static_cast<size_t>(__builtin_ctzll(c))], text, n,
                   q)) {
        fresh |= c & (~c + 1);
      }
    }
    if (fresh == 0) return false;
    found |= fresh;
    return AnySubRulePasses(subrule_fields_, found);
  };
  // Quotes alternate between opening and closing a string (no backslash:
  // checked first). Per 16-byte block, the running XOR of the quote mask
  // marks the bytes inside a string, so the opening quotes are the quote
  // bits set in it and the closing ones the others; a kind no literal has
  // is not visited at all.
  const uint32_t open_mask = has_opening_ ? 0xFFFF : 0;
  const uint32_t close_mask = has_closing_ ? 0xFFFF : 0;
  uint32_t inside = 0;  // 0xFFFF when a block starts inside a string
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) != 0) return true;
    const auto quotes =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
    if (quotes == 0) continue;
    uint32_t x = quotes;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x = (x ^ inside) & 0xFFFF;
    inside = (x >> 15) != 0 ? 0xFFFF : 0;
    for (uint32_t b = quotes & x & open_mask; b != 0; b &= b - 1) {
      if (at_quote(i + static_cast<size_t>(__builtin_ctz(b)), true)) {
        return true;
      }
    }
    for (uint32_t b = quotes & ~x & close_mask; b != 0; b &= b - 1) {
      if (at_quote(i + static_cast<size_t>(__builtin_ctz(b)), false)) {
        return true;
      }
    }
  }
#endif
  for (size_t j = i; j < n; ++j) {
    if (text[j] == '\\') return true;
  }
  bool opening = inside == 0;
  for (; i < n; ++i) {
    if (text[i] != '"') continue;
    if (at_quote(i, opening)) return true;
    opening = !opening;
  }
  return false;
}

}  // namespace evbus::pattern
