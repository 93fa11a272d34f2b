#include "server/daemon/daemon.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/alarms/alarm_service.h"
#include "server/api/aws/aws_endpoint.h"
#include "server/api/aws/sigv4.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/call_authorizer.h"
#include "server/api/grpc/cloudwatch_service.h"
#include "server/api/grpc/event_bus_service.h"
#include "server/api/grpc/function_service.h"
#include "server/api/grpc/grpc_log.h"
#include "server/api/grpc/grpc_tls_identity.h"
#include "server/api/grpc/topic_service.h"
#include "server/api/http/http_server.h"
#include "server/bus/archive_service.h"
#include "server/bus/bus_service.h"
#include "server/bus/connection_registry.h"
#include "server/bus/rule_registry.h"
#include "server/common/aws_error.h"
#include "server/common/clock.h"
#include "server/common/file_pages.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/common/regular_file.h"
#include "server/common/server_certificate.h"
#include "server/common/tls_files.h"
#include "server/common/token_file.h"
#include "server/daemon/alarm_actions.h"
#include "server/daemon/tls_reloader.h"
#include "server/delivery/connection_authorizer.h"
#include "server/delivery/dispatcher.h"
#include "server/delivery/oauth_tokens.h"
#include "server/functions/async_invoke.h"
#include "server/functions/function_pool.h"
#include "server/functions/function_registry.h"
#include "server/functions/uid_block.h"
#include "server/metrics/registry.h"
#include "server/metricstore/metric_store.h"
#include "server/scheduler/scheduler.h"
#include "server/stack/stack_apply.h"
#include "server/stack/stack_parser.h"
#include "server/storage/keys.h"
#include "server/storage/log_store.h"
#include "server/storage/store.h"
#include "server/targets/sync_executor.h"
#include "server/targets/webhook_executor.h"
#include "server/topics/email_executor.h"
#include "server/topics/message_signer.h"
#include "server/topics/smtp_sender.h"
#include "server/topics/topic_service.h"

namespace evbus::daemon {
namespace {

common::LogSeverity ParseSeverity(const std::string& level) {
  if (level == "debug") return common::LogSeverity::kDebug;
  if (level == "warning") return common::LogSeverity::kWarning;
  if (level == "error") return common::LogSeverity::kError;
  return common::LogSeverity::kInfo;
}

// Writes `content` to `path` atomically (temp file + rename).
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content) {
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

// The user functions run as: when evbusd runs as root, `name` (default
// "nobody"; "root" keeps root); otherwise evbusd's own user.
absl::Status FunctionUser(const std::string& name,
                          functions::FunctionPoolOptions& options) {
  if (::geteuid() != 0 || name == "root") return absl::OkStatus();
  std::string user = name.empty() ? "nobody" : name;
  struct passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("function_user: no user named ", user));
  }
  options.uid = pw->pw_uid;
  options.gid = pw->pw_gid;
  return absl::OkStatus();
}

// Takes gRPC's server reflection plugin out of a ServerBuilder.
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(
        std::remove_if(
            plugins->begin(), plugins->end(),
            [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
              return dynamic_cast<
                         grpc::reflection::ProtoServerReflectionPlugin*>(
                         p.get()) != nullptr;
            }),
        plugins->end());
  }
};

// Per-function uids (--function-uids) when evbusd runs as root and a block
// of the range can be claimed; null otherwise (functions then share
// FunctionUser's, with a warning saying why).
std::unique_ptr<functions::FunctionUidBlock> ClaimFunctionUids(
    const std::string& text) {
  if (::geteuid() != 0) return nullptr;
  // Validate() has checked the format.
  absl::StatusOr<std::optional<std::pair<uint32_t, uint32_t>>> range =
      config::ParseUidRange(text);
  if (!range.ok() || !range->has_value()) return nullptr;
  const auto [first, last] = **range;
  absl::StatusOr<std::unique_ptr<functions::FunctionUidBlock>> block =
      functions::FunctionUidBlock::Claim(first, last);
  if (!block.ok()) {
    EVBUS_LOG(WARNING) << block.status().message()
                       << "; every function runs as the same user "
                          "(--function-user): functions are not isolated "
                          "from each other";
    return nullptr;
  }
  if ((*block)->killed() > 0) {
    EVBUS_LOG(WARNING) << "function_uids: killed " << (*block)->killed()
                       << " process(es) an earlier evbusd's functions left "
                          "running as uids "
                       << (*block)->first() << "-" << (*block)->last();
  }
  EVBUS_LOG(INFO) << "functions run as uids " << (*block)->first() << "-"
                  << (*block)->last() << ", one per function";
  return *std::move(block);
}

// Warns when a user other than root cannot reach `dir` (every ancestor
// must be searchable by others).
void WarnIfNotSearchable(const std::string& dir) {
  std::filesystem::path p = std::filesystem::absolute(dir);
  for (; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      EVBUS_LOG(WARNING) << "functions run as an unprivileged user, which "
                            "cannot enter "
                         << p.string() << " (mode " << (st.st_mode & 0777)
                         << "); make it searchable (chmod o+x) or set "
                            "--function-user root";
      return;
    }
  }
}

// The alarms' view of the metric store.
class StoreMetricSource final : public alarms::MetricSource {
 public:
  explicit StoreMetricSource(metricstore::MetricStore& metrics)
      : metrics_(metrics) {}
  absl::StatusOr<std::vector<std::pair<absl::Time, metricstore::Aggregate>>>
  Query(const std::string& ns, const std::string& metric,
        const std::vector<evbus::v1::Dimension>& dims, absl::Time start,
        absl::Time end) override {
    metricstore::Dimensions d;
    for (const auto& x : dims) d.emplace_back(x.name(), x.value());
    std::sort(d.begin(), d.end());
    absl::StatusOr<std::vector<metricstore::MinutePoint>> points =
        metrics_.Query(ns, metric, d, start, end);
    if (!points.ok()) return points.status();
    std::vector<std::pair<absl::Time, metricstore::Aggregate>> out;
    for (auto& p : *points) out.emplace_back(p.minute, std::move(p.aggregate));
    return out;
  }

 private:
  metricstore::MetricStore& metrics_;
};

// AWS/Lambda metrics of one invocation (FunctionName and account-wide).
void RecordInvocation(metricstore::MetricStore& metrics,
                      const functions::InvocationRecord& r) {
  for (const metricstore::Dimensions& dims :
       {metricstore::Dimensions{{"FunctionName", r.function_name}},
        metricstore::Dimensions{}}) {
    if (r.throttled) {
      metrics.Record("AWS/Lambda", "Throttles", dims, r.start, 1, "Count");
      continue;
    }
    metrics.Record("AWS/Lambda", "Invocations", dims, r.start, 1, "Count");
    metrics.Record("AWS/Lambda", "Errors", dims, r.start, r.error ? 1 : 0,
                   "Count");
    metrics.Record("AWS/Lambda", "Duration", dims, r.start,
                   absl::ToDoubleMilliseconds(r.duration), "Milliseconds");
    metrics.Record("AWS/Lambda", "ConcurrentExecutions", dims, r.start,
                   r.concurrency, "Count");
    if (r.async) {
      metrics.Record("AWS/Lambda", "AsyncEventAge", dims, r.start,
                     absl::ToDoubleMilliseconds(r.async_age), "Milliseconds");
    }
  }
}

// Blocks until SIGINT or SIGTERM (returned); on each SIGHUP meanwhile,
// runs `on_hangup`.
int WaitForSignal(const std::function<void()>& on_hangup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) return sig;
    on_hangup();
  }
}

// The TLS files of both listeners, loaded and checked before anything is
// written (the process exits on an error), and what serves them.
struct ListenerTls {
  common::TlsKeyPair grpc_pair;
  std::unique_ptr<api::GrpcTlsIdentity> grpc;  // null: plaintext
  common::TlsKeyPair http_pair;
  std::shared_ptr<common::ServerCertificate> http;  // null: plain HTTP
};

absl::StatusOr<ListenerTls> LoadListenerTls(
    const config::DaemonConfig& config) {
  ListenerTls tls;
  if (!config.grpc_tls_cert.empty()) {
    absl::StatusOr<common::TlsKeyPair> pair =
        LoadListenerKeyPair(config.grpc_tls_cert, "grpc_tls_cert",
                            config.grpc_tls_key, "grpc_tls_key");
    if (!pair.ok()) return pair.status();
    std::optional<std::string> ca;
    if (!config.grpc_tls_client_ca.empty()) {
      absl::StatusOr<std::string> loaded =
          LoadClientCa(config.grpc_tls_client_ca, "grpc_tls_client_ca");
      if (!loaded.ok()) return loaded.status();
      ca = *std::move(loaded);
    }
    absl::StatusOr<std::unique_ptr<api::GrpcTlsIdentity>> identity =
        api::GrpcTlsIdentity::Create(*pair, std::move(ca));
    if (!identity.ok()) return identity.status();
    tls.grpc_pair = *std::move(pair);
    tls.grpc = *std::move(identity);
    EVBUS_LOG(INFO) << "gRPC: TLS with " << config.grpc_tls_cert
                    << (config.grpc_tls_client_ca.empty()
                            ? ""
                            : absl::StrCat("; clients need a certificate of ",
                                           config.grpc_tls_client_ca));
  }
  if (!config.http_tls_cert.empty()) {
    absl::StatusOr<common::TlsKeyPair> pair =
        LoadListenerKeyPair(config.http_tls_cert, "http_tls_cert",
                            config.http_tls_key, "http_tls_key");
    if (!pair.ok()) return pair.status();
    absl::StatusOr<std::unique_ptr<common::ServerCertificate>> certificate =
        common::ServerCertificate::Create(*pair);
    if (!certificate.ok()) return certificate.status();
    tls.http_pair = *std::move(pair);
    tls.http = *std::move(certificate);
    EVBUS_LOG(INFO) << "HTTP: HTTPS only, with " << config.http_tls_cert;
  }
  return tls;
}

// Has `reloader` watch the files of the listeners `tls` serves.
void WatchListenerTls(const config::DaemonConfig& config, ListenerTls& tls,
                      TlsReloader& reloader) {
  if (tls.grpc != nullptr) {
    api::GrpcTlsIdentity* identity = tls.grpc.get();
    reloader.Add({.name = "grpc",
                  .cert_path = config.grpc_tls_cert,
                  .cert_field = "grpc_tls_cert",
                  .key_path = config.grpc_tls_key,
                  .key_field = "grpc_tls_key",
                  .client_ca_path = config.grpc_tls_client_ca,
                  .client_ca_field = "grpc_tls_client_ca",
                  .set_key_pair =
                      [identity](const common::TlsKeyPair& pair) {
                        return identity->SetKeyPair(pair);
                      },
                  .set_client_ca =
                      [identity](const std::string& ca) {
                        return identity->SetClientCa(ca);
                      }},
                 tls.grpc_pair);
  }
  if (tls.http != nullptr) {
    common::ServerCertificate* certificate = tls.http.get();
    reloader.Add({.name = "http",
                  .cert_path = config.http_tls_cert,
                  .cert_field = "http_tls_cert",
                  .key_path = config.http_tls_key,
                  .key_field = "http_tls_key",
                  .set_key_pair =
                      [certificate](const common::TlsKeyPair& pair) {
                        return certificate->Replace(pair);
                      }},
                 tls.http_pair);
  }
}

}  // namespace

int Run(const config::DaemonConfig& config) {
  common::SetMinLogSeverity(ParseSeverity(config.log_level));
  api::InstallGrpcLogSink();
  // Read before anything is written, so that a bad token file leaves the
  // data directory untouched.
  api::CallAuthorizer grpc_authorizer;
  if (!config.grpc_token_file.empty()) {
    absl::StatusOr<std::string> token =
        common::LoadTokenFile(config.grpc_token_file, "grpc_token_file");
    if (!token.ok()) {
      EVBUS_LOG(ERROR) << token.status().message();
      return 1;
    }
    grpc_authorizer = api::CallAuthorizer(*std::move(token));
    common::WarnIfReadableByOthers(config.grpc_token_file, "grpc_token_file");
  }
  // The listeners' TLS files, checked now for the same reason.
  absl::StatusOr<ListenerTls> listener_tls = LoadListenerTls(config);
  if (!listener_tls.ok()) {
    EVBUS_LOG(ERROR) << listener_tls.status().message();
    return 1;
  }
  if (::geteuid() == 0) {
    // As root, functions run as another user (--function-user) and must
    // not read the store (connection secrets are in its WAL): files evbusd
    // creates are its own alone; what functions need is opened up
    // explicitly (their code and runtimes 0755, the data directory 0711).
    // Store files written before are narrowed the same way.
    ::umask(077);
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(config.data_dir, ec)) {
      if (entry.is_regular_file(ec)) {
        std::filesystem::permissions(entry.path(),
                                     std::filesystem::perms::group_all |
                                         std::filesystem::perms::others_all,
                                     std::filesystem::perm_options::remove, ec);
      }
    }
  }
  absl::Time started = absl::Now();
  // --clock manual: time moves only through the clock RPCs (tests, demos).
  std::unique_ptr<common::Clock> clock_holder;
  common::ManualClock* manual_clock = nullptr;
  if (config.clock == "manual") {
    absl::Time start = absl::Now();
    if (!config.clock_start.empty()) {
      std::string err;
      (void)absl::ParseTime(absl::RFC3339_full, config.clock_start, &start,
                            &err);
    }
    auto manual = std::make_unique<common::ManualClock>(start);
    manual_clock = manual.get();
    clock_holder = std::move(manual);
  } else {
    clock_holder = std::make_unique<common::RealClock>();
  }
  common::Clock& clock = *clock_holder;
  metrics::Registry registry;

  storage::StoreOptions store_options;
  store_options.path = config.data_dir;
  store_options.created_by = "evbusd " EVBUS_VERSION;
  store_options.accept_wal_loss = config.wal_recovery == "point-in-time";
  const uint64_t min_free_bytes = static_cast<uint64_t>(config.min_free_disk_mb)
                                  << 20;
  store_options.min_free_bytes = min_free_bytes;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(store_options);
  if (!store.ok()) {
    EVBUS_LOG(ERROR) << "cannot open store: " << store.status();
    return 1;
  }

  storage::Store& store_ref = **store;
  if (manual_clock != nullptr) {
    // A manual clock resumes where it was: never before the time it had
    // reached (events, logs and schedule state already carry that time).
    absl::StatusOr<std::optional<std::string>> stored =
        store_ref.Get(storage::Family::kMeta, storage::keys::kManualClockKey);
    int64_t stored_ms = 0;
    if (stored.ok() && stored->has_value() &&
        absl::SimpleAtoi(**stored, &stored_ms) &&
        absl::FromUnixMillis(stored_ms) > manual_clock->Now()) {
      EVBUS_LOG(INFO) << "manual clock resumes at "
                      << absl::FormatTime(absl::FromUnixMillis(stored_ms))
                      << ", the time it had reached (not "
                      << absl::FormatTime(manual_clock->Now()) << ")";
      manual_clock->Set(absl::FromUnixMillis(stored_ms));
    }
  }
  // Functions' paths are absolute: environments run in their own working
  // directories (a relative --data-dir would not resolve there).
  std::error_code abs_ec;
  const std::string functions_dir =
      std::filesystem::absolute(config.data_dir, abs_ec)
          .lexically_normal()
          .string() +
      "/functions";
  storage::LogStore logs(store_ref, clock);
  metricstore::MetricStore metric_store(
      store_ref, clock,
      {.retention = absl::Hours(24 * config.metric_retention_days)});
  absl::Status metrics_loaded = metric_store.Load();
  if (!metrics_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load metrics: " << metrics_loaded;
    return 1;
  }
  topics::TopicServiceOptions topic_options;
  topic_options.account = config.account;
  topic_options.region = config.region;
  topic_options.email_from = config.smtp_from;
  topic_options.require_confirmation = config.sns_confirm_subscriptions;
  topics::TopicService topic_service(store_ref, clock, registry, topic_options);
  absl::Status topics_loaded = topic_service.Load();
  if (!topics_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load topics: " << topics_loaded;
    return 1;
  }
  // The key is loaded (or created) when the first message is signed.
  topics::LazyMessageSigner signer(
      std::filesystem::absolute(config.data_dir, abs_ec).string());
  topic_service.SetSigner(
      [&signer](const std::string& text, absl::string_view version) {
        return signer.Sign(text, version);
      });
  topic_service.SetLinkTokens([&signer](absl::string_view subject) {
    return signer.LinkToken(subject);
  });
  std::optional<topics::SmtpOptions> smtp;
  if (!config.smtp_url.empty()) {
    absl::StatusOr<topics::SmtpOptions> parsed =
        topics::ParseSmtpUrl(config.smtp_url);
    if (!parsed.ok()) {
      EVBUS_LOG(ERROR) << "smtp_url: " << parsed.status();
      return 1;
    }
    smtp = *parsed;
  }

  // Rules, executors, the dispatcher and the bus service refer to each
  // other; `buses_ptr` closes the loop once the bus service exists.
  bus::BusService* buses_ptr = nullptr;
  // OAuth connections: every token request (at creation, by the
  // authorizer's thread; then by deliveries) sets the connection's state.
  bus::ConnectionRegistry* connections_ptr = nullptr;
  delivery::OAuthTokens oauth_tokens(
      clock, [&connections_ptr](const delivery::OAuthClient& client,
                                const absl::Status& result) {
        if (connections_ptr != nullptr) {
          connections_ptr->RecordAuthorization(client.connection_arn, result);
        }
      });
  delivery::ConnectionAuthorizer* authorizer_ptr = nullptr;
  bus::ConnectionRegistry connections(
      store_ref, clock,
      {.account = config.account,
       .region = config.region,
       .authorize = [&authorizer_ptr](delivery::OAuthClient client) {
         if (authorizer_ptr != nullptr) {
           authorizer_ptr->Authorize(std::move(client));
         }
       }});
  connections_ptr = &connections;
  // Declared after the registry: stopped (joined) before it goes.
  delivery::ConnectionAuthorizer authorizer(oauth_tokens);
  authorizer_ptr = &authorizer;
  absl::Status connections_loaded = connections.Load();
  if (!connections_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load connections: " << connections_loaded;
    return 1;
  }
  // Claimed before the registry loads: with a uid per function, code
  // directories are kept private until their function starts.
  std::unique_ptr<functions::FunctionUidBlock> function_uids =
      ClaimFunctionUids(config.function_uids);
  functions::FunctionRegistry function_registry(
      store_ref, clock,
      {.account = config.account,
       .region = config.region,
       .code_root = functions_dir + "/code",
       .private_code = function_uids != nullptr});
  absl::Status functions_loaded = function_registry.Load();
  if (!functions_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load functions: " << functions_loaded;
    return 1;
  }
  bus::RuleRegistryOptions rule_options;
  rule_options.account = config.account;
  rule_options.region = config.region;
  rule_options.max_rules_per_bus =
      static_cast<size_t>(config.max_rules_per_bus);
  rule_options.resolve_api_destination = [&connections](const std::string& n) {
    return connections.Resolve(n);
  };
  // As EventBridge, PutTargets does not check that a function, topic or
  // bus target exists (stacks and scripts often create the rule first); a
  // delivery to one that does not exist is dead-lettered with NO_RESOURCE.
  // An API destination is resolved at PutTargets.
  rule_options.check_target =
      [&connections](const targets::TargetRef& ref) -> absl::Status {
    if (ref.kind == targets::TargetKind::kApiDestination) {
      return connections.CheckApiDestination(ref.name);
    }
    return absl::OkStatus();
  };
  scheduler::Scheduler* scheduler_ptr = nullptr;
  rule_options.on_rule_change = [&scheduler_ptr](const evbus::v1::Rule& rule,
                                                 bool deleted) {
    if (scheduler_ptr != nullptr) scheduler_ptr->SyncRule(rule, deleted);
  };
  bus::RuleRegistry rules(store_ref, clock, rule_options);
  absl::Status rules_loaded = rules.Load();
  if (!rules_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load rules: " << rules_loaded;
    return 1;
  }
  targets::WebhookExecutor webhooks(
      {.nice_steps = static_cast<int>(config.delivery_nice)});
  absl::Status webhooks_started = webhooks.Start();
  if (!webhooks_started.ok()) {
    EVBUS_LOG(ERROR) << webhooks_started;
    return 1;
  }
  targets::SyncExecutor log_executor(
      [&logs](const targets::DeliveryRequest& r) {
        return logs.Append(r.url, r.payload);
      });
  targets::SyncExecutor bus_executor(
      [&buses_ptr](const targets::DeliveryRequest& r) {
        return buses_ptr->PublishEnvelope(r.url, r.payload,
                                          /*from_bus=*/true);
      });
  functions::FunctionPoolOptions pool_options;
  pool_options.account = config.account;
  pool_options.region = config.region;
  pool_options.work_root = functions_dir + "/run";
  pool_options.runtime_root = functions_dir + "/runtimes";
  pool_options.python = config.python;
  pool_options.node = config.node;
  pool_options.idle_timeout = absl::Seconds(config.function_idle_seconds);
  pool_options.init_failure_backoff =
      absl::Milliseconds(config.function_init_backoff_ms);
  pool_options.max_concurrency =
      static_cast<int>(config.max_function_concurrency);
  absl::Status user = FunctionUser(config.function_user, pool_options);
  if (!user.ok()) {
    EVBUS_LOG(ERROR) << user;
    return 1;
  }
  if (function_uids != nullptr) {
    pool_options.function_uids =
        std::make_pair(function_uids->first(), function_uids->last());
  }
  if (pool_options.uid.has_value() || pool_options.function_uids.has_value()) {
    std::error_code ec;
    std::filesystem::create_directories(functions_dir, ec);
    // The functions' user passes through the data directory (no listing)
    // to reach functions/; the store's files are evbusd's alone (umask 077,
    // set at start when running as root), so a function cannot read
    // connection secrets from the WAL.
    ::chmod(config.data_dir.c_str(), 0711);
    ::chmod(functions_dir.c_str(), 0755);
    WarnIfNotSearchable(functions_dir);
  }
  functions::FunctionPool function_pool(function_registry, logs, registry,
                                        clock, pool_options);
  absl::Status pool_started = function_pool.Start();
  if (!pool_started.ok()) {
    EVBUS_LOG(ERROR) << "cannot start functions: " << pool_started;
    return 1;
  }
  function_pool.SetObserver(
      [&metric_store](const functions::InvocationRecord& r) {
        RecordInvocation(metric_store, r);
      });
  function_registry.SetChangeListener(
      [&function_pool](const std::string& name) {
        function_pool.Retire(name);
      });
  functions::AsyncInvoker async_invoker(store_ref, clock, function_registry,
                                        registry);
  async_invoker.SetMetricSink(&metric_store);
  functions::HandoffExecutor function_handoff(async_invoker);
  functions::RunExecutor function_runner(function_pool);
  targets::SyncExecutor topic_executor(
      [&topic_service](const targets::DeliveryRequest& r) {
        evbus::v1::PublishRequest publish;
        publish.set_topic_arn(r.url);
        publish.set_message(r.payload);
        return topic_service.Publish(publish).status();
      });
  topics::EmailExecutor email_executor(smtp, config.smtp_from, registry);
  delivery::Executors executors;
  executors.topic = &topic_executor;
  executors.email = &email_executor;
  executors.function = &function_handoff;
  executors.function_runner = &function_runner;
  executors.webhook = &webhooks;
  executors.log = &log_executor;
  executors.bus = &bus_executor;
  executors.tokens = &oauth_tokens;
  delivery::DispatcherOptions dispatcher_options;
  dispatcher_options.metric_sink = &metric_store;
  // A topic's queued messages go only to subscriptions that still exist.
  dispatcher_options.inline_target_live =
      [&topic_service](const evbus::v1::DeliveryTask& task) {
        return task.event_bus_name() != topics::kTopicQueueBus ||
               topic_service.HasSubscription(task.rule_name(),
                                             task.target_id());
      };
  delivery::Dispatcher dispatcher(store_ref, clock, registry, rules, executors,
                                  dispatcher_options);
  async_invoker.SetDispatcher(&dispatcher);
  topic_service.SetDispatcher(&dispatcher);

  bus::BusOptions bus_options;
  bus_options.account = config.account;
  bus_options.region = config.region;
  bus_options.event_retention = absl::Seconds(config.event_retention_seconds);
  bus_options.limits.max_request_bytes =
      static_cast<size_t>(config.max_request_bytes);
  bus_options.limits.allow_reserved_sources = config.allow_reserved_sources;
  bus_options.metric_sink = &metric_store;
  absl::StatusOr<std::unique_ptr<bus::BusService>> buses =
      bus::BusService::Create(store_ref, clock, registry, bus_options, &rules,
                              &dispatcher);
  if (!buses.ok()) {
    EVBUS_LOG(ERROR) << "cannot load buses: " << buses.status();
    return 1;
  }
  buses_ptr = buses->get();
  (*buses)->Start();

  StoreMetricSource metric_source(metric_store);
  AlarmActions alarm_actions(topic_service, async_invoker, **buses,
                             config.account, config.region);
  alarms::AlarmServiceOptions alarm_options;
  alarm_options.account = config.account;
  alarm_options.region = config.region;
  alarms::AlarmService alarm_service(store_ref, clock, registry, metric_source,
                                     alarm_actions, alarm_options);
  absl::Status alarms_loaded = alarm_service.Load();
  if (!alarms_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load alarms: " << alarms_loaded;
    return 1;
  }
  absl::Status alarms_started = alarm_service.Start();
  if (!alarms_started.ok()) {
    EVBUS_LOG(ERROR) << "cannot start alarms: " << alarms_started;
    return 1;
  }

  scheduler::SchedulerOptions scheduler_options;
  scheduler_options.account = config.account;
  scheduler_options.region = config.region;
  scheduler_options.missed_ticks =
      config.missed_ticks == "none"  ? scheduler::MissedTicks::kNone
      : config.missed_ticks == "all" ? scheduler::MissedTicks::kAll
                                     : scheduler::MissedTicks::kLatest;
  scheduler::Scheduler schedules(store_ref, clock, registry, **buses,
                                 &dispatcher, scheduler_options);
  for (const evbus::v1::Rule& rule : rules.ScheduledRules()) {
    schedules.SyncRule(rule, false);
  }
  scheduler_ptr = &schedules;
  absl::Status scheduling = schedules.Start();
  if (!scheduling.ok()) {
    EVBUS_LOG(ERROR) << "cannot load schedules: " << scheduling;
    return 1;
  }
  absl::Status dispatching = dispatcher.Start();
  if (!dispatching.ok()) {
    EVBUS_LOG(ERROR) << "cannot load the delivery queue: " << dispatching;
    return 1;
  }

  // gRPC.
  bus::ArchiveOptions archive_options;
  archive_options.account = config.account;
  archive_options.region = config.region;
  bus::ArchiveService archives(store_ref, clock, rules, **buses,
                               archive_options);
  absl::Status archives_loaded = archives.Load();
  if (!archives_loaded.ok()) {
    EVBUS_LOG(ERROR) << "cannot load archives: " << archives_loaded;
    return 1;
  }
  absl::Mutex clock_store_mu;  // orders the manual clock's stored times
  api::EventBusServiceImpl event_bus_service(**buses, rules, dispatcher, logs,
                                             archives, connections);
  event_bus_service.SetScheduler(
      &schedules, &clock, manual_clock,
      [&schedules, &dispatcher, &metric_store, &alarm_service, &store_ref,
       &clock_store_mu, manual_clock] {
        schedules.Poke();
        dispatcher.Poke();
        (void)metric_store.Flush();
        alarm_service.Poke();
        if (manual_clock != nullptr) {
          // The move is answered, and stored, once the ticks it made due
          // are written (bounded): a stop right after an acknowledged
          // `clock advance` does not turn them into ticks missed while
          // down. Stored under the lock, read inside it, so that the last
          // write is the latest time.
          const absl::Time moved_to = manual_clock->Now();
          if (!schedules.WaitCaughtUp(moved_to, absl::Seconds(60))) {
            EVBUS_LOG(WARNING) << "schedules not caught up with the clock "
                                  "after 60 s; storing its time anyway";
          }
          absl::MutexLock lock(&clock_store_mu);
          storage::WriteBatch batch;
          batch.Put(storage::Family::kMeta, storage::keys::kManualClockKey,
                    absl::StrCat(absl::ToUnixMillis(manual_clock->Now())));
          absl::Status s = store_ref.Write(batch, /*sync=*/true);
          if (!s.ok()) EVBUS_LOG(WARNING) << "cannot store the clock: " << s;
        }
      });
  event_bus_service.SetBackup([&store_ref,
                               &functions_dir](const std::string& dir)
                                  -> absl::StatusOr<int64_t> {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return common::ValidationError(
          absl::StrCat("Parameter Directory is not valid. Reason: ", dir,
                       " already exists."));
    }
    absl::Status s = store_ref.Checkpoint(dir);
    if (!s.ok()) return s;
    // The SNS signing key and certificate live beside RocksDB too.
    std::string data_dir =
        std::filesystem::path(functions_dir).parent_path().string();
    for (const char* file : {"sns-signing-key.pem", "sns-signing-cert.pem"}) {
      std::filesystem::copy_file(data_dir + "/" + file, dir + "/" + file, ec);
      ec.clear();
    }
    // Function code lives beside RocksDB; copy it along.
    std::string code = functions_dir + "/code";
    if (std::filesystem::exists(code, ec)) {
      std::filesystem::create_directories(dir + "/functions", ec);
      // Symbolic links are copied as links, never followed: a link in a
      // code directory must not put the file it names into the backup.
      std::filesystem::copy(code, dir + "/functions/code",
                            std::filesystem::copy_options::recursive |
                                std::filesystem::copy_options::copy_symlinks,
                            ec);
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("cannot copy function code: ", ec.message()));
      }
    }
    int64_t size = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file(ec)) {
        size += static_cast<int64_t>(it->file_size(ec));
      }
    }
    return size;
  });
  event_bus_service.SetStackRecords(
      {.get = [&store_ref](const std::string& name)
           -> absl::StatusOr<evbus::v1::StackRecord> {
         absl::StatusOr<std::optional<std::string>> v =
             store_ref.Get(storage::Family::kCatalog,
                           storage::keys::CatalogKey("stack", name));
         if (!v.ok()) return v.status();
         evbus::v1::StackRecord r;
         if (!v->has_value() || !r.ParseFromString(**v)) {
           return common::ResourceNotFound(
               absl::StrCat("Stack ", name, " was never applied."));
         }
         return r;
       },
       .put =
           [&store_ref](const evbus::v1::StackRecord& r) {
             storage::WriteBatch batch;
             batch.Put(storage::Family::kCatalog,
                       storage::keys::CatalogKey("stack", r.name()),
                       r.SerializeAsString());
             return store_ref.Write(batch, /*sync=*/true);
           }});
  event_bus_service.SetAuthorizer(&grpc_authorizer);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  // gRPC sets SO_REUSEPORT by default: a second evbusd on the same port
  // would then share it silently. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (grpc_authorizer.enabled()) {
    // gRPC's reflection service cannot check the token, and each open
    // reflection stream holds a server thread: off when callers must
    // authenticate. (The plugin registers itself when linked; this option
    // takes it out of this server's list.)
    builder.SetOption(std::make_unique<WithoutReflection>());
    EVBUS_LOG(INFO) << "gRPC: every call needs the token of "
                    << config.grpc_token_file << " (server reflection off)";
    if (config.aws_credentials.empty()) {
      EVBUS_LOG(WARNING) << "the AWS endpoint still accepts any caller: "
                            "give --aws-credentials too";
    }
  }
  builder.AddListeningPort(config.grpc_listen,
                           listener_tls->grpc != nullptr
                               ? listener_tls->grpc->credentials()
                               : grpc::InsecureServerCredentials(),
                           &grpc_port);
  builder.RegisterService(&event_bus_service);
  api::FunctionServiceImpl function_service(function_registry, function_pool,
                                            async_invoker);
  function_service.SetAuthorizer(&grpc_authorizer);
  builder.RegisterService(&function_service);
  api::TopicServiceImpl topic_grpc(topic_service);
  topic_grpc.SetAuthorizer(&grpc_authorizer);
  builder.RegisterService(&topic_grpc);
  api::CloudWatchServiceImpl cloudwatch_grpc(metric_store, alarm_service);
  cloudwatch_grpc.SetAuthorizer(&grpc_authorizer);
  builder.RegisterService(&cloudwatch_grpc);
  builder.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  // The sync server starts a thread per busy request and lets threads exit
  // once more than MAX_POLLERS sit idle. With gRPC's default (2) a steady
  // load of concurrent callers makes it create and destroy threads all the
  // time (thread start-up and malloc arena teardown were a tenth of
  // PutEvents' CPU); keeping up to 32 idle threads ends the churn. Idle
  // threads cost a parked stack each, and an idle daemon keeps its minimum.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 32);
  // One completion queue instead of one per core: fewer pollers waking up
  // for the same work (PutEvents with a rule +5 % on this 2-core machine).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS,
                              1);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    EVBUS_LOG(ERROR) << "cannot listen for gRPC on " << config.grpc_listen;
    return 1;
  }
  // grpc.health.v1 answers for "" and for each service by its full name;
  // SetServingStatus(bool) below moves them all together.
  for (const char* service :
       {evbus::v1::EventBusService::service_full_name(),
        evbus::v1::FunctionService::service_full_name(),
        evbus::v1::TopicService::service_full_name(),
        evbus::v1::CloudWatchService::service_full_name()}) {
    grpc_server->GetHealthCheckService()->SetServingStatus(service, true);
  }

  // HTTP.
  metrics::Gauge store_healthy = registry.GetGauge(
      "evbus_store_healthy",
      "1 while the store accepts writes, 0 once a failed write latched it.");
  store_healthy.Set(1);
  api::HttpOptions http_options;
  std::string http_host;
  absl::Status split =
      config::SplitHostPort(config.http_listen, "http_listen",
                            &http_options.host, &http_options.port);
  if (!split.ok()) {
    EVBUS_LOG(ERROR) << split;
    return 1;
  }
  http_options.max_connection_threads =
      static_cast<size_t>(config.http_max_connections);
  http_options.keep_alive_timeout_seconds =
      static_cast<int>(config.http_keep_alive_seconds);
  http_options.read_timeout_seconds =
      static_cast<int>(config.http_read_timeout_seconds);
  http_options.header_timeout_seconds =
      static_cast<int>(config.http_header_timeout_seconds);
  http_options.stalled_closed = registry.GetCounter(
      "evbus_http_stalled_connections_closed_total",
      "HTTP connections closed for sending no complete request head in "
      "--http-header-timeout-seconds");
  http_options.tls = listener_tls->http;
  api::HttpProbes probes;
  probes.ready = [&store_ref] { return store_ref.Health(); };
  probes.metrics = [&registry, &store_ref, store_healthy] {
    store_healthy.Set(store_ref.Health().ok() ? 1 : 0);
    return registry.Serialize();
  };
  api::HttpServer http(http_options, probes);
  // The AWS-compatible endpoint shares the HTTP listener.
  api::aws::AwsEndpointOptions aws_options;
  aws_options.account = config.account;
  // Request bodies get the head's timeout, extended by the transfer rate.
  aws_options.body_timeout = absl::Seconds(config.http_header_timeout_seconds);
  aws_options.region = config.region;
  aws_options.signing_cert_pem = [&signer] { return signer.certificate_pem(); };
  aws_options.link_token = [&signer](absl::string_view subject) {
    return signer.LinkToken(subject);
  };
  // PutEvents bodies: the entries' size limit, with room for JSON escaping.
  aws_options.max_json_body_bytes = std::max<size_t>(
      size_t{1} << 20, 4 * static_cast<size_t>(config.max_request_bytes));
  if (!config.aws_credentials.empty()) {
    absl::StatusOr<std::map<std::string, std::string>> keys =
        api::aws::LoadCredentialsFile(config.aws_credentials);
    if (!keys.ok()) {
      EVBUS_LOG(ERROR) << "aws_credentials: " << keys.status();
      grpc_server->Shutdown();
      return 1;
    }
    aws_options.credentials = *std::move(keys);
  }
  api::aws::TagStore tag_store(store_ref);
  api::aws::AwsEndpoint aws_endpoint({.events = &event_bus_service,
                                      .functions = &function_service,
                                      .cloudwatch = &cloudwatch_grpc,
                                      .topics = &topic_grpc,
                                      .tags = &tag_store},
                                     aws_options);
  aws_endpoint.Register(http.server());
  absl::Status http_started = http.Start();
  if (!http_started.ok()) {
    EVBUS_LOG(ERROR) << http_started;
    grpc_server->Shutdown();
    return 1;
  }

  std::string grpc_host;
  int ignored_port = 0;
  (void)config::SplitHostPort(config.grpc_listen, "grpc_listen", &grpc_host,
                              &ignored_port);
  // host:port, with an IPv6 host in brackets ([::1]:4011), as URLs and
  // --endpoint take it.
  auto host_port = [](const std::string& host, int port) {
    return host.find(':') != std::string::npos
               ? absl::StrCat("[", host, "]:", port)
               : absl::StrCat(host, ":", port);
  };
  std::string grpc_addr = host_port(grpc_host, grpc_port);
  std::string http_addr = host_port(http_options.host, http.port());
  topic_service.SetPublicUrl(absl::StrCat(
      http_options.tls != nullptr ? "https://" : "http://", http_addr));
  EVBUS_LOG(INFO) << "evbusd " << EVBUS_VERSION << " serving ("
                  << (manual_clock != nullptr ? "manual clock" : "real clock")
                  << "): grpc " << grpc_addr
                  << (config.grpc_tls_cert.empty() ? "" : " (TLS)")
                  << (http_options.tls != nullptr ? ", https " : ", http ")
                  << http_addr << ", data " << config.data_dir << " (ready in "
                  << absl::ToInt64Milliseconds(absl::Now() - started) << " ms)";
  // --stack: make the daemon match the stack before it reports ready, over
  // the same gRPC API the CLI uses (in-process channel).
  if (!config.stack_file.empty()) {
    absl::StatusOr<stack::StackSpec> spec =
        stack::ParseStackFile(config.stack_file);
    absl::StatusOr<std::vector<stack::PlanItem>> plan =
        spec.ok() ? stack::ApplyStack(*spec, grpc_server->InProcessChannel({}),
                                      /*dry_run=*/false, /*prune=*/false,
                                      grpc_authorizer.token())
                  : absl::StatusOr<std::vector<stack::PlanItem>>(spec.status());
    if (!plan.ok()) {
      EVBUS_LOG(ERROR) << "stack: " << plan.status();
      http.Stop();
      grpc_server->Shutdown();
      return 1;
    }
    int changed = 0;
    for (const stack::PlanItem& p : *plan) {
      if (p.action == "create" || p.action == "update") ++changed;
      if (p.action == "skip") {
        EVBUS_LOG(WARNING) << "stack: skipped " << p.name;
      }
    }
    EVBUS_LOG(INFO) << "stack " << spec->name << " applied from "
                    << config.stack_file << ": " << changed << " of "
                    << plan->size() << " resources created or updated";
  }
  if (!config.ready_file.empty()) {
    common::Json ready = common::Json::object();
    ready["grpc"] = grpc_addr;
    ready["http"] = http_addr;
    // How to reach them: scripts need to know when TLS is on.
    ready["grpc_tls"] = !config.grpc_tls_cert.empty();
    ready["http_url"] = absl::StrCat(
        http_options.tls != nullptr ? "https://" : "http://", http_addr);
    ready["pid"] = ::getpid();
    absl::Status w =
        WriteFileAtomically(config.ready_file, common::DumpJson(ready) + "\n");
    if (!w.ok()) EVBUS_LOG(WARNING) << "ready file: " << w;
  }
  if (config.release_startup_pages) {
    absl::StatusOr<common::ReleasedFilePages> released =
        common::ReleaseFileBackedPages();
    if (released.ok()) {
      EVBUS_LOG(INFO) << "released start-up pages of " << released->mappings
                      << " read-only file mappings: file-backed RSS "
                      << released->rss_file_before_kb << " kB -> "
                      << released->rss_file_after_kb << " kB";
    } else {
      EVBUS_LOG(INFO) << "start-up pages kept: " << released.status();
    }
  }

  // gRPC health follows the store: NOT_SERVING once a failed write latched
  // it (checked once a second; /readyz asks the store directly).
  absl::Notification stop_health;
  // Renewed TLS files, looked for each second and on SIGHUP.
  absl::Mutex tls_reload_mu;
  TlsReloader tls_reloader(registry);
  WatchListenerTls(config, *listener_tls, tls_reloader);
  // The free space under the store, five times a second: it latches the
  // store before the disk fills (see Store::CheckFreeSpace).
  std::thread disk_watch([&] {
    while (min_free_bytes > 0 && !stop_health.WaitForNotificationWithTimeout(
                                     absl::Milliseconds(200))) {
      (void)store_ref.CheckFreeSpace(min_free_bytes);
    }
  });
  std::thread health_watch([&] {
    bool serving = true;
    for (int tick = 1;
         !stop_health.WaitForNotificationWithTimeout(absl::Seconds(1));
         ++tick) {
      absl::Status flushed = metric_store.Flush();
      if (!flushed.ok()) EVBUS_LOG(WARNING) << "metrics flush: " << flushed;
      {
        absl::MutexLock lock(&tls_reload_mu);
        tls_reloader.Check(/*force=*/false);
      }
      if (tick % 3600 == 0) {
        absl::Status trimmed = metric_store.Trim();
        if (!trimmed.ok()) EVBUS_LOG(WARNING) << "metrics trim: " << trimmed;
      }
      if (tick % 60 == 0) {
        absl::Status trimmed = archives.TrimArchives();
        if (!trimmed.ok()) EVBUS_LOG(WARNING) << "archive trim: " << trimmed;
      }
      if (tick % 60 == 0 && config.event_retention_seconds > 0) {
        // Compacted hourly, as the event log is.
        absl::Status trimmed = logs.TrimBefore(
            absl::ToUnixMillis(clock.Now() -
                               absl::Seconds(config.event_retention_seconds)),
            /*compact=*/tick % 3600 == 0);
        if (!trimmed.ok()) EVBUS_LOG(WARNING) << "log trim: " << trimmed;
      }
      bool healthy = store_ref.Health().ok();
      if (healthy != serving) {
        serving = healthy;
        grpc_server->GetHealthCheckService()->SetServingStatus(serving);
        if (!serving) EVBUS_LOG(ERROR) << store_ref.Health();
      }
    }
  });

  int sig = WaitForSignal([&] {
    EVBUS_LOG(INFO) << "SIGHUP: reading the TLS files again";
    absl::MutexLock lock(&tls_reload_mu);
    tls_reloader.Check(/*force=*/true);
  });
  stop_health.Notify();
  health_watch.join();
  disk_watch.join();
  EVBUS_LOG(INFO) << "signal " << sig << ": shutting down";
  // Stop accepting, let in-flight calls finish (bounded), then flush.
  event_bus_service.StopStreams();
  archives.Stop();
  // A synchronous Invoke waits for its function, and Shutdown for the call:
  // once the grace period is over, stopping the pool ends those calls
  // ("evbusd is stopping") instead of letting the stop last as long as
  // the function's timeout.
  absl::Notification grpc_stopped;
  std::thread pool_stopper([&] {
    if (!grpc_stopped.WaitForNotificationWithTimeout(absl::Seconds(4))) {
      function_pool.Stop();
    }
  });
  grpc_server->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(4));
  grpc_stopped.Notify();
  pool_stopper.join();
  http.Stop();
  scheduler_ptr = nullptr;
  schedules.Stop();
  alarm_service.Stop();
  function_pool.Stop();
  dispatcher.Stop();
  authorizer.Stop();
  email_executor.Stop();
  (void)metric_store.Flush();
  webhooks.Stop();
  (*buses)->Stop();
  absl::Status synced = (*store)->SyncWal();
  if (!synced.ok()) EVBUS_LOG(WARNING) << "final WAL sync: " << synced;
  buses->reset();
  EVBUS_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace evbus::daemon
