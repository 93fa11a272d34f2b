// File: client/commands.h
//
// The verbs of the evbus CLI, named like the aws CLI's. Each verb turns its
// flags into one or more gRPC calls and returns the JSON to print, with the
// AWS API's field names.
//
// Error convention (main.cc maps it to exit codes):
//   kAborted     — the service answered with an error (exit 1); the message
//                  reads like the aws CLI's: "An error occurred (Code) when
//                  calling the Op operation: message";
//   kUnavailable — the endpoint could not be reached (exit 1);
//   anything else — a usage error (exit 2).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/args.h"
#include "server/common/json.h"

namespace grpc {
class Channel;
}

namespace evbus::cli {

// What the CLI connects to evbusd's TLS listener with (PEM text, read and
// checked by common::LoadPemCertificates / LoadTlsKeyPair).
struct TlsClientFiles {
  std::string ca;           // empty: the system's CA certificates
  std::string cert_chain;   // client certificate (mutual TLS), or empty
  std::string private_key;  // its key
  std::string server_name;  // checked instead of the endpoint's host
};

struct Context {
  std::string endpoint;                    // HOST:PORT
  std::shared_ptr<grpc::Channel> channel;  // created lazily by Channel()
  int timeout_seconds = 30;
  // Sent as "authorization: Bearer <token>" when not empty (evbusd started
  // with --grpc-token-file).
  std::string token;
  // Set: connect with TLS (--tls, --tls-ca, ...). Unset: plaintext.
  std::optional<TlsClientFiles> tls;
  std::shared_ptr<grpc::Channel> Channel();
};

struct Command {
  std::string name;
  std::string synopsis;  // one line for --help
  std::set<std::string> flags;
  std::set<std::string> switches;
  // Returns the JSON to print, or null JSON to print nothing.
  std::function<absl::StatusOr<common::Json>(const Args&, Context&)> run;
  // Never contacts evbusd: runs without reading the token or TLS files.
  bool offline = false;
};

// Every verb, in help order.
const std::vector<Command>& Commands();

// More help for some verbs, by name: lines printed under the synopsis by
// `evbus --help` and `evbus VERB --help`.
const std::map<std::string, std::string>& VerbDetails();

}  // namespace evbus::cli
