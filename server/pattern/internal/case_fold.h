// File: server/pattern/internal/case_fold.h
//
// Simple Unicode case folding (CaseFolding.txt statuses C and S, Unicode 15)
// and small UTF-8 helpers used by the equals-ignore-case family of matchers.
// Simple folding maps one code point to one code point, so "ß" stays "ß"
// (never "ss"), final sigma folds to sigma and the Kelvin sign folds to "k".
//
// Thread safety: all functions are pure and thread-safe.
//
// Example:
//   FoldCase("ÄBC") == FoldCase("äbc")  // true
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace evbus::pattern::internal {

// Returns the simple case fold of code point `c` (or `c` itself).
char32_t SimpleFold(char32_t c);

// Decodes one UTF-8 sequence at s[*pos], advancing *pos. Invalid bytes decode
// as themselves (0x80..0xFF) and advance by one, so decoding never fails.
char32_t DecodeUtf8(std::string_view s, size_t* pos);

// Appends the simple case fold of UTF-8 text `s` to `out`. Bytes that are not
// valid UTF-8 are copied through unchanged.
void AppendFolded(std::string_view s, std::string* out);

// Returns the simple case fold of UTF-8 text `s`.
std::string FoldCase(std::string_view s);

// Number of UTF-16 code units in UTF-8 text `s` (Java's String.length()).
size_t Utf16Length(std::string_view s);

}  // namespace evbus::pattern::internal
