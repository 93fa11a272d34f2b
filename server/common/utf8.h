// File: server/common/utf8.h
//
// UTF-8 helpers shared by the JSON fast paths and the pattern library.
// Pure; thread-safe.
#pragma once

#include <string>

namespace evbus::common {

// Appends code point `cp` (<= U+10FFFF, not a surrogate) as UTF-8.
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace evbus::common
