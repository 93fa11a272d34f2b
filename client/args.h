// File: client/args.h
//
// Command-line arguments of the evbus CLI, aws-CLI style:
//   evbus [--endpoint HOST:PORT] [--output json|table] VERB [--flag value]...
// Values of JSON-typed flags are inline JSON or file://path.
// Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace evbus::cli {

class Args {
 public:
  // Parses `argv` after the verb. Flags are `--name value` or `--name=value`;
  // flags listed in `switches` take no value. Positional words are kept in
  // order. InvalidArgument for a flag without its value.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::set<std::string>& switches);

  std::optional<std::string> Get(const std::string& flag) const;
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }
  // The positional words that came right after `flag`'s value (before the
  // next flag): the further items of a list flag given aws-CLI style,
  // `--extended-statistics p99 p50`.
  std::vector<std::string> WordsAfter(const std::string& flag) const;

  // InvalidArgument("Unknown options: --x") when a flag outside `known` was
  // given.
  absl::Status CheckKnown(const std::set<std::string>& known) const;
  // InvalidArgument("the following arguments are required: --x").
  absl::StatusOr<std::string> Required(const std::string& flag) const;

 private:
  std::map<std::string, std::string> flags_;
  std::vector<std::string> positional_;
  // By position in positional_: the flag the word followed ("" for none).
  std::vector<std::string> positional_after_;
};

// Reads a value that may be "file://path". NotFound when the file is missing.
absl::StatusOr<std::string> ReadValue(const std::string& value);

}  // namespace evbus::cli
