// File: server/common/check.h
//
// EVBUS_CHECK(cond) aborts with a message when an invariant is broken. It is
// always on. It is for "impossible" states only; untrusted input and
// environmental failures are reported with absl::Status (STYLE.md rule 4).
#pragma once

#include <cstdio>
#include <cstdlib>

#define EVBUS_CHECK(cond)                                               \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "%s:%d: EVBUS_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                    \
      std::abort();                                                     \
    }                                                                   \
  } while (false)
