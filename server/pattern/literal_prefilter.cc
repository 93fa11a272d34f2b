#include "server/pattern/literal_prefilter.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EVBUS_PREFILTER_AVX2 1
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
  std::vector<Fingerprint> opening_prints;
  std::vector<Fingerprint> closing_prints;
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
    // Every literal has a quote and at least one other byte. Its
    // fingerprint: the kFingerprint bytes next to the quote, going away
    // from it (-1: any, past the literal's end).
    const std::string& t = l.text;
    const size_t size = t.size();
    Fingerprint print;
    for (size_t d = 0; d < kFingerprint; ++d) {
      if (d + 1 >= size) {
        print[d] = -1;
      } else {
        print[d] =
            static_cast<unsigned char>(t[l.opens ? d + 1 : size - 2 - d]);
      }
    }
    (l.opens ? opening_prints : closing_prints).push_back(print);
    std::vector<uint64_t>& pairs =
        l.opens ? f.opening_pairs_ : f.closing_pairs_;
    for (int b = 0; b < 256; ++b) {
      if (print[1] >= 0 && b != print[1]) continue;
      const auto bit = static_cast<unsigned>(print[0] | b << 8);
      pairs[bit >> 6] |= uint64_t{1} << (bit & 63);
    }
    (l.opens ? f.opening_by_byte_
             : f.closing_by_byte_)[static_cast<size_t>(print[0])] |= uint64_t{1}
                                                                     << i;
  }
  for (const Literal& l : f.literals_) {
    f.has_opening_ = f.has_opening_ || l.opens;
    f.has_closing_ = f.has_closing_ || !l.opens;
  }
  // The wide scan's buckets: each distinct fingerprint of a kind; sorted,
  // so that when there are more than eight, those sharing the first byte
  // tend to share a bucket.
  for (const bool opens : {true, false}) {
    std::vector<Fingerprint>& prints = opens ? opening_prints : closing_prints;
    std::sort(prints.begin(), prints.end());
    prints.erase(std::unique(prints.begin(), prints.end()), prints.end());
    NibbleTables& tables = opens ? f.opening_buckets_ : f.closing_buckets_;
    for (size_t k = 0; k < prints.size(); ++k) {
      const auto bit = static_cast<uint8_t>(1u << (k * 8 / prints.size()));
      for (size_t d = 0; d < kFingerprint; ++d) {
        const int b = prints[k][d];
        for (int c = 0; c < 16; ++c) {
          if (b < 0 || c == (b & 15)) tables.low[d][c] |= bit;
          if (b < 0 || c == (b >> 4)) tables.high[d][c] |= bit;
        }
      }
    }
  }
  f.active_ = true;
  f.set_wide_scan(true);
  return f;
}

void LiteralPrefilter::set_wide_scan(bool on) {
#if defined(EVBUS_PREFILTER_AVX2)
  __builtin_cpu_init();  // idempotent; needed when called before main()
  wide_scan_ =
      on && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#else
  wide_scan_ = false;
  (void)on;
#endif
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

bool LiteralPrefilter::AtQuote(const char* text, size_t n, size_t q,
                               bool opening, uint64_t* found) const {
  auto has_pair = [](const std::vector<uint64_t>& pairs, unsigned first,
                     unsigned second) {
    const unsigned bit = first | second << 8;
    return (pairs[bit >> 6] >> (bit & 63) & 1) != 0;
  };
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
  for (uint64_t c = candidates & ~*found; c != 0; c &= c - 1) {
    if (OccursAt(literals_[static_cast<size_t>(__builtin_ctzll(c))], text, n,
                 q)) {
      fresh |= c & (~c + 1);
    }
  }
  if (fresh == 0) return false;
  *found |= fresh;
  return AnySubRulePasses(subrule_fields_, *found);
}

// Quotes alternate between opening and closing a string (no backslash:
// checked first). Per 16-byte block, the running XOR of the quote mask
// marks the bytes inside a string, so the opening quotes are the quote bits
// set in it and the closing ones the others; a kind no literal has is not
// visited at all.
bool LiteralPrefilter::ScanNarrow(const char* text, size_t n, size_t* pos,
                                  bool* opening, uint64_t* found) const {
#if defined(__SSE2__)
  const uint32_t open_mask = has_opening_ ? 0xFFFF : 0;
  const uint32_t close_mask = has_closing_ ? 0xFFFF : 0;
  uint32_t inside = *opening ? 0 : 0xFFFF;  // the block starts in a string
  size_t i = *pos;
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
      if (AtQuote(text, n, i + static_cast<size_t>(__builtin_ctz(b)), true,
                  found)) {
        return true;
      }
    }
    for (uint32_t b = quotes & ~x & close_mask; b != 0; b &= b - 1) {
      if (AtQuote(text, n, i + static_cast<size_t>(__builtin_ctz(b)), false,
                  found)) {
        return true;
      }
    }
  }
  *pos = i;
  *opening = inside == 0;
#else
  (void)text;
  (void)n;
  (void)pos;
  (void)opening;
  (void)found;
#endif
  return false;
}

#if defined(EVBUS_PREFILTER_AVX2)
namespace {

// Helpers of ScanWide, compiled for AVX2 like it (lambdas would not be).
#define EVBUS_AVX2 __attribute__((target("avx2,popcnt"), always_inline)) inline

EVBUS_AVX2 __m256i Table(const std::array<uint8_t, 16>& t) {
  return _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data())));
}

EVBUS_AVX2 __m256i Load(const char* at) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
}

// Per byte of `v`: the buckets it fits at one distance from a quote.
EVBUS_AVX2 __m256i Buckets(__m256i v, __m256i low, __m256i high) {
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(v, nibble);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
  return _mm256_and_si256(_mm256_shuffle_epi8(low, lo),
                          _mm256_shuffle_epi8(high, hi));
}

// Bit j set where byte j of `v` equals `c` (c = 0: where it is zero).
EVBUS_AVX2 uint32_t Equal(__m256i v, char c) {
  return static_cast<uint32_t>(
      _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(c))));
}

#undef EVBUS_AVX2

}  // namespace

__attribute__((target("avx2,popcnt"))) bool LiteralPrefilter::ScanWide(
    const char* text, size_t n, size_t* pos, bool* opening,
    uint64_t* found) const {
  __m256i open_low[kFingerprint];
  __m256i open_high[kFingerprint];
  __m256i close_low[kFingerprint];
  __m256i close_high[kFingerprint];
  for (size_t d = 0; d < kFingerprint; ++d) {
    open_low[d] = Table(opening_buckets_.low[d]);
    open_high[d] = Table(opening_buckets_.high[d]);
    close_low[d] = Table(closing_buckets_.low[d]);
    close_high[d] = Table(closing_buckets_.high[d]);
  }
  uint32_t inside = *opening ? 0 : 1;  // parity of the quotes before
  size_t i = *pos;
  // Blocks [i, i + 32) with kFingerprint bytes on either side readable.
  for (; i + 32 + kFingerprint <= n; i += 32) {
    const __m256i v = Load(text + i);
    if (Equal(v, '\\') != 0) return true;
    const uint32_t quotes = Equal(v, '"');
    if (quotes == 0) continue;
    // Quotes whose neighbours fit some bucket (all buckets empty: 0).
    uint32_t fits = 0;
    if (has_opening_) {
      __m256i buckets = Buckets(Load(text + i + 1), open_low[0], open_high[0]);
      for (size_t d = 1; d < kFingerprint; ++d) {
        buckets = _mm256_and_si256(buckets, Buckets(Load(text + i + d + 1),
                                                    open_low[d], open_high[d]));
      }
      fits |= ~Equal(buckets, 0);
    }
    if (has_closing_) {
      __m256i buckets =
          Buckets(Load(text + i - 1), close_low[0], close_high[0]);
      for (size_t d = 1; d < kFingerprint; ++d) {
        buckets = _mm256_and_si256(
            buckets,
            Buckets(Load(text + i - d - 1), close_low[d], close_high[d]));
      }
      fits |= ~Equal(buckets, 0);
    }
    for (uint32_t b = quotes & fits; b != 0; b &= b - 1) {
      const int j = __builtin_ctz(b);
      const uint32_t before = quotes & ((uint32_t{1} << j) - 1);
      const bool opens = ((inside + __builtin_popcount(before)) & 1) == 0;
      if (AtQuote(text, n, i + static_cast<size_t>(j), opens, found)) {
        return true;
      }
    }
    inside ^= static_cast<uint32_t>(__builtin_popcount(quotes)) & 1;
  }
  *pos = i;
  *opening = inside == 0;
  return false;
}
#else
bool LiteralPrefilter::ScanWide(const char* text, size_t n, size_t* pos,
                                bool* opening, uint64_t* found) const {
  return ScanNarrow(text, n, pos, opening, found);
}
#endif

bool LiteralPrefilter::MayMatch(std::string_view json) const {
  if (!active_) return true;
  const char* const text = json.data();
  const size_t n = json.size();
  uint64_t found = 0;
  bool opening = true;  // whether the next quote opens a string
  // The scalar rest of the text, [from, to).
  const auto scalar = [&](size_t from, size_t to) {
    for (size_t j = from; j < to; ++j) {
      if (text[j] == '\\') return true;
    }
    for (size_t j = from; j < to; ++j) {
      if (text[j] != '"') continue;
      if (AtQuote(text, n, j, opening, &found)) return true;
      opening = !opening;
    }
    return false;
  };
  // The wide scan reads kFingerprint bytes before each block: the first
  // ones are checked one by one.
  size_t i = std::min<size_t>(n, kFingerprint);
  if (scalar(0, i)) return true;
  if (wide_scan_ && ScanWide(text, n, &i, &opening, &found)) return true;
  // The narrow scan needs no neighbours: it takes the wide scan's rest too.
  return ScanNarrow(text, n, &i, &opening, &found) || scalar(i, n);
}

}  // namespace evbus::pattern
