// File: server/pattern/literal_prefilter.h
//
// LiteralPrefilter: a quick, conservative "no rule can match this event"
// test on an event's raw JSON text, run before the event is flattened.
//
// Most rules pin some field to a few literal strings (`"source":
// ["aws.ec2"]`, `[{"prefix": "eu-"}]`). In JSON text without escapes, a
// string value v is written as `"v"`, so an event can only satisfy such a
// field if the text holds `"v"` (exact), `"p` (prefix) or `s"` (suffix)
// somewhere. The prefilter numbers these literals, finds which occur in one
// pass over the text's quote characters, and answers false only when every
// sub-rule has a field none of whose literals occurs. It never says false
// for an event some rule matches; it may say true for one no rule matches.
//
// It is active only when that can pay: at most 64 literals and 64
// sub-rules, and every sub-rule has at least one such field. A field counts
// only if all its matchers are case-sensitive exact strings (not IP
// literals), prefixes or suffixes, none empty, and it has no `exists:
// false` alternative.
//
// REQUIRES of the text: valid JSON (the prefilter does not validate, so it is
// for envelopes evbusd built or validated itself). Text holding a backslash
// (an escape could spell a literal differently) always passes. Without
// backslashes, quotes in valid JSON alternate between opening and closing a
// string, so opening literals are looked for at even quotes only and
// closing ones at odd quotes.
//
// Scanning: where the CPU has AVX2 (checked once, at Build), 32 bytes at a
// time with a fingerprint filter in the manner of Hyperscan's "Teddy": each
// literal's three bytes next to its quote are spread over eight buckets, and
// per block two nibble-table lookups per byte distance (PSHUFB) leave only
// the quotes whose neighbours fit some bucket. Most quotes of an event fit
// none, so the exact per-quote check runs on a few instead of on every
// quote. Elsewhere, 16 bytes at a time (SSE2) with that check at every quote
// of the kinds the literals use. Both give the same answers.
//
// Thread safety: immutable after Build() (and set_wide_scan, which tests
// call before sharing); safe to share.
//
// Example:
//   LiteralPrefilter f = LiteralPrefilter::Build(subrules);
//   if (f.MayMatch(envelope)) { /* flatten and match */ }
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/pattern/internal/compiled.h"

namespace evbus::pattern {

class LiteralPrefilter {
 public:
  static constexpr size_t kMaxLiterals = 64;
  static constexpr size_t kMaxSubRules = 64;

  LiteralPrefilter() = default;  // inactive: every event may match
  static LiteralPrefilter Build(
      std::span<const internal::SubRule* const> subrules);

  bool active() const { return active_; }
  size_t literal_count() const { return literals_.size(); }

  // False only when no sub-rule can match `json` (see the file comment).
  bool MayMatch(std::string_view json) const;

  // Whether MayMatch uses the AVX2 fingerprint scan (Build turns it on when
  // the CPU has AVX2). Turning it on without AVX2 is ignored. For tests and
  // benchmarks: the answers do not change. Not while the prefilter is shared.
  void set_wide_scan(bool on);
  bool wide_scan() const { return wide_scan_; }

 private:
  // A literal's fingerprint: the bytes at distances 1..kFingerprint from
  // its quote (-1: any, past its end).
  static constexpr size_t kFingerprint = 3;
  using Fingerprint = std::array<int, kFingerprint>;
  struct Literal {
    std::string text;   // with its quote: `"v"`, `"p` or `s"`
    bool opens = true;  // starts at a quote (exact, prefix), else ends there
    // The first (opening) or last (closing) min(8, size) bytes of `text`,
    // little-endian, and the mask of those bytes in an 8-byte load.
    uint64_t edge = 0;
    uint64_t edge_mask = 0;
  };
  // Whether literal `l` occurs at the quote at `q` of `text` (n bytes).
  static bool OccursAt(const Literal& l, const char* text, size_t n, size_t q);
  // Checks the literals of one kind (opening or closing) at the quote at
  // `q`, adding those that occur to *found; true once some sub-rule passes.
  bool AtQuote(const char* text, size_t n, size_t q, bool opening,
               uint64_t* found) const;
  // Scans text[*pos, n) in blocks while a whole block and its neighbours
  // fit, from the quote state *opening (whether the next quote opens a
  // string); true once some sub-rule passes or at a backslash, else
  // advances *pos and *opening to where it stopped. ScanWide reads the
  // kFingerprint bytes before each block: REQUIRES *pos >= kFingerprint.
  bool ScanWide(const char* text, size_t n, size_t* pos, bool* opening,
                uint64_t* found) const;
  bool ScanNarrow(const char* text, size_t n, size_t* pos, bool* opening,
                  uint64_t* found) const;
  // Literal ids by the byte next to their quote (after it for opening
  // literals, before it for closing ones), as bit masks.
  std::array<uint64_t, 256> opening_by_byte_{};
  std::array<uint64_t, 256> closing_by_byte_{};
  // Bit b1 | b2 << 8 set: some opening literal continues the quote with
  // bytes b1 b2 (any b2 for a one-byte continuation); closing literals
  // likewise with the two bytes before the quote. Most quotes are turned
  // away by one bit test (8 KiB each, in L1).
  std::vector<uint64_t> opening_pairs_;
  std::vector<uint64_t> closing_pairs_;
  // The wide scan's fingerprint buckets, as nibble tables: byte c at
  // distance d + 1 from a quote (after it for opening literals, before it
  // for closing ones) fits buckets low[d][c & 15] & high[d][c >> 4].
  struct NibbleTables {
    std::array<std::array<uint8_t, 16>, kFingerprint> low{};
    std::array<std::array<uint8_t, 16>, kFingerprint> high{};
  };
  NibbleTables opening_buckets_;
  NibbleTables closing_buckets_;
  bool wide_scan_ = false;
  std::vector<Literal> literals_;
  // Per sub-rule, one mask per prefiltered field: the sub-rule may match
  // only if every one of its masks meets the literals found.
  std::vector<std::vector<uint64_t>> subrule_fields_;
  bool active_ = false;
  bool has_opening_ = false;  // some literal opens at a quote
  bool has_closing_ = false;  // some literal closes at a quote
};

}  // namespace evbus::pattern
