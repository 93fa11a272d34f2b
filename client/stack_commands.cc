#include "client/stack_commands.h"

#include "absl/strings/str_cat.h"
#include "server/stack/stack_apply.h"
#include "server/stack/stack_parser.h"

namespace evbus::cli {
namespace {

using common::Json;

absl::StatusOr<Json> Apply(const Args& args, Context& ctx) {
  std::string file = args.Get("file").value_or("");
  const std::vector<std::string>& pos = args.positional();
  if (file.empty()) {
    if (pos.size() == 2 && pos[0] == "-f") {
      file = pos[1];
    } else if (pos.size() == 1) {
      file = pos[0];
    }
  }
  if (file.empty()) {
    return absl::InvalidArgumentError(
        "usage: evbus apply -f FILE [--dry-run] [--strict] [--prune]");
  }
  stack::ParseOptions options;
  options.strict = args.Has("strict");
  absl::StatusOr<stack::StackSpec> spec = stack::ParseStackFile(file, options);
  if (!spec.ok()) {
    // Validation errors are usage-level problems with the file: exit 1 like
    // a service error, with the file:line: field: message text.
    return absl::AbortedError(spec.status().message());
  }
  absl::StatusOr<std::vector<stack::PlanItem>> plan = stack::ApplyStack(
      *spec, ctx.Channel(), args.Has("dry-run"), args.Has("prune"), ctx.token);
  if (!plan.ok()) {
    if (plan.status().code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError(
          absl::StrCat("Could not connect to the endpoint ", ctx.endpoint, ": ",
                       plan.status().message()));
    }
    const bool unauthenticated =
        plan.status().code() == absl::StatusCode::kUnauthenticated;
    return absl::AbortedError(
        absl::StrCat("An error occurred while ",
                     args.Has("dry-run") ? "planning " : "applying ", file,
                     ": ", plan.status().message(),
                     unauthenticated ? " (evbusd needs its token: --token-file "
                                       "FILE or $EVBUS_TOKEN_FILE)"
                                     : ""));
  }
  Json items = Json::array();
  for (const stack::PlanItem& p : *plan) {
    items.push_back(
        Json{{"Kind", p.kind}, {"Name", p.name}, {"Action", p.action}});
  }
  return Json{
      {"Stack", spec->name}, {"DryRun", args.Has("dry-run")}, {"Plan", items}};
}

}  // namespace

std::vector<Command> StackCommands() {
  return {
      {"apply",
       "-f FILE [--dry-run] [--strict] [--prune]   create or update what a "
       "stack file or SAM template declares (--prune: delete what it no "
       "longer declares)",
       {"file", "dry-run", "strict", "prune"},
       {"dry-run", "strict", "prune"},
       Apply},
  };
}

}  // namespace evbus::cli
