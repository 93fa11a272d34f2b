#include "client/command_support.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/aws_error.h"

namespace evbus::cli {

using common::Json;

std::string IsoMillis(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

// Turns a failed RPC into the CLI's error convention.
absl::Status RpcError(const grpc::Status& status, absl::string_view op,
                      const std::string& endpoint) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("InternalFailure") == std::string::npos &&
      status.error_message().find("latched") == std::string::npos) {
    return absl::UnavailableError(
        absl::StrCat("Could not connect to the endpoint ", endpoint, ": ",
                     status.error_message()));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("Read timeout on endpoint ", endpoint, " calling ", op));
  }
  common::AwsErrorParts parts = common::SplitAwsError(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message()));
  // evbusd started with --grpc-token-file: say where the token goes.
  const char* hint =
      status.error_code() == grpc::StatusCode::UNAUTHENTICATED
          ? " (evbusd needs its token: --token-file FILE or $EVBUS_TOKEN_FILE)"
          : "";
  return absl::AbortedError(absl::StrCat("An error occurred (", parts.exception,
                                         ") when calling the ", op,
                                         " operation: ", parts.message, hint));
}

std::unique_ptr<grpc::ClientContext> NewContext(const Context& ctx) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() +
                  std::chrono::seconds(ctx.timeout_seconds));
  if (!ctx.token.empty())
    c->AddMetadata("authorization", "Bearer " + ctx.token);
  return c;
}

absl::StatusOr<Json> ParseJsonArg(const Args& args, const std::string& flag) {
  absl::StatusOr<std::string> raw = args.Required(flag);
  if (!raw.ok()) return raw.status();
  absl::StatusOr<std::string> text = ReadValue(*raw);
  if (!text.ok()) return text.status();
  absl::StatusOr<Json> doc = common::ParseJson(*text, "--" + flag);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Error parsing parameter '--", flag,
                     "': Invalid JSON: ", doc.status().message()));
  }
  return doc;
}

absl::StatusOr<int64_t> ParseTimeArg(const std::string& flag,
                                     const std::string& value) {
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds)) {
    return static_cast<int64_t>(seconds * 1000);
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("argument --", flag, ": \"", value,
                   "\" is not an RFC 3339 time or epoch seconds"));
}

absl::StatusOr<int64_t> ParseSinceArg(const std::string& flag,
                                      const std::string& value,
                                      absl::Time now) {
  static const std::pair<char, absl::Duration> kUnits[] = {
      {'s', absl::Seconds(1)},
      {'m', absl::Minutes(1)},
      {'h', absl::Hours(1)},
      {'d', absl::Hours(24)},
      {'w', absl::Hours(24 * 7)}};
  int64_t n = 0;
  if (value.size() >= 2 &&
      absl::SimpleAtoi(absl::string_view(value).substr(0, value.size() - 1),
                       &n) &&
      n >= 0 && value[0] != '+' && value[0] != '-') {
    for (const auto& [unit, length] : kUnits) {
      if (value.back() == unit) return absl::ToUnixMillis(now - n * length);
    }
  }
  absl::StatusOr<int64_t> ms = ParseTimeArg(flag, value);
  if (ms.ok()) return ms;
  return absl::InvalidArgumentError(absl::StrCat(
      "argument --", flag, ": \"", value,
      "\" is not a duration (30s, 10m, 2h, 1d, 1w), an RFC 3339 time or "
      "epoch seconds"));
}

absl::StatusOr<int> ParseIntArg(const Args& args, const std::string& flag,
                                int def, int lo, int hi) {
  std::optional<std::string> v = args.Get(flag);
  if (!v.has_value()) return def;
  int n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < lo || n > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "argument --", flag, ": must be an integer from ", lo, " to ", hi));
  }
  return n;
}

void MemberReader::Fail(const char* key, const char* what) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("Invalid type for parameter ", option_, ": ", key,
                     ", value must be ", what));
  }
}

std::string MemberReader::Str(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  if (!j[key].is_string()) {
    Fail(key, "a string");
    return "";
  }
  return j[key].get<std::string>();
}

double MemberReader::Num(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return 0;
  if (!j[key].is_number()) {
    Fail(key, "a number");
    return 0;
  }
  return j[key].get<double>();
}

int MemberReader::Int(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return 0;
  if (!j[key].is_number_integer() || j[key].get<int64_t>() > INT32_MAX ||
      j[key].get<int64_t>() < INT32_MIN) {
    Fail(key, "an integer");
    return 0;
  }
  return static_cast<int>(j[key].get<int64_t>());
}

bool MemberReader::Bool(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return false;
  if (!j[key].is_boolean()) {
    Fail(key, "true or false");
    return false;
  }
  return j[key].get<bool>();
}

}  // namespace evbus::cli
