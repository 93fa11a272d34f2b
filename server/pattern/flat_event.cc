#include "server/pattern/flat_event.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "server/common/utf8.h"
#include "server/pattern/internal/pattern_json.h"
// g++ 12 reports false -Wdangling-pointer positives from simdjson's inline DOM
// accessors (tape_ref temporaries) once they are inlined into this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include "simdjson.h"

namespace evbus::pattern {

namespace {

// memcmp(a, b, n) == 0, inlined for the short keys of events.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    uint64_t x = 0;
    uint64_t y = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    // The last 8 bytes (overlapping the loop's when n % 8 != 0).
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    uint32_t x = 0;
    uint32_t y = 0;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    if (x != y) return false;
    std::memcpy(&x, a + n - 4, 4);
    std::memcpy(&y, b + n - 4, 4);
    return x == y;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// A key's fingerprint for PathFilter's slot tables: its first and its last
// min(size, 8) bytes, each zero-extended to 64 bits (little-endian). Together
// with the size it determines keys of up to 16 bytes.
inline void Fingerprint(std::string_view key, uint64_t* head, uint64_t* tail) {
  const size_t n = std::min<size_t>(key.size(), 8);
  *head = 0;
  *tail = 0;
  std::memcpy(head, key.data(), n);
  std::memcpy(tail, key.data() + key.size() - n, n);
}

// As Fingerprint, reading whole 8-byte windows (masked to the key) without
// branching on the key's size when the key lies inside [text, text_end) with
// 8 bytes of that range from its start and up to its end (little-endian
// only; else as Fingerprint).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void FingerprintInText(std::string_view key,
                                                           const char* text,
                                                           const char* text_end,
                                                           uint64_t* head,
                                                           uint64_t* tail) {
  // As integers: the key may be elsewhere (an unescaped copy).
  const uintptr_t begin = reinterpret_cast<uintptr_t>(key.data());
  const uintptr_t end = begin + key.size();
  const uintptr_t lo = reinterpret_cast<uintptr_t>(text);
  const uintptr_t hi = reinterpret_cast<uintptr_t>(text_end);
  constexpr bool kLittleEndian =
      __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;  // GCC and Clang
  if (!kLittleEndian || ABSL_PREDICT_FALSE(begin < lo || end > hi ||
                                           end - lo < 8 || hi - begin < 8)) {
    Fingerprint(key, head, tail);
    return;
  }
  const size_t n = std::min<size_t>(key.size(), 8);
  uint64_t first = 0;
  uint64_t last = 0;
  std::memcpy(&first, key.data(), 8);
  std::memcpy(&last, key.data() + key.size() - 8, 8);
  // The low n bytes of `first`, the high n bytes of `last`.
  const uint64_t keep = n == 0 ? 0 : ~uint64_t{0} >> (64 - 8 * n);
  *head = first & keep;
  *tail = n == 0 ? 0 : last >> (64 - 8 * n);
}

inline uint64_t SlotHash(uint64_t head, uint64_t tail, size_t size,
                         uint64_t seed) {
  uint64_t h =
      (head * 0x9E3779B97F4A7C15ull) ^ ((tail + size) * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 29;
  return h * seed;
}

uint64_t NextFilterId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void PathFilter::BuildSlots(Node* n) {
  n->slots.clear();
  // Nodes with many children keep the hash map (a table would be large).
  if (n->children.empty() || n->children.size() > kMaxSlotChildren) return;
  struct Key {
    uint64_t head;
    uint64_t tail;
    const std::string* key;
    uint32_t child;
  };
  std::vector<Key> keys;
  n->key_lengths = 0;
  for (const auto& [key, child] : n->children) {
    n->key_lengths |= uint64_t{1} << std::min<size_t>(key.size(), 63);
    Key k{0, 0, &key, child};
    Fingerprint(key, &k.head, &k.tail);
    keys.push_back(k);
  }
  // Tables of 2 to 16 slots per key (at least 2), 256 odd seeds each; found
  // at once in practice.
  int bits = 1;
  while ((size_t{1} << bits) < 2 * keys.size()) ++bits;
  std::vector<int> used;
  for (int b = bits; b <= bits + 3 && b < 32; ++b) {
    const size_t size = size_t{1} << b;
    for (uint64_t s = 0; s < 256; ++s) {
      const uint64_t seed = (s * 0x9E3779B97F4A7C15ull) | 1;
      used.assign(size, 0);
      bool ok = true;
      for (const Key& k : keys) {
        const size_t i = static_cast<size_t>(
            SlotHash(k.head, k.tail, k.key->size(), seed) >> (64 - b));
        if (used[i]++ != 0) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      n->slots.assign(size, Slot());
      n->seed = seed;
      n->shift = 64 - b;
      for (const Key& k : keys) {
        Slot& slot = n->slots[static_cast<size_t>(
            SlotHash(k.head, k.tail, k.key->size(), seed) >> n->shift)];
        slot.head = k.head;
        slot.tail = k.tail;
        slot.size = static_cast<uint32_t>(k.key->size());
        slot.child = k.child;
        slot.key = *k.key;
      }
      return;
    }
  }
  // Keys longer than 16 bytes with equal fingerprints: use the hash map.
}

PathFilter PathFilter::FromPaths(std::span<const std::string> paths) {
  PathFilter f;
  if (paths.empty()) {
    // A filter that keeps nothing: a root without children.
    f.nodes_.emplace_back();
    f.id_ = NextFilterId();
    return f;
  }
  f.nodes_.emplace_back();
  for (const std::string& p : paths) {
    uint32_t node = 0;
    size_t start = 0;
    while (true) {
      const size_t dot = p.find('.', start);
      const std::string_view seg = std::string_view(p).substr(
          start, dot == std::string::npos ? std::string::npos : dot - start);
      f.nodes_[node].flags |= kDescend;
      auto it = f.nodes_[node].children.find(seg);
      uint32_t next = 0;
      if (it == f.nodes_[node].children.end()) {
        next = static_cast<uint32_t>(f.nodes_.size());
        f.nodes_[node].children.emplace(std::string(seg), next);
        f.nodes_.emplace_back();
      } else {
        next = it->second;
      }
      node = next;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    f.nodes_[node].flags |= kLeaf;
  }
  f.nodes_[0].flags &= static_cast<uint8_t>(~kLeaf);
  for (Node& n : f.nodes_) BuildSlots(&n);
  // Ranks: every node's dot-joined path, sorted (the root's is "").
  std::vector<std::pair<std::string, uint32_t>> full(f.nodes_.size());
  for (uint32_t i = 0; i < f.nodes_.size(); ++i) {
    for (const auto& [key, child] : f.nodes_[i].children) {
      full[child].first = i == 0 ? key : absl::StrCat(full[i].first, ".", key);
      full[child].second = child;
    }
  }
  std::sort(full.begin(), full.end());
  for (uint32_t r = 0; r < full.size(); ++r) f.nodes_[full[r].second].rank = r;
  f.id_ = NextFilterId();
  return f;
}

// Only used in this file (ChildSegment and the parser), so inline.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint32_t PathFilter::SlotChild(
    const Node& n, std::string_view key, uint64_t head, uint64_t tail) {
  const Slot& slot = n.slots[static_cast<size_t>(
      SlotHash(head, tail, key.size(), n.seed) >> n.shift)];
  // One branch for the common answer (no such child).
  if (((slot.size ^ key.size()) | (slot.head ^ head) | (slot.tail ^ tail)) !=
      0) {
    return kNone;
  }
  if (key.size() > 16 &&
      !SameBytes(slot.key.data() + 8, key.data() + 8, key.size() - 16)) {
    return kNone;
  }
  return slot.child;
}

uint32_t PathFilter::ChildSegment(uint32_t node, std::string_view key) const {
  const Node& n = nodes_[node];
  if (ABSL_PREDICT_TRUE(!n.slots.empty())) {
    uint64_t head = 0;
    uint64_t tail = 0;
    Fingerprint(key, &head, &tail);
    return SlotChild(n, key, head, tail);
  }
  if (n.children.empty()) return kNone;
  auto it = n.children.find(key);
  return it == n.children.end() ? kNone : it->second;
}

uint32_t PathFilter::ChildOfSegment(uint32_t node,
                                    std::string_view segment) const {
  if (node == kAll) return kAll;
  if (node == kNone) return kNone;
  return ChildSegment(node, segment);
}

uint32_t PathFilter::Child(uint32_t node, std::string_view key) const {
  if (node == kAll) return kAll;
  if (node == kNone) return kNone;
  if (key.find('.') == std::string_view::npos) return ChildSegment(node, key);
  size_t start = 0;
  while (node != kNone) {
    const size_t dot = key.find('.', start);
    node = ChildSegment(node, key.substr(start, dot == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return node;
}

std::pair<size_t, size_t> FlatEvent::FindPath(std::string_view p) const {
  auto lo = std::lower_bound(
      leaves_.begin(), leaves_.end(), p,
      [this](const Leaf& l, std::string_view v) { return path(l) < v; });
  auto hi = lo;
  while (hi != leaves_.end() && path(*hi) == p) ++hi;
  return {static_cast<size_t>(lo - leaves_.begin()),
          static_cast<size_t>(hi - leaves_.begin())};
}

bool FlatEvent::Consistent(const Leaf& a, const Leaf& b) const {
  if (a.pos_size == 0 || b.pos_size == 0) return true;
  const ArrayPos* pa = positions_.data() + a.pos_offset;
  const ArrayPos* pb = positions_.data() + b.pos_offset;
  const ArrayPos* ea = pa + a.pos_size;
  const ArrayPos* eb = pb + b.pos_size;
  while (pa != ea && pb != eb) {
    if (pa->array_id == pb->array_id) {
      if (pa->index != pb->index) return false;
      ++pa;
      ++pb;
    } else if (pa->array_id < pb->array_id) {
      ++pa;
    } else {
      ++pb;
    }
  }
  return true;
}

void FlatEvent::Clear() {
  filter_id_ = 0;
  arena_.clear();
  leaves_.clear();
  positions_.clear();
}

namespace {

// ---- The fast path's scanning primitives ----
//
// They work on [p, end) of the unpadded event text and never read at or past
// `end`. Failure (nullptr / false) means "not handled here": the caller then
// hands the document to simdjson, which gives the answer and the message.

// Deepest nesting the scanner follows (the root object is depth 1); deeper
// documents go to simdjson, whose own limit (1024) is larger.
constexpr int kMaxScanDepth = 512;
// Up to this many leaves are sorted by insertion alone; more are sorted by
// insertion in runs of kSortRun, then merged.
constexpr size_t kInsertionSortMax = 32;
constexpr size_t kSortRun = 8;

// Powers of ten that doubles hold exactly (Clinger's fast path).
constexpr double kExactPowersOfTen[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// JSON whitespace: space, \t, \n, \r.
inline bool IsJsonSpace(char c) {
  constexpr uint64_t kSpaces = (uint64_t{1} << ' ') | (uint64_t{1} << '\t') |
                               (uint64_t{1} << '\n') | (uint64_t{1} << '\r');
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= ' ' && ((kSpaces >> u) & 1) != 0;
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

ABSL_ATTRIBUTE_ALWAYS_INLINE inline const char* SkipSpace(const char* p,
                                                          const char* end) {
  while (p != end && IsJsonSpace(*p)) ++p;
  return p;
}

// The value of four hex digits at `p`, or -1.
int ParseHex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

// The first byte in [p, end) that is '"', '\\' or a control character (< 0x20),
// or `end`; reads 16 bytes at a time where it can, never at or past `end`.
// Sets `*seen` non-zero when a byte it passes over is >= 0x80 (it may also do
// so for bytes a little past the result, which is harmless: they are checked
// later). With kFindDots, also sets `*dot` when a byte before the result is
// '.'.
template <bool kFindDots>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline const char* FindStringSpecial(
    const char* p, const char* end, uint32_t* seen, bool* dot) {
#if defined(__SSE2__)
  if (end - p >= 16) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i max_control = _mm_set1_epi8(0x1F);
    __m128i seen_bytes = _mm_setzero_si128();
    do {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      seen_bytes = _mm_or_si128(seen_bytes, v);
      // The closing quote is found from its own mask, so that the next token's
      // position waits on as few instructions as possible; the rarer special
      // bytes (unsigned v <= 0x1F <=> min(v, 0x1F) == v) are checked aside.
      const unsigned quotes =
          static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
      const unsigned others = static_cast<unsigned>(_mm_movemask_epi8(
          _mm_or_si128(_mm_cmpeq_epi8(v, backslash),
                       _mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v))));
      unsigned dots = 0;
      if constexpr (kFindDots) {
        dots = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
      }
      if ((quotes | others) != 0) {
        *seen |= static_cast<uint32_t>(_mm_movemask_epi8(seen_bytes));
        const unsigned mask = quotes | others;
        if constexpr (kFindDots) {
          // Dots before the first special byte (never a dot itself).
          if ((dots & (mask ^ (mask - 1))) != 0) *dot = true;
        }
        // Bits up to and including the first quote (all bits if none).
        const unsigned through_quote = quotes ^ (quotes - 1);
        if (ABSL_PREDICT_TRUE((others & through_quote) == 0)) {
          return p + __builtin_ctz(quotes);
        }
        return p + __builtin_ctz(mask);
      }
      if constexpr (kFindDots) {
        if (dots != 0) *dot = true;
      }
      p += 16;
    } while (end - p >= 16);
    *seen |= static_cast<uint32_t>(_mm_movemask_epi8(seen_bytes));
  }
#endif
  unsigned char seen_scalar = 0;
  for (; p != end; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20) break;
    if constexpr (kFindDots) {
      if (c == '.') *dot = true;
    }
    seen_scalar |= c;
  }
  *seen |= seen_scalar >> 7;
  return p;
}

// Decodes the escape at `q` (a backslash), appending its UTF-8 to `*out`
// when `out` is not null. Returns the byte after it, or null when simdjson
// would reject it or it is a surrogate sequence simdjson decodes oddly.
const char* ScanEscape(const char* q, const char* end, std::string* out) {
  if (end - q < 2) return nullptr;
  char c = 0;
  switch (q[1]) {
    case '"':
    case '\\':
    case '/':
      c = q[1];
      break;
    case 'b':
      c = '\b';
      break;
    case 'f':
      c = '\f';
      break;
    case 'n':
      c = '\n';
      break;
    case 'r':
      c = '\r';
      break;
    case 't':
      c = '\t';
      break;
    case 'u': {
      if (end - q < 6) return nullptr;
      const int hi = ParseHex4(q + 2);
      if (hi < 0) return nullptr;
      q += 6;
      uint32_t cp = static_cast<uint32_t>(hi);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - q < 6 || q[0] != '\\' || q[1] != 'u') return nullptr;
        const int lo = ParseHex4(q + 2);
        if (lo < 0xDC00 || lo > 0xDFFF) return nullptr;
        cp = 0x10000 + ((cp - 0xD800) << 10) +
             (static_cast<uint32_t>(lo) - 0xDC00);
        q += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return nullptr;
      }
      if (out != nullptr) common::AppendUtf8(cp, out);
      return q;
    }
    default:
      return nullptr;
  }
  if (out != nullptr) out->push_back(c);
  return q + 2;
}

// The rest of a string whose body (from `start`) has an escape or a control
// character at `q`. Unescapes into `*scratch` (when not null) and points `*s`
// at it. Returns the byte after the closing quote, or null.
const char* ScanEscapedString(const char* start, const char* q, const char* end,
                              uint32_t* seen, std::string* scratch,
                              std::string_view* s) {
  if (scratch != nullptr) scratch->assign(start, q);
  bool unused_dot = false;
  while (q != end && *q == '\\') {
    q = ScanEscape(q, end, scratch);
    if (q == nullptr) return nullptr;
    const char* run = FindStringSpecial<false>(q, end, seen, &unused_dot);
    if (scratch != nullptr) scratch->append(q, run);
    q = run;
  }
  if (q == end || *q != '"') return nullptr;  // unterminated, or < 0x20
  if (scratch != nullptr) *s = *scratch;
  return q + 1;
}

// `p` is just past an opening quote. Sets `*s` to the string's contents (in
// the text, or unescaped into `*scratch`; with a null `scratch` the string is
// only checked). Returns the byte after the closing quote, or null.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline const char* ScanString(
    const char* p, const char* end, uint32_t* seen, std::string* scratch,
    std::string_view* s) {
  bool unused_dot = false;
  const char* q = FindStringSpecial<false>(p, end, seen, &unused_dot);
  if (ABSL_PREDICT_TRUE(q != end && *q == '"')) {
    *s = std::string_view(p, static_cast<size_t>(q - p));
    return q + 1;
  }
  return ScanEscapedString(p, q, end, seen, scratch, s);
}

// As ScanString, for an object key; `*dot` tells whether it holds a '.'.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline const char* ScanKey(
    const char* p, const char* end, uint32_t* seen, std::string* scratch,
    std::string_view* s, bool* dot) {
  *dot = false;
  const char* q = FindStringSpecial<true>(p, end, seen, dot);
  if (ABSL_PREDICT_TRUE(q != end && *q == '"')) {
    *s = std::string_view(p, static_cast<size_t>(q - p));
    return q + 1;
  }
  q = ScanEscapedString(p, q, end, seen, scratch, s);
  if (q != nullptr) *dot = s->find('.') != std::string_view::npos;
  return q;
}

// A number literal as scanned (the grammar is checked, nothing converted).
struct ScannedNumber {
  const char* begin = nullptr;
  const char* end = nullptr;
  uint64_t mantissa = 0;   // all digits, ignoring '.'; exact if digits <= 19
  int64_t exponent = 0;    // value = mantissa * 10^exponent (floats)
  size_t int_digits = 0;   // digits before '.', e.g. 1 for "0.5"
  size_t significant = 0;  // digits from the first non-zero digit on
  bool negative = false;
  bool is_float = false;  // has a fraction or an exponent
};

// `p` is at a byte that may start a number. Checks the RFC 8259 number
// grammar; returns the byte after the number, or null.
inline const char* ScanNumber(const char* p, const char* end,
                              ScannedNumber* n) {
  n->begin = p;
  n->negative = *p == '-';
  if (n->negative) ++p;
  if (p == end || !IsDigit(*p)) return nullptr;
  uint64_t m = 0;
  size_t significant = 0;
  const char* int_start = p;
  if (*p == '0') {
    ++p;
    if (p != end && IsDigit(*p)) return nullptr;  // leading zero
  } else {
    // Wraps past 20 digits, as simdjson's does; NumberValue copes.
    while (p != end && IsDigit(*p)) {
      m = m * 10 + static_cast<uint64_t>(*p - '0');
      ++p;
    }
    significant = static_cast<size_t>(p - int_start);
  }
  n->int_digits = static_cast<size_t>(p - int_start);
  int64_t exponent = 0;
  bool is_float = false;
  if (p != end && *p == '.') {
    ++p;
    const char* frac_start = p;
    while (p != end && IsDigit(*p)) {
      const uint64_t d = static_cast<uint64_t>(*p - '0');
      if (m != 0 || d != 0) ++significant;
      m = m * 10 + d;
      ++p;
    }
    if (p == frac_start) return nullptr;
    exponent = -static_cast<int64_t>(p - frac_start);
    is_float = true;
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative_exponent = false;
    if (p != end && (*p == '+' || *p == '-')) {
      negative_exponent = *p == '-';
      ++p;
    }
    if (p == end || !IsDigit(*p)) return nullptr;
    int64_t e = 0;
    while (p != end && IsDigit(*p)) {
      // Saturates: far beyond any double either way.
      if (e < 1000000000) e = e * 10 + (*p - '0');
      ++p;
    }
    exponent += negative_exponent ? -e : e;
    is_float = true;
  }
  n->end = p;
  n->mantissa = m;
  n->exponent = exponent;
  n->significant = significant;
  n->is_float = is_float;
  return p;
}

// Converts with std::from_chars (correctly rounded, as simdjson is). False when
// the value is out of range (simdjson fails on infinities; underflows are left
// to simdjson too).
bool SlowDouble(const ScannedNumber& n, double* out) {
  double d = 0;
  const std::from_chars_result r = std::from_chars(n.begin, n.end, d);
  if (r.ec != std::errc() || r.ptr != n.end || !std::isfinite(d)) return false;
  *out = d;
  return true;
}

// The double simdjson's DOM gives for `n` (INT64 / UINT64 converted with
// static_cast, DOUBLE correctly rounded). False when simdjson would report a
// number error (then the caller falls back), or when unsure.
inline bool NumberValue(const ScannedNumber& n, double* out) {
  if (!n.is_float) {
    // As simdjson: at most 19 digits for negatives, 20 for positives.
    const size_t longest = n.negative ? 19 : 20;
    if (n.int_digits > longest) return false;
    if (n.int_digits == longest) {
      if (n.negative) {
        if (n.mantissa > uint64_t{1} << 63) return false;
      } else if (*n.begin != '1' ||
                 n.mantissa <= static_cast<uint64_t>(
                                   std::numeric_limits<int64_t>::max())) {
        // A 20-digit number starting with 1 that wrapped around is smaller
        // than INT64_MAX; one starting with 2-9 is always too large.
        return false;
      }
    }
    if (n.negative) {
      // INT64: "-0" is the integer 0, i.e. +0.0.
      *out = static_cast<double>(static_cast<int64_t>(~n.mantissa + 1));
    } else {
      *out = static_cast<double>(n.mantissa);
    }
    return true;
  }
  if (n.significant > 19) return SlowDouble(n, out);
  if (n.mantissa == 0 || n.exponent < -342) {
    // simdjson writes a signed zero for these (the true value rounds to 0).
    *out = n.negative ? -0.0 : 0.0;
    return true;
  }
  if (n.exponent > 308) return false;
  if (n.mantissa <= (uint64_t{1} << 53) && n.exponent >= -22 &&
      n.exponent <= 22) {
    // Clinger: both operands exact, so one rounding gives the right double.
    double d = static_cast<double>(n.mantissa);
    if (n.exponent < 0) {
      d /= kExactPowersOfTen[-n.exponent];
    } else {
      d *= kExactPowersOfTen[n.exponent];
    }
    *out = n.negative ? -d : d;
    return true;
  }
  return SlowDouble(n, out);
}

// Whether simdjson converts `n` without a number error (for skipped numbers,
// which are not converted when that is cheap to decide).
inline bool NumberConvertible(const ScannedNumber& n) {
  if (n.is_float && n.significant <= 19) {
    if (n.mantissa == 0 || n.exponent < -342) return true;
    if (n.exponent > 308) return false;
    // mantissa < 10^significant, so the value is below 10^308 < DBL_MAX.
    if (n.exponent + static_cast<int64_t>(n.significant) <= 308) return true;
  }
  double unused = 0;
  return NumberValue(n, &unused);
}

// The end of the number at `p` when it has one of the common short forms
// -?(0|[1-9][0-9]*)(.[0-9]+)? in under 16 bytes (at most 15 digits, so
// simdjson always converts it) and is followed by a byte that cannot continue
// a number; else null ("not decided here": other forms, literals, errors, or
// fewer than 17 bytes left). Decided without loops.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline const char* QuickNumber(const char* p,
                                                            const char* end) {
#if defined(__SSE2__)
  if (end - p <= 16) return nullptr;
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i offset = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  // Unsigned offset <= 9 <=> min(offset, 9) == offset.
  const unsigned digits = static_cast<unsigned>(_mm_movemask_epi8(
      _mm_cmpeq_epi8(_mm_min_epu8(offset, _mm_set1_epi8(9)), offset)));
  const unsigned sign = p[0] == '-' ? 1 : 0;
  const unsigned d = digits >> sign;
  // Bits 16 and up of ~d are set, so both counts are at most 16.
  const unsigned int_len = static_cast<unsigned>(__builtin_ctz(~d));
  const unsigned after_int = sign + int_len;  // <= 16 < end - p
  const bool dot = p[after_int] == '.';
  const unsigned frac_len =
      static_cast<unsigned>(__builtin_ctz(~(d >> (int_len + 1))));
  const unsigned len = after_int + (dot ? 1 + frac_len : 0);
  if (len >= 16) return nullptr;
  const char next = p[len];
  // A number's next byte must not be one that continues it (digits were
  // counted; '.', 'e', 'E', '+', '-' are the rest).
  const bool ok = int_len >= 1 && (p[sign] != '0' || int_len == 1) &&
                  (!dot || frac_len >= 1) && next != 'e' && next != 'E' &&
                  next != '.' && next != '+' && next != '-';
  return ok ? p + len : nullptr;
#else
  (void)p;
  (void)end;
  return nullptr;
#endif
}

// `p` is at 't', 'f' or 'n': the byte after true, false or null, or null
// if the text is not that literal. Sets `*kind` to the literal's kind.
inline const char* ScanLiteral(const char* p, const char* end,
                               ValueKind* kind) {
  std::string_view word;
  switch (*p) {
    case 't':
      word = "true";
      *kind = ValueKind::kTrue;
      break;
    case 'f':
      word = "false";
      *kind = ValueKind::kFalse;
      break;
    default:
      word = "null";
      *kind = ValueKind::kNull;
      break;
  }
  if (static_cast<size_t>(end - p) < word.size() ||
      std::memcmp(p, word.data(), word.size()) != 0) {
    return nullptr;
  }
  return p + word.size();
}

// `p` is at a byte that may start true, false, null or a number: moves past
// it after checking it. Returns null on failure.
inline const char* SkipScalar(const char* p, const char* end) {
  switch (*p) {
    case 't':
    case 'f':
    case 'n': {
      ValueKind unused;
      return ScanLiteral(p, end, &unused);
    }
    default: {
      if (const char* q = QuickNumber(p, end); q != nullptr) return q;
      ScannedNumber n;
      p = ScanNumber(p, end, &n);
      return p != nullptr && NumberConvertible(n) ? p : nullptr;
    }
  }
}

// `p` is at a value nested `depth` containers deep that nothing keeps:
// checks it and returns the byte after it, or null.
const char* SkipValue(const char* p, const char* end, uint32_t* seen,
                      int depth) {
  // is_array[i]: whether the i-th container opened here is an array.
  bool is_array[kMaxScanDepth];
  int level = 0;
  std::string_view unused;
value:
  if (p == end) return nullptr;
  if (*p == '"') {
    p = ScanString(p + 1, end, seen, nullptr, &unused);
    if (p == nullptr) return nullptr;
    goto next;
  }
  if (*p == '{' || *p == '[') {
    if (depth + level + 1 > kMaxScanDepth) return nullptr;
    const bool array = *p == '[';
    is_array[level++] = array;
    p = SkipSpace(p + 1, end);
    if (p != end && *p == (array ? ']' : '}')) {
      ++p;
      goto close;
    }
    if (array) goto value;
    goto key;
  }
  p = SkipScalar(p, end);
  if (p == nullptr) return nullptr;
  goto next;
key:
  if (p == end || *p != '"') return nullptr;
  p = ScanString(p + 1, end, seen, nullptr, &unused);
  if (p == nullptr) return nullptr;
  p = SkipSpace(p, end);
  if (p == end || *p != ':') return nullptr;
  p = SkipSpace(p + 1, end);
  goto value;
next:
  if (level == 0) return p;
  p = SkipSpace(p, end);
  if (p == end) return nullptr;
  if (*p == ',') {
    p = SkipSpace(p + 1, end);
    if (is_array[level - 1]) goto value;
    goto key;
  }
  if (*p != (is_array[level - 1] ? ']' : '}')) return nullptr;
  ++p;
close:
  --level;
  goto next;
}

// The trusted skip (FlatEventParser::Options::trusted): for text known to be
// valid JSON, a skipped value's end is found from its quotes, backslashes
// and brackets alone.

// `p` is just past the opening quote of a string in valid JSON: returns
// the byte after its closing quote, or null at `end`.
inline const char* SkipStringTrusted(const char* p, const char* end) {
  // Valid JSON holds no control byte in a string, so FindStringSpecial
  // stops only at a quote or a backslash here.
  uint32_t unused_seen = 0;
  bool unused_dot = false;
  while (true) {
    p = FindStringSpecial<false>(p, end, &unused_seen, &unused_dot);
    if (p == end) return nullptr;
    if (*p == '"') return p + 1;
    p += 2;  // the escaped byte (a \uXXXX's digits hold no quote)
    if (p > end) return nullptr;
  }
}

// A container in valid JSON, byte by byte: `p` at its '{' or '['. Returns
// the byte after its end, or null (text ends early, or nesting past
// kMaxScanDepth).
const char* SkipContainerScalar(const char* p, const char* end, int depth) {
  int level = 0;
  for (; p != end; ++p) {
    switch (*p) {
      case '"':
        p = SkipStringTrusted(p + 1, end);
        if (p == nullptr) return nullptr;
        --p;  // at the closing quote; the loop steps past it
        break;
      case '{':
      case '[':
        if (depth + ++level > kMaxScanDepth) return nullptr;
        break;
      case '}':
      case ']':
        if (--level == 0) return p + 1;
        break;
      default:
        break;
    }
  }
  return nullptr;
}

// Bit i set where byte i of the 64 at `p` equals `c`.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t Mask64(const char* p, char c) {
#if defined(__SSE2__)
  const __m128i v = _mm_set1_epi8(c);
  uint64_t m = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i x =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    m |= static_cast<uint64_t>(
             static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, v))))
         << (16 * i);
  }
  return m;
#else
  uint64_t m = 0;
  for (int i = 0; i < 64; ++i) m |= static_cast<uint64_t>(p[i] == c) << i;
  return m;
#endif
}

// Bit i set when an odd number of bits at or below i are set in x.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// A container in valid JSON, 64 bytes at a time: `p` at its '{' or '['.
// Per block, the quotes' running parity marks the bytes inside strings, and
// the brackets outside them change the nesting level; the block's closing
// brackets are visited one by one only when they could close the container.
// A backslash (an escaped quote would break the parity) hands the container
// to SkipContainerScalar. Returns as SkipContainerScalar.
const char* SkipContainerTrusted(const char* p, const char* end, int depth) {
  const char* const start = p;
  uint64_t in_string = 0;  // all ones when the last block ended in a string
  int level = 0;
  char tail[64];
  for (const char* block = p; block < end; block += 64) {
    const char* src = block;
    const auto left = static_cast<size_t>(end - block);
    if (left < 64) {
      std::memcpy(tail, block, left);
      std::memset(tail + left, ' ', 64 - left);
      src = tail;
    }
    if (Mask64(src, '\\') != 0) return SkipContainerScalar(start, end, depth);
    const uint64_t quotes = Mask64(src, '"');
    const uint64_t inside = PrefixXor(quotes) ^ in_string;
    in_string = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
    const uint64_t opens = (Mask64(src, '{') | Mask64(src, '[')) & ~inside;
    const uint64_t closes = (Mask64(src, '}') | Mask64(src, ']')) & ~inside;
    const int n_opens = __builtin_popcountll(opens);
    const int n_closes = __builtin_popcountll(closes);
    if (depth + level + n_opens > kMaxScanDepth) {
      return SkipContainerScalar(start, end, depth);
    }
    if (n_closes < level) {  // the level cannot reach 0 in this block
      level += n_opens - n_closes;
      continue;
    }
    for (uint64_t b = opens | closes; b != 0; b &= b - 1) {
      const int i = __builtin_ctzll(b);
      if ((opens >> i) & 1) {
        ++level;
      } else if (--level == 0) {
        return block + i + 1;
      }
    }
  }
  return nullptr;
}

// As SkipValue, for text known to be valid JSON: nothing is checked. Null
// only when the text ends early or nests past kMaxScanDepth (the DOM parser
// then takes over, as it does for SkipValue's nulls).
const char* SkipValueTrusted(const char* p, const char* end, int depth) {
  if (p == end) return nullptr;
  if (*p == '"') return SkipStringTrusted(p + 1, end);
  if (*p == '{' || *p == '[') return SkipContainerTrusted(p, end, depth);
  // A number, true, false or null.
  while (p != end && *p != ',' && *p != '}' && *p != ']' && !IsJsonSpace(*p))
    ++p;
  return p;
}

}  // namespace

class FlatEventParser::Impl {
 public:
  explicit Impl(const Options& options)
      : force_dom_(options.force_dom), trusted_(options.trusted) {}

  absl::Status Parse(std::string_view json, const PathFilter* filter,
                     FlatEvent* out) {
    filter_ = (filter == nullptr || filter->keep_all()) ? nullptr : filter;
    const uint32_t root =
        filter_ == nullptr ? PathFilter::kAll : filter_->root();
    out_ = out;
    Reset();
    if (!force_dom_ && ScanDocument(json, root)) {
      Finish();
      return absl::OkStatus();
    }
    // Invalid, or something the scanner leaves to simdjson: start over.
    Reset();
    ++dom_parse_count_;

    const size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (buffer_.size() < needed) buffer_.resize(needed);
    std::memcpy(buffer_.data(), json.data(), json.size());
    std::memset(buffer_.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);

    simdjson::dom::element doc;
    const simdjson::error_code err =
        parser_.parse(buffer_.data(), json.size(), false).get(doc);
    if (err == simdjson::NUMBER_ERROR) {
      // A number outside what simdjson converts (e.g. 1e400): use the
      // slower reader, which keeps number literals.
      return ParseSlow(json);
    }
    if (err != simdjson::SUCCESS) {
      out->Clear();
      return absl::InvalidArgumentError(absl::StrCat(
          "Event is not valid JSON: ", simdjson::error_message(err)));
    }
    if (!doc.is_object()) {
      out->Clear();
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    simdjson::dom::object root_object;
    if (doc.get(root_object) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    const uint32_t root_node = root;
    WalkObject(root_object, root_node);
    Finish();
    return absl::OkStatus();
  }

  uint64_t dom_parse_count() const { return dom_parse_count_; }

 private:
  void Reset() {
    out_->Clear();
    out_->filter_id_ = filter_ == nullptr ? 0 : filter_->id();
    path_.clear();
    stack_.clear();
    next_array_id_ = 0;
    cached_version_ = ~0u;
    stack_version_ = 0;
  }

  // Sorts the leaves by path, keeping document order within one path: by
  // insertion when there are few, else runs by insertion then merges through
  // a reused buffer (so, unlike std::stable_sort, nothing is allocated in
  // steady state).
  void Finish() {
    if (filter_ != nullptr) {
      // Every leaf's node is a node of filter_, whose rank orders paths.
      const PathFilter::Node* nodes = filter_->nodes_.data();
      const size_t n = out_->leaves_.size();
      const size_t ranks = filter_->nodes_.size();
      if (n > kInsertionSortMax / 2 && ranks <= 4 * n + 64) {
        CountingSortByRank(nodes, ranks);
        return;
      }
      SortLeaves([nodes](const FlatEvent::Leaf& a, const FlatEvent::Leaf& b) {
        return nodes[a.node].rank < nodes[b.node].rank;
      });
      return;
    }
    FlatEvent* out = out_;
    SortLeaves([out](const FlatEvent::Leaf& a, const FlatEvent::Leaf& b) {
      return out->path(a) < out->path(b);
    });
  }

  // Stable counting sort of the leaves by their node's rank (< `ranks`):
  // linear, where insertion sort was quadratic in the leaves out of order
  // (rules reading many fields keep many leaves, in document order).
  void CountingSortByRank(const PathFilter::Node* nodes, size_t ranks) {
    std::vector<FlatEvent::Leaf>& leaves = out_->leaves_;
    rank_start_.assign(ranks + 1, 0);
    for (const FlatEvent::Leaf& leaf : leaves) {
      ++rank_start_[nodes[leaf.node].rank + 1];
    }
    for (size_t r = 1; r <= ranks; ++r) rank_start_[r] += rank_start_[r - 1];
    sort_scratch_.resize(leaves.size());
    for (const FlatEvent::Leaf& leaf : leaves) {
      sort_scratch_[rank_start_[nodes[leaf.node].rank]++] = leaf;
    }
    std::copy(sort_scratch_.begin(), sort_scratch_.end(), leaves.begin());
  }

  template <typename Less>
  void SortLeaves(const Less& less) {
    FlatEvent* out = out_;
    std::vector<FlatEvent::Leaf>& leaves = out->leaves_;
    const size_t n = leaves.size();
    const size_t run = n <= kInsertionSortMax ? n : kSortRun;
    for (size_t begin = 0; begin < n; begin += run) {
      const size_t end = std::min(n, begin + run);
      for (size_t i = begin + 1; i < end; ++i) {
        if (!less(leaves[i], leaves[i - 1])) continue;
        const FlatEvent::Leaf moving = leaves[i];
        size_t j = i;
        do {
          leaves[j] = leaves[j - 1];
          --j;
        } while (j > begin && less(moving, leaves[j - 1]));
        leaves[j] = moving;
      }
    }
    if (run == n) return;
    sort_scratch_.resize(n);
    FlatEvent::Leaf* from = leaves.data();
    FlatEvent::Leaf* to = sort_scratch_.data();
    for (size_t width = run; width < n; width *= 2) {
      for (size_t begin = 0; begin < n; begin += 2 * width) {
        const size_t mid = std::min(n, begin + width);
        const size_t end = std::min(n, begin + 2 * width);
        // std::merge is stable: on ties the first (earlier) run goes first.
        std::merge(from + begin, from + mid, from + mid, from + end, to + begin,
                   less);
      }
      std::swap(from, to);
    }
    if (from != leaves.data()) std::copy(from, from + n, leaves.data());
  }

  // ---- Fast path: one pass over the text, no DOM ----
  //
  // Mirrors WalkObject / WalkValue (same leaves, arena writes and array
  // numbering: every array met while walking kept values gets the next id)
  // while checking the whole document as strictly as simdjson. Returns false
  // on anything it does not handle; the caller then discards the output and
  // asks simdjson. A state machine over an explicit stack of open containers
  // (frames_), so that the cursor stays in a register.
  bool ScanDocument(std::string_view json, uint32_t root) {
    if (json.size() >= simdjson::SIMDJSON_MAXSIZE_BYTES) return false;
    const char* p = json.data();
    const char* const end = p + json.size();
    text_begin_ = p;
    text_end_ = end;
    seen_ = 0;
    int depth = 0;  // frames in use
    ScanFrame* frame = nullptr;
    uint32_t node = root;
    std::string_view text;
    bool dot = false;

    p = SkipSpace(p, end);
    if (p == end || *p != '{') return false;
    // The root object is walked whatever the root's flags (as WalkObject).
    frame = &frames_[depth++];
    frame->node = root;
    frame->is_array = false;
    frame->path_size = 0;
    ++p;

  object_begin:  // just past the '{' of *frame
    p = SkipSpace(p, end);
    if (p != end && *p == '}') {
      ++p;
      goto close;
    }
  member:  // at the opening quote of a key of *frame
    if (p == end || *p != '"') return false;
    p = ScanKey(p + 1, end, &seen_, &key_scratch_, &text, &dot);
    if (p == nullptr) return false;
    p = SkipSpace(p, end);
    if (p == end || *p != ':') return false;
    p = SkipSpace(p + 1, end);
    node = KeyChild(frame->node, text, dot);
    if (node == PathFilter::kNone) {
      p = trusted_ ? SkipValueTrusted(p, end, depth)
                   : SkipValue(p, end, &seen_, depth);
      if (p == nullptr) return false;
      goto after_value;
    }
    PushKey(text);

  value:  // at a value inside *frame, kept at `node`
    if (p == end) return false;
    switch (*p) {
      case '{':
        if ((Flags(node) & PathFilter::kDescend) == 0) {
          p = trusted_ ? SkipValueTrusted(p, end, depth)
                       : SkipValue(p, end, &seen_, depth);
          if (p == nullptr) return false;
          goto after_value;
        }
        if (depth == kMaxScanDepth) return false;
        frame = &frames_[depth++];
        frame->node = node;
        frame->is_array = false;
        frame->path_size = path_.size();
        ++p;
        goto object_begin;
      case '[':
        if (depth == kMaxScanDepth) return false;
        frame = &frames_[depth++];
        frame->node = node;
        frame->is_array = true;
        frame->array_id = next_array_id_++;
        frame->index = 0;
        p = SkipSpace(p + 1, end);
        if (p != end && *p == ']') {
          ++p;
          goto close;
        }
        PushArray(frame->array_id, 0);
        goto value;
      case '"':
        if ((Flags(node) & PathFilter::kLeaf) == 0) {
          p = ScanString(p + 1, end, &seen_, nullptr, &text);
          if (p == nullptr) return false;
          goto after_value;
        }
        p = ScanString(p + 1, end, &seen_, &string_scratch_, &text);
        if (p == nullptr) return false;
        SetText(&AddLeaf(ValueKind::kString, node), text);
        goto after_value;
      case 't':
      case 'f':
      case 'n': {
        ValueKind kind;
        p = ScanLiteral(p, end, &kind);
        if (p == nullptr) return false;
        if ((Flags(node) & PathFilter::kLeaf) != 0) AddLeaf(kind, node);
        goto after_value;
      }
      default: {
        ScannedNumber n;
        p = ScanNumber(p, end, &n);
        if (p == nullptr) return false;
        if ((Flags(node) & PathFilter::kLeaf) == 0) {
          if (!NumberConvertible(n)) return false;
          goto after_value;
        }
        double d = 0;
        if (!NumberValue(n, &d)) return false;
        AddLeaf(ValueKind::kNumber, node).number = d;
        goto after_value;
      }
    }

  after_value:  // just past a value inside *frame
    p = SkipSpace(p, end);
    if (p == end) return false;
    if (frame->is_array) {
      PopArray();
      if (*p == ',') {
        p = SkipSpace(p + 1, end);
        PushArray(frame->array_id, ++frame->index);
        node = frame->node;
        goto value;
      }
      if (*p != ']') return false;
      ++p;
      goto close;
    }
    path_.resize(frame->path_size);
    if (*p == ',') {
      p = SkipSpace(p + 1, end);
      goto member;
    }
    if (*p != '}') return false;
    ++p;

  close:  // just past the '}' or ']' that closes *frame
    if (--depth == 0) {
      p = SkipSpace(p, end);
      if (p != end) return false;
      // Only strings can hold non-ASCII bytes (the grammar rejects them
      // elsewhere), and every string byte went into seen_.
      return seen_ == 0 || trusted_ ||
             simdjson::validate_utf8(json.data(), json.size());
    }
    frame = &frames_[depth - 1];
    goto after_value;
  }

  // The trie node under `node` (never kNone) for the event key `key`.
  uint32_t KeyChild(uint32_t node, std::string_view key, bool dot) const {
    if (filter_ == nullptr || node == PathFilter::kAll) return PathFilter::kAll;
    if (dot) return filter_->Child(node, key);
    const PathFilter::Node& n = filter_->nodes_[node];
    if (ABSL_PREDICT_FALSE(n.slots.empty())) {
      return filter_->ChildOfSegment(node, key);
    }
    if (((n.key_lengths >> std::min<size_t>(key.size(), 63)) & 1) == 0) {
      return PathFilter::kNone;
    }
    uint64_t head = 0;
    uint64_t tail = 0;
    // Keys are usually read in place (not unescaped): then whole 8-byte
    // windows of the text can be read around them.
    FingerprintInText(key, text_begin_, text_end_, &head, &tail);
    return PathFilter::SlotChild(n, key, head, tail);
  }

  uint32_t ChildNode(uint32_t node, std::string_view key) const {
    return filter_ == nullptr ? PathFilter::kAll : filter_->Child(node, key);
  }
  uint8_t Flags(uint32_t node) const {
    return filter_ == nullptr ? (PathFilter::kLeaf | PathFilter::kDescend)
                              : filter_->Flags(node);
  }

  // Pushes ".key" onto the current path; returns the old length.
  size_t PushKey(std::string_view key) {
    const size_t old = path_.size();
    if (!path_.empty()) path_.push_back('.');
    path_.append(key);
    return old;
  }

  void WalkObject(simdjson::dom::object obj, uint32_t node) {
    for (simdjson::dom::key_value_pair kv : obj) {
      const uint32_t child = ChildNode(node, kv.key);
      if (child == PathFilter::kNone) continue;
      const size_t old = PushKey(kv.key);
      WalkValue(kv.value, child);
      path_.resize(old);
    }
  }

  void PushArray(uint32_t id, uint32_t index) {
    stack_.push_back({id, index});
    ++stack_version_;
  }
  void PopArray() {
    stack_.pop_back();
    ++stack_version_;
  }

  void WalkValue(simdjson::dom::element v, uint32_t node) {
    const uint8_t flags = Flags(node);
    switch (v.type()) {
      case simdjson::dom::element_type::OBJECT:
        if ((flags & PathFilter::kDescend) != 0) {
          simdjson::dom::object obj;
          if (v.get(obj) == simdjson::SUCCESS) WalkObject(obj, node);
        }
        return;
      case simdjson::dom::element_type::ARRAY: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        simdjson::dom::array arr;
        if (v.get(arr) != simdjson::SUCCESS) return;
        for (simdjson::dom::element e : arr) {
          PushArray(id, index++);
          WalkValue(e, node);
          PopArray();
        }
        return;
      }
      default:
        break;
    }
    if ((flags & PathFilter::kLeaf) == 0) return;
    switch (v.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view s;
        if (v.get(s) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kString, node);
        SetText(&leaf, s);
        return;
      }
      case simdjson::dom::element_type::INT64: {
        int64_t i = 0;
        if (v.get(i) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber, node);
        leaf.number = static_cast<double>(i);
        return;
      }
      case simdjson::dom::element_type::UINT64: {
        uint64_t u = 0;
        if (v.get(u) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber, node);
        leaf.number = static_cast<double>(u);
        return;
      }
      case simdjson::dom::element_type::DOUBLE: {
        double d = 0;
        if (v.get(d) != simdjson::SUCCESS) return;
        AddLeaf(ValueKind::kNumber, node).number = d;
        return;
      }
      case simdjson::dom::element_type::BOOL: {
        bool b = false;
        if (v.get(b) != simdjson::SUCCESS) return;
        AddLeaf(b ? ValueKind::kTrue : ValueKind::kFalse, node);
        return;
      }
      case simdjson::dom::element_type::NULL_VALUE:
        AddLeaf(ValueKind::kNull, node);
        return;
      default:
        return;
    }
  }

  // Slow path over internal::PatternJson (keeps number literals).
  absl::Status ParseSlow(std::string_view json) {
    absl::StatusOr<internal::PatternJson> doc =
        internal::ParsePatternJson(json, /*keep_duplicate_keys=*/true);
    if (!doc.ok()) {
      out_->Clear();
      return absl::InvalidArgumentError(
          absl::StrCat("Event is not valid JSON: ", doc.status().message()));
    }
    if (!doc->is_object()) {
      out_->Clear();
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    WalkSlowObject(*doc,
                   filter_ == nullptr ? PathFilter::kAll : filter_->root());
    Finish();
    return absl::OkStatus();
  }

  void WalkSlowObject(const internal::PatternJson& obj, uint32_t node) {
    for (const auto& [key, value] : obj.members) {
      const uint32_t child = ChildNode(node, key);
      if (child == PathFilter::kNone) continue;
      const size_t old = PushKey(key);
      WalkSlowValue(value, child);
      path_.resize(old);
    }
  }

  void WalkSlowValue(const internal::PatternJson& v, uint32_t node) {
    const uint8_t flags = Flags(node);
    using Kind = internal::PatternJson::Kind;
    switch (v.kind) {
      case Kind::kObject:
        if ((flags & PathFilter::kDescend) != 0) WalkSlowObject(v, node);
        return;
      case Kind::kArray: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        for (const internal::PatternJson& e : v.items) {
          PushArray(id, index++);
          WalkSlowValue(e, node);
          PopArray();
        }
        return;
      }
      default:
        break;
    }
    if ((flags & PathFilter::kLeaf) == 0) return;
    switch (v.kind) {
      case Kind::kString:
        SetText(&AddLeaf(ValueKind::kString, node), v.text);
        return;
      case Kind::kNumber: {
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber, node);
        leaf.number = internal::JsonNumberValue(v.text);
        SetText(&leaf, v.text);
        return;
      }
      case Kind::kTrue:
        AddLeaf(ValueKind::kTrue, node);
        return;
      case Kind::kFalse:
        AddLeaf(ValueKind::kFalse, node);
        return;
      case Kind::kNull:
        AddLeaf(ValueKind::kNull, node);
        return;
      default:
        return;
    }
  }

  void SetText(FlatEvent::Leaf* leaf, std::string_view s) {
    leaf->text_offset = static_cast<uint32_t>(out_->arena_.size());
    leaf->text_size = static_cast<uint32_t>(s.size());
    out_->arena_.append(s);
  }

  FlatEvent::Leaf& AddLeaf(ValueKind kind, uint32_t node) {
    FlatEvent::Leaf& leaf = out_->leaves_.emplace_back();
    leaf.kind = kind;
    leaf.node = node;
    leaf.path_offset = static_cast<uint32_t>(out_->arena_.size());
    leaf.path_size = static_cast<uint32_t>(path_.size());
    out_->arena_.append(path_);
    if (!stack_.empty()) {
      if (cached_version_ != stack_version_) {
        cached_offset_ = static_cast<uint32_t>(out_->positions_.size());
        out_->positions_.insert(out_->positions_.end(), stack_.begin(),
                                stack_.end());
        cached_version_ = stack_version_;
      }
      leaf.pos_offset = cached_offset_;
      leaf.pos_size = static_cast<uint32_t>(stack_.size());
    }
    return leaf;
  }

  const bool force_dom_;
  const bool trusted_;
  uint64_t dom_parse_count_ = 0;
  simdjson::dom::parser parser_;
  std::string buffer_;
  // Fast-path state: buffers for unescaped keys and strings, open containers.
  struct ScanFrame {
    uint32_t node;
    bool is_array;
    uint32_t array_id;  // arrays: the id, and the element being read
    uint32_t index;
    size_t path_size;  // objects: the object's own path length
  };
  std::vector<ScanFrame> frames_ = std::vector<ScanFrame>(kMaxScanDepth);
  uint32_t seen_ = 0;  // non-zero: some string may hold non-ASCII bytes
  // The text being scanned.
  const char* text_begin_ = nullptr;
  const char* text_end_ = nullptr;
  std::string key_scratch_;
  std::string string_scratch_;
  std::vector<FlatEvent::Leaf> sort_scratch_;  // Finish()'s merge buffer
  std::vector<uint32_t> rank_start_;           // CountingSortByRank's counts
  const PathFilter* filter_ = nullptr;
  FlatEvent* out_ = nullptr;
  std::string path_;
  std::vector<ArrayPos> stack_;
  uint32_t next_array_id_ = 0;
  uint32_t stack_version_ = 0;
  uint32_t cached_version_ = ~0u;
  uint32_t cached_offset_ = 0;
};

FlatEventParser::FlatEventParser() : FlatEventParser(Options()) {}
FlatEventParser::FlatEventParser(const Options& options)
    : impl_(std::make_unique<Impl>(options)) {}
FlatEventParser::~FlatEventParser() = default;

uint64_t FlatEventParser::DomParseCountForTesting() const {
  return impl_->dom_parse_count();
}

absl::Status FlatEventParser::Parse(std::string_view event_json,
                                    const PathFilter* filter, FlatEvent* out) {
  return impl_->Parse(event_json, filter, out);
}

absl::StatusOr<FlatEvent> FlatEvent::Parse(std::string_view event_json) {
  FlatEventParser parser;
  FlatEvent out;
  absl::Status s = parser.Parse(event_json, nullptr, &out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<FlatEvent> FlatEvent::Parse(std::string_view event_json,
                                           const PathFilter& filter) {
  FlatEventParser parser;
  FlatEvent out;
  absl::Status s = parser.Parse(event_json, &filter, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace evbus::pattern

#pragma GCC diagnostic pop
