// evbus: the command-line client. Verbs mirror the aws CLI
// (`evbus put-events --entries ...`); see `evbus --help`.
//
// Exit codes: 0 success; 1 the service returned an error or could not be
// reached; 2 usage error (unknown verb or flag, bad argument).
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/output.h"
#include "server/common/token_file.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitServiceError = 1;
constexpr int kExitUsage = 2;

// The verb's longer help, each line after `indent`.
void PrintDetails(const std::string& verb, const std::string& indent,
                  std::ostream& out) {
  auto it = evbus::cli::VerbDetails().find(verb);
  if (it == evbus::cli::VerbDetails().end()) return;
  for (absl::string_view line : absl::StrSplit(it->second, '\n')) {
    out << indent << line << "\n";
  }
}

// Whether `word` is global option `name`, alone or as name=value.
bool IsOption(const std::string& word, const std::string& name) {
  return word == name || word.rfind(name + "=", 0) == 0;
}

void PrintHelp(std::ostream& out) {
  out << "usage: evbus [--endpoint HOST:PORT] [--output json|table] "
         "[--cli-read-timeout S] [--token-file FILE] VERB [options]\n\n"
         "The endpoint defaults to $EVBUS_ENDPOINT, else 127.0.0.1:4010.\n"
         "The token file (the one evbusd was given with --grpc-token-file) "
         "defaults to $EVBUS_TOKEN_FILE; without one no token is sent.\n"
         "JSON-valued options take inline JSON or file://path.\n\n"
         "verbs:\n";
  for (const evbus::cli::Command& c : evbus::cli::Commands()) {
    out << "  " << c.name << " " << c.synopsis << "\n";
    PrintDetails(c.name, "      ", out);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  evbus::cli::Context ctx;
  const char* env = std::getenv("EVBUS_ENDPOINT");
  ctx.endpoint = env != nullptr && *env != '\0' ? env : "127.0.0.1:4010";
  std::string output = "json";
  const char* token_env = std::getenv("EVBUS_TOKEN_FILE");
  std::string token_file = token_env != nullptr ? token_env : "";

  // Global options come before the verb.
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto value = [&](const std::string& name) -> std::string {
      if (w.size() > name.size() && w[name.size()] == '=') {
        return w.substr(name.size() + 1);
      }
      if (i + 1 >= words.size()) {
        std::cerr << "evbus: argument " << name << ": expected one argument\n";
        std::exit(kExitUsage);
      }
      return words[++i];
    };
    if (w == "--help" || w == "-h" || w == "help") {
      PrintHelp(std::cout);
      return kExitOk;
    } else if (w == "--version") {
      std::cout << "evbus " << EVBUS_VERSION << "\n";
      return kExitOk;
    } else if (IsOption(w, "--endpoint")) {
      ctx.endpoint = value("--endpoint");
    } else if (IsOption(w, "--output")) {
      output = value("--output");
      if (output != "json" && output != "table") {
        std::cerr << "evbus: argument --output: invalid choice: '" << output
                  << "' (choose from 'json', 'table')\n";
        return kExitUsage;
      }
    } else if (IsOption(w, "--cli-read-timeout")) {
      ctx.timeout_seconds = std::atoi(value("--cli-read-timeout").c_str());
      if (ctx.timeout_seconds <= 0) ctx.timeout_seconds = 30;
    } else if (IsOption(w, "--token-file")) {
      token_file = value("--token-file");
    } else if (w.rfind("--", 0) == 0) {
      std::cerr << "evbus: unknown option " << w << "\n";
      return kExitUsage;
    } else {
      break;
    }
  }
  if (i >= words.size()) {
    PrintHelp(std::cerr);
    return kExitUsage;
  }
  std::string verb = words[i];
  // Global options may also follow the verb, as with the aws CLI.
  std::vector<std::string> rest;
  for (size_t j = i + 1; j < words.size(); ++j) {
    const std::string& w = words[j];
    std::string* target = nullptr;
    std::string name;
    for (const char* global :
         {"--endpoint", "--output", "--cli-read-timeout", "--token-file"}) {
      if (w == global || w.rfind(std::string(global) + "=", 0) == 0) {
        name = global;
      }
    }
    if (name.empty()) {
      rest.push_back(w);
      continue;
    }
    std::string value;
    if (w.size() > name.size()) {
      value = w.substr(name.size() + 1);
    } else if (j + 1 < words.size()) {
      value = words[++j];
    } else {
      std::cerr << "evbus: argument " << name << ": expected one argument\n";
      return kExitUsage;
    }
    if (name == "--endpoint") {
      ctx.endpoint = value;
    } else if (name == "--token-file") {
      token_file = value;
    } else if (name == "--output") {
      target = &output;
      *target = value;
      if (output != "json" && output != "table") {
        std::cerr << "evbus: argument --output: invalid choice: '" << output
                  << "' (choose from 'json', 'table')\n";
        return kExitUsage;
      }
    } else {
      ctx.timeout_seconds = std::atoi(value.c_str());
      if (ctx.timeout_seconds <= 0) ctx.timeout_seconds = 30;
    }
  }
  for (const evbus::cli::Command& c : evbus::cli::Commands()) {
    if (c.name != verb) continue;
    // `evbus VERB --help`, also after a sub-verb (`patterns check --help`).
    if ((!rest.empty() && rest[0] == "help") ||
        std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
      std::cout << "usage: evbus " << c.name << " " << c.synopsis << "\n";
      PrintDetails(c.name, "  ", std::cout);
      return kExitOk;
    }
    if (!token_file.empty()) {
      absl::StatusOr<std::string> token =
          evbus::common::LoadTokenFile(token_file, "--token-file");
      if (!token.ok()) {
        std::cerr << "evbus: " << token.status().message() << "\n";
        return kExitUsage;
      }
      ctx.token = *std::move(token);
    }
    absl::StatusOr<evbus::cli::Args> args =
        evbus::cli::Args::Parse(rest, c.switches);
    if (!args.ok()) {
      std::cerr << "evbus " << verb << ": " << args.status().message() << "\n";
      return kExitUsage;
    }
    absl::Status known = args->CheckKnown(c.flags);
    if (!known.ok()) {
      std::cerr << "evbus " << verb << ": " << known.message() << "\n";
      return kExitUsage;
    }
    absl::StatusOr<evbus::common::Json> result = absl::InternalError("not run");
    // The verbs validate JSON members themselves; this is the last guard so
    // that bad input is an error, never a crash.
    try {
      result = c.run(*args, ctx);
    } catch (const std::exception& e) {
      result = absl::InvalidArgumentError(
          absl::StrCat("invalid option value: ", e.what()));
    }
    if (!result.ok() && result.status().message().empty()) {
      return kExitServiceError;  // the verb already printed why
    }
    if (!result.ok()) {
      std::cerr << (result.status().code() == absl::StatusCode::kAborted ||
                            result.status().code() ==
                                absl::StatusCode::kUnavailable
                        ? ""
                        : absl::StrCat("evbus ", verb, ": "))
                << result.status().message() << "\n";
      return result.status().code() == absl::StatusCode::kAborted ||
                     result.status().code() == absl::StatusCode::kUnavailable
                 ? kExitServiceError
                 : kExitUsage;
    }
    evbus::cli::Render(*result, output, std::cout);
    return kExitOk;
  }
  std::cerr << "evbus: invalid choice: '" << verb
            << "'; see 'evbus --help' for the verbs\n";
  return kExitUsage;
}
