// evbus: the command-line client. Verbs mirror the aws CLI
// (`evbus put-events --entries ...`); see `evbus --help`.
//
// Exit codes: 0 success; 1 the service returned an error or could not be
// reached; 2 usage error (unknown verb or flag, bad argument).
#include <grpc/support/log.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/output.h"
#include "server/common/tls_files.h"
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
         "[--cli-read-timeout S] [--token-file FILE] [--tls] [--tls-ca FILE] "
         "[--tls-cert FILE --tls-key FILE] [--tls-server-name NAME] VERB "
         "[options]\n\n"
         "The endpoint defaults to $EVBUS_ENDPOINT, else 127.0.0.1:4010.\n"
         "The token file (the one evbusd was given with --grpc-token-file) "
         "defaults to $EVBUS_TOKEN_FILE; without one no token is sent.\n"
         "TLS (evbusd started with --grpc-tls-cert): --tls-ca FILE verifies "
         "evbusd's certificate with these CA certificates ($EVBUS_TLS_CA), "
         "--tls with the system's; --tls-cert and --tls-key present a client "
         "certificate ($EVBUS_TLS_CERT, $EVBUS_TLS_KEY; for "
         "--grpc-tls-client-ca); --tls-server-name NAME checks the "
         "certificate for NAME instead of the endpoint's host "
         "($EVBUS_TLS_SERVER_NAME).\n"
         "JSON-valued options take inline JSON or file://path.\n\n"
         "verbs:\n";
  for (const evbus::cli::Command& c : evbus::cli::Commands()) {
    out << "  " << c.name << " " << c.synopsis << "\n";
    PrintDetails(c.name, "      ", out);
  }
}

// A file-valued setting and where it came from (the option, or the
// environment variable), which errors about the file name.
struct FileSetting {
  std::string path;
  std::string origin;
  bool empty() const { return path.empty(); }
};

// The global options' values, from the environment and the command line.
struct GlobalOptions {
  std::string output = "json";
  FileSetting token_file;
  FileSetting tls_ca;
  FileSetting tls_cert;
  FileSetting tls_key;
  std::string tls_server_name;
  bool tls = false;
};

// Global options that take a value, before or after the verb.
constexpr const char* kValueOptions[] = {
    "--endpoint", "--output",   "--cli-read-timeout", "--token-file",
    "--tls-ca",   "--tls-cert", "--tls-key",          "--tls-server-name"};
// The one that takes none: TLS with the system's CA certificates.
constexpr const char* kTlsSwitch = "--tls";

// Sets global option `name` to `value`; false (after saying why) when the
// value is not one it takes.
bool SetGlobal(const std::string& name, const std::string& value,
               evbus::cli::Context& ctx, GlobalOptions& g) {
  if (name == "--endpoint") {
    ctx.endpoint = value;
  } else if (name == "--output") {
    if (value != "json" && value != "table") {
      std::cerr << "evbus: argument --output: invalid choice: '" << value
                << "' (choose from 'json', 'table')\n";
      return false;
    }
    g.output = value;
  } else if (name == "--cli-read-timeout") {
    ctx.timeout_seconds = std::atoi(value.c_str());
    if (ctx.timeout_seconds <= 0) ctx.timeout_seconds = 30;
  } else if (name == "--token-file") {
    g.token_file = {value, name};
  } else if (name == "--tls-ca") {
    g.tls_ca = {value, name};
  } else if (name == "--tls-cert") {
    g.tls_cert = {value, name};
  } else if (name == "--tls-key") {
    g.tls_key = {value, name};
  } else if (name == "--tls-server-name") {
    g.tls_server_name = value;
  }
  return true;
}

// Fills ctx's token and channel credentials from the global options; false
// (after saying why) when a file is missing or wrong.
bool LoadCredentials(const GlobalOptions& g, evbus::cli::Context& ctx) {
  if (!g.token_file.empty()) {
    absl::StatusOr<std::string> token =
        evbus::common::LoadTokenFile(g.token_file.path, g.token_file.origin);
    if (!token.ok()) {
      std::cerr << "evbus: " << token.status().message() << "\n";
      return false;
    }
    ctx.token = *std::move(token);
  }
  const bool tls = g.tls || !g.tls_ca.empty() || !g.tls_cert.empty() ||
                   !g.tls_key.empty() || !g.tls_server_name.empty();
  if (!tls) return true;
  evbus::cli::TlsClientFiles files;
  files.server_name = g.tls_server_name;
  if (!g.tls_ca.empty()) {
    absl::StatusOr<std::string> ca =
        evbus::common::LoadPemCertificates(g.tls_ca.path, g.tls_ca.origin);
    if (!ca.ok()) {
      std::cerr << "evbus: " << ca.status().message() << "\n";
      return false;
    }
    files.ca = *std::move(ca);
  }
  if (g.tls_cert.empty() != g.tls_key.empty()) {
    std::cerr << "evbus: "
              << (g.tls_cert.empty()
                      ? g.tls_key.origin +
                            " needs a certificate: --tls-cert FILE or "
                            "$EVBUS_TLS_CERT"
                      : g.tls_cert.origin +
                            " needs its key: --tls-key FILE or $EVBUS_TLS_KEY")
              << "\n";
    return false;
  }
  if (!g.tls_cert.empty()) {
    absl::StatusOr<evbus::common::TlsKeyPair> pair =
        evbus::common::LoadTlsKeyPair(g.tls_cert.path, g.tls_cert.origin,
                                      g.tls_key.path, g.tls_key.origin);
    if (!pair.ok()) {
      std::cerr << "evbus: " << pair.status().message() << "\n";
      return false;
    }
    files.cert_chain = std::move(pair->cert_chain);
    files.private_key = std::move(pair->private_key);
  }
  ctx.tls = std::move(files);
  return true;
}

// What to check when the endpoint could not be reached, by whether TLS was
// asked for (a plaintext client meets a TLS listener as a closed socket).
std::string ConnectHint(const evbus::cli::Context& ctx) {
  if (!ctx.tls.has_value()) {
    return " (if evbusd serves TLS, give --tls-ca FILE or $EVBUS_TLS_CA)";
  }
  return " (TLS: check that evbusd serves TLS, that --tls-ca holds the CA "
         "of its certificate, that the certificate names the endpoint's host "
         "or --tls-server-name, and --tls-cert/--tls-key if it asks for a "
         "client certificate)";
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's own log lines (a failed TLS handshake, say) repeat what the
  // error this prints says; GRPC_VERBOSITY brings them back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  std::vector<std::string> words(argv + 1, argv + argc);
  evbus::cli::Context ctx;
  const char* env = std::getenv("EVBUS_ENDPOINT");
  ctx.endpoint = env != nullptr && *env != '\0' ? env : "127.0.0.1:4010";
  GlobalOptions g;
  auto from_env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "");
  };
  g.token_file = {from_env("EVBUS_TOKEN_FILE"), "$EVBUS_TOKEN_FILE"};
  g.tls_ca = {from_env("EVBUS_TLS_CA"), "$EVBUS_TLS_CA"};
  g.tls_cert = {from_env("EVBUS_TLS_CERT"), "$EVBUS_TLS_CERT"};
  g.tls_key = {from_env("EVBUS_TLS_KEY"), "$EVBUS_TLS_KEY"};
  g.tls_server_name = from_env("EVBUS_TLS_SERVER_NAME");

  // The global option `word` names ("" when none): exactly, or as
  // name=value.
  auto global_name = [](const std::string& word) -> std::string {
    for (const char* name : kValueOptions) {
      if (IsOption(word, name)) return name;
    }
    return "";
  };
  // Reads global option `name` from words[*j] (and the next word when the
  // value is not after '='); false after an error.
  auto take = [&](const std::string& name, size_t* j) {
    const std::string& w = words[*j];
    std::string value;
    if (w.size() > name.size()) {
      value = w.substr(name.size() + 1);
    } else if (*j + 1 < words.size()) {
      value = words[++*j];
    } else {
      std::cerr << "evbus: argument " << name << ": expected one argument\n";
      return false;
    }
    return SetGlobal(name, value, ctx, g);
  };

  // Global options come before the verb.
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--help" || w == "-h" || w == "help") {
      PrintHelp(std::cout);
      return kExitOk;
    } else if (w == "--version") {
      std::cout << "evbus " << EVBUS_VERSION << "\n";
      return kExitOk;
    } else if (w == kTlsSwitch) {
      g.tls = true;
    } else if (const std::string name = global_name(w); !name.empty()) {
      if (!take(name, &i)) return kExitUsage;
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
  const evbus::cli::Command* command = nullptr;
  for (const evbus::cli::Command& c : evbus::cli::Commands()) {
    if (c.name == verb) command = &c;
  }
  // Global options may also follow the verb, as with the aws CLI, but not
  // where the verb's option before takes a value (`--description --tls`).
  std::vector<std::string> rest;
  bool value_next = false;
  bool help = false;  // --help where it is not an option's value
  for (size_t j = i + 1; j < words.size(); ++j) {
    const std::string& w = words[j];
    if (value_next) {
      rest.push_back(w);
      value_next = false;
    } else if (w == kTlsSwitch) {
      g.tls = true;
    } else if (const std::string name = global_name(w); !name.empty()) {
      if (!take(name, &j)) return kExitUsage;
    } else {
      rest.push_back(w);
      help = help || w == "--help";
      if (command != nullptr && w.size() > 2 && w.rfind("--", 0) == 0 &&
          w.find('=') == std::string::npos) {
        const std::string flag = w.substr(2);
        value_next = command->flags.count(flag) > 0 &&
                     command->switches.count(flag) == 0;
      }
    }
  }
  if (command == nullptr) {
    std::cerr << "evbus: invalid choice: '" << verb
              << "'; see 'evbus --help' for the verbs\n";
    return kExitUsage;
  }
  const evbus::cli::Command& c = *command;
  // `evbus VERB --help`, also after a sub-verb (`patterns check --help`).
  if ((!rest.empty() && rest[0] == "help") || help) {
    std::cout << "usage: evbus " << c.name << " " << c.synopsis << "\n";
    PrintDetails(c.name, "  ", std::cout);
    return kExitOk;
  }
  if (!c.offline && !LoadCredentials(g, ctx)) return kExitUsage;
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
              << result.status().message()
              << (result.status().code() == absl::StatusCode::kUnavailable &&
                          absl::StartsWith(result.status().message(),
                                           "Could not connect") &&
                          !absl::StrContains(result.status().message(),
                                             "DNS resolution failed")
                      ? ConnectHint(ctx)
                      : "")
              << "\n";
    return result.status().code() == absl::StatusCode::kAborted ||
                   result.status().code() == absl::StatusCode::kUnavailable
               ? kExitServiceError
               : kExitUsage;
  }
  evbus::cli::Render(*result, g.output, std::cout);
  return kExitOk;
}
