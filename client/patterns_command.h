// File: client/patterns_command.h
//
// Offline pattern tooling behind `evbus patterns check FILE.jsonl` and
// `evbus patterns lint FILE...`. Both run the server's pattern library
// in-process (no daemon needed), so their answers are exactly what PutRule and
// TestEventPattern would say.
//
// Thread safety: the functions are thread-safe (they share no state).
//
// Example:
//   std::ifstream in(path);
//   return RunPatternsCheck(in, std::cout, pattern::PatternLimits{});
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "server/pattern/pattern.h"

namespace evbus::cli {

// Reads JSON Lines from `in`; each line is
//   {"id": ..., "pattern": "<pattern JSON as a string>", "event": <event
//    object, or the event JSON as a string>}
// and writes one line per non-blank input line, in order:
//   {"id": <id as given>, "match": true|false}
//   {"id": ..., "error": "InvalidEventPatternException: <message>"}
//   {"id": ..., "error": "ValidationException: Parameter Event is not valid."}
//   {"id": ..., "error": "InvalidLine: <what>"}   (unparseable line)
// The event must be a JSON object with id, account, source, time, region and
// detail-type (as TestEventPattern requires). A bad line never aborts the run.
// Returns 0, or 1 when `in` fails before end of input.
int RunPatternsCheck(std::istream& in, std::ostream& out,
                     const pattern::PatternLimits& limits);

// Validates each file (one pattern JSON per file) with the default limits.
// Prints "FILE: OK" or "FILE: InvalidEventPatternException: <message>" to
// `out`, and "FILE: cannot read" to `err`. Returns 1 if any file is invalid or
// unreadable, else 0.
int RunPatternsLint(const std::vector<std::string>& files, std::ostream& out,
                    std::ostream& err);

}  // namespace evbus::cli
