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
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!absl::StartsWith(a, "--") || a == "--") {
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      args.flags_[name.substr(0, eq)] = name.substr(eq + 1);
      continue;
    }
    if (switches.count(name) > 0) {
      args.flags_[name] = "true";
      continue;
    }
    if (i + 1 >= argv.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument --", name, ": expected one argument"));
    }
    args.flags_[name] = argv[++i];
  }
  return args;
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
