// File: server/config/daemon_config.h
//
// DaemonConfig: everything evbusd is configured with, from an optional JSON
// file (--config) and then command-line flags (which win). Validate() names
// the offending field. Pure; thread-compatible.
//
// Config file example (every key optional; see deploy/evbusd.json):
//   {"data_dir": "/var/lib/evbus", "grpc_listen": "127.0.0.1:4010",
//    "http_listen": "127.0.0.1:4011", "account": "000000000000",
//    "region": "us-east-1", "event_retention_seconds": 86400,
//    "max_request_bytes": 262144, "allow_reserved_sources": false,
//    "log_level": "info"}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace evbus::config {

struct DaemonConfig {
  // RocksDB directory. Default: "./data".
  std::string data_dir = "./data";
  // gRPC listener HOST:PORT; port 0 picks a free port.
  // Default: "127.0.0.1:4010".
  std::string grpc_listen = "127.0.0.1:4010";
  // HTTP listener (health, metrics, later the AWS endpoint).
  // Default: "127.0.0.1:4011".
  std::string http_listen = "127.0.0.1:4011";
  // Stack file applied at start (issue 9). Default: none.
  std::string stack_file;
  // Written atomically with {"grpc":..., "http":..., "pid":...} once serving.
  // Default: none.
  std::string ready_file;
  // Account and region in envelopes and ARNs.
  // Default: "000000000000" and "us-east-1".
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // Event log retention in seconds; 0 disables the event log.
  // Default: 86400.
  int64_t event_retention_seconds = 86400;
  // PutEvents total entry size limit (exclusive). Default: 262144.
  int64_t max_request_bytes = 262144;
  // Accept "aws." sources in PutEvents. Default: false.
  bool allow_reserved_sources = false;
  // Once serving, release the read-only file-backed pages start-up touched
  // (common/file_pages.h). Default: true.
  bool release_startup_pages = true;
  // debug, info, warning, error. Default: info.
  std::string log_level = "info";
  // "real", or "manual": time moves only through `evbus clock set|advance`
  // (tests and demos). Default: real.
  std::string clock = "real";
  // With clock "manual": the time it starts at (RFC 3339). Default: now.
  std::string clock_start;
  // Ticks missed while evbusd was down: none, latest (the most recent one
  // per schedule) or all (up to 1,000 per schedule). Default: latest.
  std::string missed_ticks = "latest";
  // What opening the store does with a write-ahead log damaged before its
  // end: "strict" refuses to start (only an incomplete last record, a write
  // that was never acknowledged, is dropped); "point-in-time" starts with
  // what precedes the damage and drops the rest. Default: strict.
  std::string wal_recovery = "strict";
  // Free space (MB) the data directory's file system must keep: below it
  // evbusd refuses to start, or latches the store (/readyz 503, writes
  // refused) before the disk fills. 0 turns the check off. Default 256.
  int64_t min_free_disk_mb = 256;
  // The HTTP listener (AWS endpoint, webhooks' confirmation links, /metrics,
  // /healthz): connections served at once, each on its own thread (beyond
  // it new ones wait), 1..65,536, default 256; how long an open connection
  // may stay idle, 1..3,600 s, default 5; how long each read of a request
  // may take, 1..3,600 s, default 5; how long a connection may go without a
  // complete request head, 0..3,600 s (0: no limit), default 20.
  int64_t http_max_connections = 256;
  int64_t http_keep_alive_seconds = 5;
  int64_t http_read_timeout_seconds = 5;
  int64_t http_header_timeout_seconds = 20;
  // Functions run as this user when evbusd runs as root ("" with root:
  // "nobody"; "root" keeps root). Ignored when not root.
  std::string function_user;
  // When root: each function runs as a uid of its own from this range
  // ("FIRST-LAST"; evbusd takes a free block of 1000 of it,
  // functions::FunctionUidBlock), instead of `function_user`; "none" turns
  // it off. The default lies between systemd's dynamic users (61184-65519)
  // and the subordinate ids useradd hands out (from 100000), outside
  // adduser's ranges and systemd's container uids (from 524288).
  std::string function_uids = "70000-99999";
  // Idle execution environments are stopped after this long. Default 300.
  int64_t function_idle_seconds = 300;
  // After a failed init, a function's cold starts back off from this many
  // milliseconds, doubling up to 10 s (0: never; every invocation starts an
  // environment, as Lambda does). Default 100.
  int64_t function_init_backoff_ms = 100;
  // Environments busy at once, all functions together. Default 64.
  int64_t max_function_concurrency = 64;
  // Rules per event bus: EventBridge's default quota, which AWS raises on
  // request. Default 300.
  int64_t max_rules_per_bus = 300;
  // How many nice steps (0..19) below the rest of evbusd the webhook I/O
  // thread (webhook and API destination deliveries) runs: when ingest and
  // delivery both want the CPU, ingest wins and the durable queue absorbs
  // the difference. 0: the same priority. Default 10.
  int64_t delivery_nice = 10;
  // Interpreters of the python3 and nodejs runtimes.
  std::string python = "/usr/bin/python3";
  // SMTP relay of email notifications: smtp[s]://[user:pass@]host[:port]
  // [?starttls=off|try|require]. Empty: email deliveries fail (dead letter).
  std::string smtp_url;
  // email, email-json and http(s) topic subscriptions must be confirmed
  // (SNS's flow). Default: false (confirmed at once, on-prem).
  bool sns_confirm_subscriptions = false;
  // From address of email notifications.
  std::string smtp_from = "no-reply@evbus.localhost";
  // AWS credentials file (INI, aws_access_key_id / aws_secret_access_key):
  // when set, the AWS endpoint verifies SigV4 signatures. Empty: any
  // signature is accepted (test-double mode).
  std::string aws_credentials;
  // File holding the gRPC listener's token (api::LoadGrpcToken): when set,
  // every gRPC call must carry "authorization: Bearer <token>". Empty:
  // every caller is accepted.
  std::string grpc_token_file;
  // PEM certificate chain and private key of the gRPC listener: when set
  // (both or neither), it serves TLS only. Empty: plaintext.
  std::string grpc_tls_cert;
  std::string grpc_tls_key;
  // PEM CA certificates: when set, every gRPC client must present a
  // certificate they signed (mutual TLS). Needs grpc_tls_cert.
  std::string grpc_tls_client_ca;
  // PEM certificate chain and private key of the HTTP listener (AWS
  // endpoint, metrics, health): when set (both or neither), it serves HTTPS
  // only. Empty: plain HTTP.
  std::string http_tls_cert;
  std::string http_tls_key;
  // Days the metric store keeps per-minute aggregates. Default 15.
  int64_t metric_retention_days = 15;
  std::string node = "/usr/bin/node";
};

// Reads a JSON config file over `base`. InvalidArgument naming the file and
// field for unknown keys, wrong types or malformed JSON; NotFound when the
// file cannot be read.
absl::StatusOr<DaemonConfig> LoadConfigFile(const std::string& path,
                                            DaemonConfig base);

// Checks ranges and formats; InvalidArgument naming the field.
absl::Status Validate(const DaemonConfig& config);

// The range of `function_uids` ("FIRST-LAST": 1 <= FIRST <= LAST <
// 4294967295), or nullopt for "none". InvalidArgument naming the field.
absl::StatusOr<std::optional<std::pair<uint32_t, uint32_t>>> ParseUidRange(
    const std::string& text);

// Splits "HOST:PORT" ("[::1]:80" for IPv6). InvalidArgument naming `field`.
absl::Status SplitHostPort(const std::string& address, const std::string& field,
                           std::string* host, int* port);

}  // namespace evbus::config
