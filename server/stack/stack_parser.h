// File: server/stack/stack_parser.h
//
// Reads a stack file (YAML, docs/stack-reference.md) — or a SAM /
// CloudFormation template, converted first (sam_template.h) — into a
// StackSpec. Everything is validated before anything is applied; errors
// are InvalidArgument "<file>:<line>: <field path>: <problem>". Function
// code directories are read relative to the file.
//
// Thread safety: thread-safe (no shared state).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/stack/stack_spec.h"

namespace evbus::stack {

struct ParseOptions {
  // SAM/CloudFormation: resource types evbus cannot run are errors instead
  // of being skipped.
  bool strict = false;
};

absl::StatusOr<StackSpec> ParseStackFile(const std::string& path,
                                         const ParseOptions& options = {});
// `text` as if read from `path` (code directories relative to its folder).
absl::StatusOr<StackSpec> ParseStackText(const std::string& text,
                                         const std::string& path,
                                         const ParseOptions& options = {});

}  // namespace evbus::stack
