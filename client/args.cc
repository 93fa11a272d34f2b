#include "client/args.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace evbus::cli {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                                 const std::set<std::string>& switches) {
  Args args;
  std::string last_flag;  // the flag whose value came last
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!absl::StartsWith(a, "--") || a == "--") {
      args.positional_.push_back(a);
      args.positional_after_.push_back(last_flag);
      continue;
    }
    std::string name = a.substr(2);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      last_flag = name.substr(0, eq);
      args.flags_[last_flag] = name.substr(eq + 1);
      continue;
    }
    if (switches.count(name) > 0) {
      args.flags_[name] = "true";
      last_flag.clear();
      continue;
    }
    last_flag = name;
    if (i + 1 >= argv.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument --", name, ": expected one argument"));
    }
    args.flags_[name] = argv[++i];
  }
  return args;
}

std::vector<std::string> Args::WordsAfter(const std::string& flag) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < positional_.size(); ++i) {
    if (positional_after_[i] == flag) out.push_back(positional_[i]);
  }
  return out;
}

std::optional<std::string> Args::Get(const std::string& flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

absl::Status Args::CheckKnown(const std::set<std::string>& known) const {
  std::vector<std::string> unknown;
  for (const auto& [name, value] : flags_) {
    if (known.count(name) == 0) unknown.push_back("--" + name);
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("Unknown options: ", absl::StrJoin(unknown, ", ")));
}

absl::StatusOr<std::string> Args::Required(const std::string& flag) const {
  std::optional<std::string> v = Get(flag);
  if (!v.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the following arguments are required: --", flag));
  }
  return *v;
}

absl::StatusOr<std::string> ReadValue(const std::string& value) {
  if (!absl::StartsWith(value, "file://")) return value;
  std::string path = value.substr(7);
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("Error parsing parameter: Unable to load paramfile ",
                     value, ": cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace evbus::cli
