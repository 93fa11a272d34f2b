#include "server/config/daemon_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/json.h"

namespace evbus::config {
namespace {

absl::Status FieldError(const std::string& path, const std::string& field,
                        const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": field \"", field, "\": ", why));
}

}  // namespace

absl::StatusOr<DaemonConfig> LoadConfigFile(const std::string& path,
                                            DaemonConfig base) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<common::Json> doc = common::ParseJson(buffer.str(), path);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the config must be a JSON object"));
  }
  DaemonConfig c = std::move(base);
  for (const auto& [key, value] : doc->items()) {
    auto str = [&](std::string* out) -> absl::Status {
      if (!value.is_string()) return FieldError(path, key, "must be a string");
      *out = value.get<std::string>();
      return absl::OkStatus();
    };
    auto boolean = [&](bool* out) -> absl::Status {
      if (!value.is_boolean()) {
        return FieldError(path, key, "must be true or false");
      }
      *out = value.get<bool>();
      return absl::OkStatus();
    };
    auto integer = [&](int64_t* out) -> absl::Status {
      if (!value.is_number_integer()) {
        return FieldError(path, key, "must be an integer");
      }
      *out = value.get<int64_t>();
      return absl::OkStatus();
    };
    absl::Status s;
    if (key == "data_dir") {
      s = str(&c.data_dir);
    } else if (key == "grpc_listen") {
      s = str(&c.grpc_listen);
    } else if (key == "http_listen") {
      s = str(&c.http_listen);
    } else if (key == "stack") {
      s = str(&c.stack_file);
    } else if (key == "ready_file") {
      s = str(&c.ready_file);
    } else if (key == "account") {
      s = str(&c.account);
    } else if (key == "region") {
      s = str(&c.region);
    } else if (key == "log_level") {
      s = str(&c.log_level);
    } else if (key == "clock") {
      s = str(&c.clock);
    } else if (key == "clock_start") {
      s = str(&c.clock_start);
    } else if (key == "missed_ticks") {
      s = str(&c.missed_ticks);
    } else if (key == "wal_recovery") {
      s = str(&c.wal_recovery);
    } else if (key == "min_free_disk_mb") {
      s = integer(&c.min_free_disk_mb);
    } else if (key == "http_max_connections") {
      s = integer(&c.http_max_connections);
    } else if (key == "http_keep_alive_seconds") {
      s = integer(&c.http_keep_alive_seconds);
    } else if (key == "http_read_timeout_seconds") {
      s = integer(&c.http_read_timeout_seconds);
    } else if (key == "http_header_timeout_seconds") {
      s = integer(&c.http_header_timeout_seconds);
    } else if (key == "function_user") {
      s = str(&c.function_user);
    } else if (key == "function_uids") {
      s = str(&c.function_uids);
    } else if (key == "aws_credentials") {
      s = str(&c.aws_credentials);
    } else if (key == "grpc_token_file") {
      s = str(&c.grpc_token_file);
    } else if (key == "grpc_tls_cert") {
      s = str(&c.grpc_tls_cert);
    } else if (key == "grpc_tls_key") {
      s = str(&c.grpc_tls_key);
    } else if (key == "grpc_tls_client_ca") {
      s = str(&c.grpc_tls_client_ca);
    } else if (key == "http_tls_cert") {
      s = str(&c.http_tls_cert);
    } else if (key == "http_tls_key") {
      s = str(&c.http_tls_key);
    } else if (key == "smtp_url") {
      s = str(&c.smtp_url);
    } else if (key == "smtp_from") {
      s = str(&c.smtp_from);
    } else if (key == "metric_retention_days") {
      s = integer(&c.metric_retention_days);
    } else if (key == "python") {
      s = str(&c.python);
    } else if (key == "node") {
      s = str(&c.node);
    } else if (key == "function_idle_seconds") {
      s = integer(&c.function_idle_seconds);
    } else if (key == "function_init_backoff_ms") {
      s = integer(&c.function_init_backoff_ms);
    } else if (key == "delivery_nice") {
      s = integer(&c.delivery_nice);
    } else if (key == "max_function_concurrency") {
      s = integer(&c.max_function_concurrency);
    } else if (key == "max_rules_per_bus") {
      s = integer(&c.max_rules_per_bus);
    } else if (key == "event_retention_seconds") {
      s = integer(&c.event_retention_seconds);
    } else if (key == "max_request_bytes") {
      s = integer(&c.max_request_bytes);
    } else if (key == "sns_confirm_subscriptions") {
      s = boolean(&c.sns_confirm_subscriptions);
    } else if (key == "allow_reserved_sources") {
      s = boolean(&c.allow_reserved_sources);
    } else if (key == "release_startup_pages") {
      s = boolean(&c.release_startup_pages);
    } else {
      s = FieldError(path, key, "unknown field");
    }
    if (!s.ok()) return s;
  }
  return c;
}

absl::Status SplitHostPort(const std::string& address, const std::string& field,
                           std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", address, "\" is not HOST:PORT"));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": port in \"", address, "\" must be 0..65535"));
  }
  *host = h;
  *port = p;
  return absl::OkStatus();
}

absl::Status Validate(const DaemonConfig& c) {
  std::string host;
  int port = 0;
  absl::Status s = SplitHostPort(c.grpc_listen, "grpc_listen", &host, &port);
  if (!s.ok()) return s;
  s = SplitHostPort(c.http_listen, "http_listen", &host, &port);
  if (!s.ok()) return s;
  if (c.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir: must not be empty");
  }
  if (c.account.size() != 12 ||
      c.account.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError("account: must be 12 digits");
  }
  if (c.region.empty()) {
    return absl::InvalidArgumentError("region: must not be empty");
  }
  if (c.event_retention_seconds < 0) {
    return absl::InvalidArgumentError(
        "event_retention_seconds: must be 0 (off) or positive");
  }
  if (c.max_request_bytes < 1024 || c.max_request_bytes > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError(
        "max_request_bytes: must be between 1024 and 16777216");
  }
  if (c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warning" && c.log_level != "error") {
    return absl::InvalidArgumentError(
        "log_level: must be debug, info, warning or error");
  }
  if (c.clock != "real" && c.clock != "manual") {
    return absl::InvalidArgumentError("clock: must be real or manual");
  }
  if (!c.clock_start.empty()) {
    absl::Time t;
    std::string err;
    if (c.clock != "manual") {
      return absl::InvalidArgumentError("clock_start: needs clock manual");
    }
    if (!absl::ParseTime(absl::RFC3339_full, c.clock_start, &t, &err)) {
      return absl::InvalidArgumentError(
          absl::StrCat("clock_start: not an RFC 3339 time: ", err));
    }
  }
  if (c.grpc_tls_cert.empty() != c.grpc_tls_key.empty()) {
    return absl::InvalidArgumentError(
        c.grpc_tls_cert.empty() ? "grpc_tls_cert: needed with grpc_tls_key"
                                : "grpc_tls_key: needed with grpc_tls_cert");
  }
  if (!c.grpc_tls_client_ca.empty() && c.grpc_tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "grpc_tls_client_ca: needs grpc_tls_cert and grpc_tls_key");
  }
  if (c.http_tls_cert.empty() != c.http_tls_key.empty()) {
    return absl::InvalidArgumentError(
        c.http_tls_cert.empty() ? "http_tls_cert: needed with http_tls_key"
                                : "http_tls_key: needed with http_tls_cert");
  }
  if (c.metric_retention_days < 1 || c.metric_retention_days > 455) {
    return absl::InvalidArgumentError(
        "metric_retention_days: must be between 1 and 455");
  }
  if (c.smtp_from.find('@') == std::string::npos) {
    return absl::InvalidArgumentError("smtp_from: must be an email address");
  }
  if (c.function_idle_seconds < 1) {
    return absl::InvalidArgumentError(
        "function_idle_seconds: must be at least 1");
  }
  if (c.delivery_nice < 0 || c.delivery_nice > 19) {
    return absl::InvalidArgumentError(
        "delivery_nice: must be between 0 and 19");
  }
  if (c.function_init_backoff_ms < 0 || c.function_init_backoff_ms > 10000) {
    return absl::InvalidArgumentError(
        "function_init_backoff_ms: must be between 0 and 10000");
  }
  if (c.max_rules_per_bus < 1 || c.max_rules_per_bus > 100000) {
    return absl::InvalidArgumentError(
        "max_rules_per_bus: must be between 1 and 100000");
  }
  if (c.max_function_concurrency < 1 || c.max_function_concurrency > 10000) {
    return absl::InvalidArgumentError(
        "max_function_concurrency: must be between 1 and 10000");
  }
  if (c.missed_ticks != "none" && c.missed_ticks != "latest" &&
      c.missed_ticks != "all") {
    return absl::InvalidArgumentError(
        "missed_ticks: must be none, latest or all");
  }
  if (c.min_free_disk_mb < 0 || c.min_free_disk_mb > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(
        "min_free_disk_mb: must be between 0 and 1073741824");
  }
  if (c.http_max_connections < 1 || c.http_max_connections > 65536) {
    return absl::InvalidArgumentError(
        "http_max_connections: must be between 1 and 65536");
  }
  if (c.http_keep_alive_seconds < 1 || c.http_keep_alive_seconds > 3600) {
    return absl::InvalidArgumentError(
        "http_keep_alive_seconds: must be between 1 and 3600");
  }
  if (c.http_read_timeout_seconds < 1 || c.http_read_timeout_seconds > 3600) {
    return absl::InvalidArgumentError(
        "http_read_timeout_seconds: must be between 1 and 3600");
  }
  if (c.http_header_timeout_seconds < 0 ||
      c.http_header_timeout_seconds > 3600) {
    return absl::InvalidArgumentError(
        "http_header_timeout_seconds: must be between 0 and 3600");
  }
  if (c.wal_recovery != "strict" && c.wal_recovery != "point-in-time") {
    return absl::InvalidArgumentError(
        "wal_recovery: must be strict or point-in-time");
  }
  absl::StatusOr<std::optional<std::pair<uint32_t, uint32_t>>> uids =
      ParseUidRange(c.function_uids);
  if (!uids.ok()) return uids.status();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<uint32_t, uint32_t>>> ParseUidRange(
    const std::string& text) {
  if (text == "none") return std::nullopt;
  const size_t dash = text.find('-');
  uint32_t first = 0;
  uint32_t last = 0;
  if (dash == std::string::npos ||
      !absl::SimpleAtoi(text.substr(0, dash), &first) ||
      !absl::SimpleAtoi(text.substr(dash + 1), &last) || first == 0 ||
      first > last || last == UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "function_uids: must be FIRST-LAST (1 <= FIRST <= LAST < 4294967295) "
        "or none, not '",
        text, "'"));
  }
  return std::make_pair(first, last);
}

}  // namespace evbus::config
