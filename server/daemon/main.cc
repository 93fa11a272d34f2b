// evbusd: the evbus daemon. Flags are parsed here and nowhere else; the rest
// happens in daemon::Run.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/synchronization/mutex.h"
#include "server/config/daemon_config.h"
#include "server/daemon/daemon.h"

ABSL_FLAG(std::string, config, "", "JSON config file; flags override it");
ABSL_FLAG(std::string, data_dir, "./data", "RocksDB data directory");
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:4010",
          "gRPC listener HOST:PORT (port 0 picks a free port)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:4011",
          "HTTP listener HOST:PORT for /healthz, /readyz, /metrics");
ABSL_FLAG(std::string, stack, "", "stack file to apply at start");
ABSL_FLAG(std::string, ready_file, "",
          "write {\"grpc\",\"http\",\"pid\",\"grpc_tls\",\"http_url\"} "
          "JSON here once serving");
ABSL_FLAG(std::string, account, "000000000000", "account id in events/ARNs");
ABSL_FLAG(std::string, region, "us-east-1", "region in events/ARNs");
ABSL_FLAG(int64_t, event_retention, 86400,
          "seconds accepted events stay in the event log; 0 disables it");
ABSL_FLAG(int64_t, max_request_bytes, 262144,
          "PutEvents total entry size limit (1048576 for the 1 MB limit)");
ABSL_FLAG(bool, allow_reserved_sources, false,
          "accept PutEvents sources that start with \"aws.\"");
ABSL_FLAG(bool, release_startup_pages, true,
          "once serving, release the read-only file pages start-up touched "
          "(program text; they fault back in when used)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, clock, "real",
          "real, or manual: time moves only through `evbus clock`");
ABSL_FLAG(std::string, clock_start, "",
          "with --clock manual: the time it starts at (RFC 3339; default "
          "now); a restart resumes from the time the clock had reached when "
          "that is later");
ABSL_FLAG(std::string, missed_ticks, "latest",
          "schedule ticks missed while down: none, latest or all");
ABSL_FLAG(std::string, wal_recovery, "strict",
          "a write-ahead log damaged before its end: strict refuses to "
          "start; point-in-time starts with what precedes the damage and "
          "drops the rest");
ABSL_FLAG(std::string, function_user, "",
          "when root and --function-uids is none: run functions as this "
          "user (default nobody; root keeps root)");
ABSL_FLAG(std::string, function_uids, "70000-99999",
          "when root: run each function as a uid of its own from FIRST-LAST "
          "(its code, files and Runtime API its own); none: all as "
          "--function-user");
ABSL_FLAG(int64_t, min_free_disk_mb, 256,
          "free space (MB) the data directory's file system must keep: below "
          "it evbusd refuses to start, or stops taking writes (/readyz 503) "
          "before the disk fills; 0: off");
ABSL_FLAG(int64_t, http_max_connections, 256,
          "HTTP connections served at once, each on its own thread; beyond "
          "it new connections wait for one to close (1-65536)");
ABSL_FLAG(int64_t, http_keep_alive_seconds, 5,
          "close an HTTP connection idle this long (1-3600)");
ABSL_FLAG(int64_t, http_read_timeout_seconds, 5,
          "time allowed for each read of an HTTP request (1-3600)");
ABSL_FLAG(int64_t, http_header_timeout_seconds, 20,
          "close an HTTP connection that sends no complete request head "
          "(line and headers) for this long, however slowly its bytes come: "
          "its first request, or the next after a keep-alive answer (0: "
          "never; 0-3600)");
ABSL_FLAG(int64_t, function_idle_seconds, 300,
          "stop execution environments idle for this long");
ABSL_FLAG(int64_t, function_init_backoff_ms, 100,
          "after a failed init, back off a function's cold starts from this "
          "many ms, doubling to 10 s (0: start one per invocation)");
ABSL_FLAG(int64_t, delivery_nice, 10,
          "nice steps (0-19) below the rest of evbusd for the webhook I/O "
          "thread: when ingest and delivery both want the CPU, ingest wins "
          "(0: same priority)");
ABSL_FLAG(int64_t, max_function_concurrency, 64,
          "execution environments busy at once, all functions together");
ABSL_FLAG(int64_t, max_rules_per_bus, 300,
          "rules per event bus (EventBridge's default quota)");
ABSL_FLAG(std::string, aws_credentials, "",
          "AWS credentials file; when set, the AWS endpoint verifies SigV4 "
          "signatures (default: accept any)");
ABSL_FLAG(std::string, grpc_token_file, "",
          "file holding a token (16-512 printable characters); when set, "
          "every gRPC call must carry 'authorization: Bearer <token>' "
          "(default: accept any caller)");
ABSL_FLAG(std::string, grpc_tls_cert, "",
          "PEM certificate chain of the gRPC listener; with --grpc-tls-key, "
          "it serves TLS only (default: plaintext). Renewed files are "
          "served without a restart (looked at each second and on SIGHUP)");
ABSL_FLAG(std::string, grpc_tls_key, "",
          "PEM private key of --grpc-tls-cert (unencrypted; keep it 0600)");
ABSL_FLAG(std::string, grpc_tls_client_ca, "",
          "PEM CA certificates; when set, gRPC clients must present a "
          "certificate they signed (mutual TLS)");
ABSL_FLAG(std::string, http_tls_cert, "",
          "PEM certificate chain of the HTTP listener (AWS endpoint, "
          "metrics, health); with --http-tls-key, it serves HTTPS only "
          "(default: plain HTTP). Renewed files are served without a "
          "restart (looked at each second and on SIGHUP)");
ABSL_FLAG(std::string, http_tls_key, "",
          "PEM private key of --http-tls-cert (unencrypted; keep it 0600)");
ABSL_FLAG(bool, sns_confirm_subscriptions, false,
          "topic subscriptions (email, email-json, http, https) must be "
          "confirmed by their endpoint, as on SNS");
ABSL_FLAG(std::string, smtp_url, "",
          "SMTP relay for email notifications: smtp[s]://[user:pass@]host"
          "[:port][?starttls=off|try|require]");
ABSL_FLAG(std::string, smtp_from, "no-reply@evbus.localhost",
          "From address of email notifications");
ABSL_FLAG(int64_t, metric_retention_days, 15,
          "days the metric store keeps per-minute aggregates");
ABSL_FLAG(std::string, python, "/usr/bin/python3",
          "interpreter of the python3 runtime");
ABSL_FLAG(std::string, node, "/usr/bin/node",
          "interpreter of the nodejs runtime");

namespace {

bool IsSet(const absl::Flag<std::string>& flag, const char* name, int argc,
           char** argv) {
  (void)flag;
  std::string dashed = std::string("--") + name;
  std::string single = std::string("-") + name;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == dashed || a.rfind(dashed + "=", 0) == 0 || a == single ||
        a.rfind(single + "=", 0) == 0) {
      return true;
    }
  }
  return false;
}

// `evbusd --help`: the usage and every flag defined in this file (abseil's
// own --help matches flags by the program's file name, which finds none),
// with its help text and default, as --data-dir-style names.
void PrintHelp() {
  std::printf("%s\n\nflags (--helpfull also lists abseil's own):\n",
              std::string(absl::ProgramUsageMessage()).c_str());
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::string_view(flag->Filename()).find("server/daemon/main.cc") !=
        absl::string_view::npos) {
      flags.push_back(flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  for (const absl::CommandLineFlag* flag : flags) {
    std::string name(flag->Name());
    std::replace(name.begin(), name.end(), '_', '-');
    std::printf("  --%s  %s (default: \"%s\")\n", name.c_str(),
                flag->Help().c_str(), flag->DefaultValue().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by daemon::Run with sigwait; block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);  // re-reads the TLS files
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Debian's abseil is built with lock-order (deadlock) checking on, which
  // records every Mutex acquisition in a global graph: a measurable cost on
  // the PutEvents path. The test binaries keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  absl::SetProgramUsageMessage(
      "evbusd: self-hosted event bus (EventBridge-compatible).\n"
      "  evbusd --data-dir DIR --grpc-listen HOST:PORT --http-listen "
      "HOST:PORT [--stack FILE] [--ready-file PATH] [--config FILE]");
  // Accept --data-dir as well as --data_dir.
  std::vector<std::string> normalized;
  normalized.reserve(argc);
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      for (size_t j = 2; j < std::min(eq, a.size()); ++j) {
        if (a[j] == '-') a[j] = '_';
      }
    }
    normalized.push_back(std::move(a));
  }
  std::vector<char*> args;
  for (std::string& a : normalized) args.push_back(a.data());
  argv = args.data();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-help" || a == "-h") {
      PrintHelp();
      return 0;
    }
  }
  absl::ParseCommandLine(argc, argv);

  evbus::config::DaemonConfig config;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::StatusOr<evbus::config::DaemonConfig> loaded =
        evbus::config::LoadConfigFile(absl::GetFlag(FLAGS_config), config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "evbusd: %s\n",
                   std::string(loaded.status().message()).c_str());
      return 2;
    }
    config = *loaded;
  }
  // A flag given on the command line overrides the file.
  auto take = [&](const absl::Flag<std::string>& flag, const char* name,
                  std::string* field) {
    if (absl::GetFlag(FLAGS_config).empty() || IsSet(flag, name, argc, argv)) {
      *field = absl::GetFlag(flag);
    }
  };
  take(FLAGS_data_dir, "data_dir", &config.data_dir);
  take(FLAGS_grpc_listen, "grpc_listen", &config.grpc_listen);
  take(FLAGS_http_listen, "http_listen", &config.http_listen);
  take(FLAGS_stack, "stack", &config.stack_file);
  take(FLAGS_ready_file, "ready_file", &config.ready_file);
  take(FLAGS_account, "account", &config.account);
  take(FLAGS_region, "region", &config.region);
  take(FLAGS_log_level, "log_level", &config.log_level);
  take(FLAGS_clock, "clock", &config.clock);
  take(FLAGS_clock_start, "clock_start", &config.clock_start);
  take(FLAGS_missed_ticks, "missed_ticks", &config.missed_ticks);
  take(FLAGS_wal_recovery, "wal_recovery", &config.wal_recovery);
  take(FLAGS_function_user, "function_user", &config.function_user);
  take(FLAGS_function_uids, "function_uids", &config.function_uids);
  take(FLAGS_python, "python", &config.python);
  take(FLAGS_smtp_url, "smtp_url", &config.smtp_url);
  take(FLAGS_aws_credentials, "aws_credentials", &config.aws_credentials);
  take(FLAGS_grpc_token_file, "grpc_token_file", &config.grpc_token_file);
  take(FLAGS_grpc_tls_cert, "grpc_tls_cert", &config.grpc_tls_cert);
  take(FLAGS_grpc_tls_key, "grpc_tls_key", &config.grpc_tls_key);
  take(FLAGS_grpc_tls_client_ca, "grpc_tls_client_ca",
       &config.grpc_tls_client_ca);
  take(FLAGS_http_tls_cert, "http_tls_cert", &config.http_tls_cert);
  take(FLAGS_http_tls_key, "http_tls_key", &config.http_tls_key);
  take(FLAGS_smtp_from, "smtp_from", &config.smtp_from);
  take(FLAGS_node, "node", &config.node);
  auto explicit_flag = [&](const char* name) {
    std::string dashed = std::string("--") + name;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == dashed || a.rfind(dashed + "=", 0) == 0 ||
          a == "--no" + std::string(name)) {
        return true;
      }
    }
    return absl::GetFlag(FLAGS_config).empty();
  };
  if (explicit_flag("event_retention")) {
    config.event_retention_seconds = absl::GetFlag(FLAGS_event_retention);
  }
  if (explicit_flag("max_request_bytes")) {
    config.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  }
  if (explicit_flag("metric_retention_days")) {
    config.metric_retention_days = absl::GetFlag(FLAGS_metric_retention_days);
  }
  if (explicit_flag("min_free_disk_mb")) {
    config.min_free_disk_mb = absl::GetFlag(FLAGS_min_free_disk_mb);
  }
  if (explicit_flag("http_max_connections")) {
    config.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  }
  if (explicit_flag("http_keep_alive_seconds")) {
    config.http_keep_alive_seconds =
        absl::GetFlag(FLAGS_http_keep_alive_seconds);
  }
  if (explicit_flag("http_header_timeout_seconds")) {
    config.http_header_timeout_seconds =
        absl::GetFlag(FLAGS_http_header_timeout_seconds);
  }
  if (explicit_flag("http_read_timeout_seconds")) {
    config.http_read_timeout_seconds =
        absl::GetFlag(FLAGS_http_read_timeout_seconds);
  }
  if (explicit_flag("function_idle_seconds")) {
    config.function_idle_seconds = absl::GetFlag(FLAGS_function_idle_seconds);
  }
  if (explicit_flag("function_init_backoff_ms")) {
    config.function_init_backoff_ms =
        absl::GetFlag(FLAGS_function_init_backoff_ms);
  }
  if (explicit_flag("delivery_nice")) {
    config.delivery_nice = absl::GetFlag(FLAGS_delivery_nice);
  }
  if (explicit_flag("max_function_concurrency")) {
    config.max_function_concurrency =
        absl::GetFlag(FLAGS_max_function_concurrency);
  }
  if (explicit_flag("max_rules_per_bus")) {
    config.max_rules_per_bus = absl::GetFlag(FLAGS_max_rules_per_bus);
  }
  if (explicit_flag("sns_confirm_subscriptions")) {
    config.sns_confirm_subscriptions =
        absl::GetFlag(FLAGS_sns_confirm_subscriptions);
  }
  if (explicit_flag("release_startup_pages")) {
    config.release_startup_pages = absl::GetFlag(FLAGS_release_startup_pages);
  }
  if (explicit_flag("allow_reserved_sources")) {
    config.allow_reserved_sources = absl::GetFlag(FLAGS_allow_reserved_sources);
  }
  absl::Status valid = evbus::config::Validate(config);
  if (!valid.ok()) {
    // "key: problem": name the config file when the key is in it and its
    // flag was not given (a flag overrides the file).
    std::string message(valid.message());
    const std::string key = message.substr(0, message.find(':'));
    const std::string file = absl::GetFlag(FLAGS_config);
    if (!file.empty() && !explicit_flag(key.c_str())) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("\"" + key + "\"") != std::string::npos) {
        message = file + ": " + message;
      }
    }
    std::fprintf(stderr, "evbusd: %s\n", message.c_str());
    return 2;
  }
  return evbus::daemon::Run(config);
}
