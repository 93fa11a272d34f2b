#include "server/bus/connection_registry.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/storage/keys.h"

namespace evbus::bus {
namespace {

constexpr char kConnectionKind[] = "connection";
constexpr char kDestinationKind[] = "api-destination";

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

absl::Status NameError(absl::string_view name) {
  return common::ConstraintViolation({common::ConstraintClause(
      name, "name",
      name.empty()       ? "have length greater than or equal to 1"
      : name.size() > 64 ? "have length less than or equal to 64"
                         : "satisfy regular expression pattern: "
                           "[\\.\\-_A-Za-z0-9]+")});
}

// "arn:...:connection/<name>/<id>" → name.
std::string NameFromArn(const std::string& arn, absl::string_view kind) {
  std::string marker = absl::StrCat(":", kind, "/");
  size_t at = arn.find(marker);
  if (at == std::string::npos) return arn;
  std::string rest = arn.substr(at + marker.size());
  return rest.substr(0, rest.find('/'));
}

void RedactParams(evbus::v1::ConnectionHttpParameters* p) {
  for (auto* list :
       {p->mutable_header_parameters(), p->mutable_query_string_parameters(),
        p->mutable_body_parameters()}) {
    for (auto& kv : *list) {
      if (kv.is_value_secret()) kv.clear_value();
    }
  }
}

void AppendParams(const google::protobuf::RepeatedPtrField<
                      evbus::v1::ConnectionHttpParameter>& from,
                  std::vector<std::pair<std::string, std::string>>* to) {
  for (const auto& kv : from) to->emplace_back(kv.key(), kv.value());
}

}  // namespace

namespace {

constexpr absl::string_view kOAuth = "OAUTH_CLIENT_CREDENTIALS";

// The token request an OAuth connection makes.
delivery::OAuthClient OAuthClientOf(const evbus::v1::Connection& c) {
  const auto& o = c.auth_parameters().oauth_parameters();
  delivery::OAuthClient client;
  client.connection_arn = c.connection_arn();
  client.endpoint = o.authorization_endpoint();
  client.method = o.http_method();
  client.client_id = o.client_id();
  client.client_secret = o.client_secret();
  AppendParams(o.oauth_http_parameters().header_parameters(), &client.headers);
  AppendParams(o.oauth_http_parameters().query_string_parameters(),
               &client.query);
  AppendParams(o.oauth_http_parameters().body_parameters(), &client.body);
  return client;
}

// The state a connection starts in (again, after an update): OAuth
// connections wait for a token.
void SetInitialState(evbus::v1::Connection& c) {
  c.set_connection_state(c.authorization_type() == kOAuth ? "AUTHORIZING"
                                                          : "AUTHORIZED");
  c.clear_state_reason();
}

}  // namespace

evbus::v1::Connection Redacted(const evbus::v1::Connection& c) {
  evbus::v1::Connection out = c;
  auto* auth = out.mutable_auth_parameters();
  auth->mutable_basic_auth_parameters()->clear_password();
  auth->mutable_api_key_auth_parameters()->clear_api_key_value();
  auth->mutable_oauth_parameters()->clear_client_secret();
  RedactParams(
      auth->mutable_oauth_parameters()->mutable_oauth_http_parameters());
  RedactParams(auth->mutable_invocation_http_parameters());
  out.clear_signing_secret();
  return out;
}

ConnectionRegistry::ConnectionRegistry(storage::Store& store,
                                       common::Clock& clock,
                                       ConnectionOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

absl::Status ConnectionRegistry::Load() {
  absl::MutexLock lock(&mu_);
  for (const char* kind : {kConnectionKind, kDestinationKind}) {
    std::string prefix = storage::keys::CatalogPrefix(kind);
    bool is_connection = std::string_view(kind) == kConnectionKind;
    absl::Status s = store_.Scan(
        storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
        [&](absl::string_view, absl::string_view value) {
          if (is_connection) {
            evbus::v1::Connection c;
            if (c.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
              connections_[c.name()] = c;
            }
          } else {
            evbus::v1::ApiDestination d;
            if (d.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
              destinations_[d.name()] = d;
            }
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  if (options_.authorize) {
    for (const auto& [name, c] : connections_) {
      if (c.authorization_type() == kOAuth &&
          c.connection_state() == "AUTHORIZING") {
        options_.authorize(OAuthClientOf(c));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ConnectionRegistry::Persist(const char* kind,
                                         const std::string& name,
                                         const std::string& value) {
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog, storage::keys::CatalogKey(kind, name),
            value);
  return store_.Write(batch, /*sync=*/true);
}

namespace {

// The auth strings and HTTP parameters that go into requests: at most 512
// characters and no control character but tab (a CR/LF in an API key
// would add headers to every delivery). The value is not echoed: most of
// these are secrets.
absl::Status CheckRequestText(absl::string_view value, absl::string_view path) {
  if (value.size() > 512) {
    return common::ValidationError(absl::StrCat(
        "1 validation error detected: Value at '", path,
        "' failed to satisfy constraint: Member must have length less than or "
        "equal to 512"));
  }
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) {
      return common::ValidationError(absl::StrCat(
          "1 validation error detected: Value at '", path,
          "' failed to satisfy constraint: Member must not contain control "
          "characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHttpParameters(const evbus::v1::ConnectionHttpParameters& p,
                                 absl::string_view path) {
  const std::pair<const char*, const google::protobuf::RepeatedPtrField<
                                   evbus::v1::ConnectionHttpParameter>*>
      lists[] = {{"headerParameters", &p.header_parameters()},
                 {"queryStringParameters", &p.query_string_parameters()},
                 {"bodyParameters", &p.body_parameters()}};
  for (const auto& [name, list] : lists) {
    for (int i = 0; i < list->size(); ++i) {
      const std::string at = absl::StrCat(path, ".", name, ".", i + 1);
      EVBUS_RETURN_IF_ERROR(CheckRequestText((*list)[i].key(), at + ".key"));
      EVBUS_RETURN_IF_ERROR(
          CheckRequestText((*list)[i].value(), at + ".value"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ConnectionRegistry::ValidateConnection(
    const evbus::v1::Connection& c) const {
  {
    const auto& a = c.auth_parameters();
    const std::pair<const std::string*, const char*> texts[] = {
        {&a.basic_auth_parameters().username(),
         "authParameters.basicAuthParameters.username"},
        {&a.basic_auth_parameters().password(),
         "authParameters.basicAuthParameters.password"},
        {&a.api_key_auth_parameters().api_key_name(),
         "authParameters.apiKeyAuthParameters.apiKeyName"},
        {&a.api_key_auth_parameters().api_key_value(),
         "authParameters.apiKeyAuthParameters.apiKeyValue"},
        {&a.oauth_parameters().client_id(),
         "authParameters.oAuthParameters.clientParameters.clientID"},
        {&a.oauth_parameters().client_secret(),
         "authParameters.oAuthParameters.clientParameters.clientSecret"},
    };
    for (const auto& [text, path] : texts) {
      EVBUS_RETURN_IF_ERROR(CheckRequestText(*text, path));
    }
    EVBUS_RETURN_IF_ERROR(
        CheckHttpParameters(a.invocation_http_parameters(),
                            "authParameters.invocationHttpParameters"));
    EVBUS_RETURN_IF_ERROR(CheckHttpParameters(
        a.oauth_parameters().oauth_http_parameters(),
        "authParameters.oAuthParameters.oAuthHttpParameters"));
  }
  if (!ValidName(c.name())) return NameError(c.name());
  if (c.description().size() > 512) {
    return common::ConstraintViolation(
        {common::ConstraintClause(c.description(), "description",
                                  "have length less than or equal to 512")});
  }
  const auto& auth = c.auth_parameters();
  const std::string& type = c.authorization_type();
  if (type == "BASIC") {
    if (auth.basic_auth_parameters().username().empty() ||
        auth.basic_auth_parameters().password().empty()) {
      return common::ValidationError(
          "BasicAuthParameters must include Username and Password.");
    }
  } else if (type == "API_KEY") {
    if (auth.api_key_auth_parameters().api_key_name().empty() ||
        auth.api_key_auth_parameters().api_key_value().empty()) {
      return common::ValidationError(
          "ApiKeyAuthParameters must include ApiKeyName and ApiKeyValue.");
    }
  } else if (type == "OAUTH_CLIENT_CREDENTIALS") {
    const auto& o = auth.oauth_parameters();
    if (o.client_id().empty() || o.client_secret().empty() ||
        o.authorization_endpoint().empty() || o.http_method().empty()) {
      return common::ValidationError(
          "OAuthParameters must include ClientParameters (ClientID, "
          "ClientSecret), AuthorizationEndpoint and HttpMethod.");
    }
    if (o.http_method() != "GET" && o.http_method() != "POST" &&
        o.http_method() != "PUT") {
      return common::ConstraintViolation({common::ConstraintClause(
          o.http_method(), "authParameters.oAuthParameters.httpMethod",
          "satisfy enum value set: [GET, POST, PUT]")});
    }
    if (!absl::StartsWith(o.authorization_endpoint(), "https://") &&
        !absl::StartsWith(o.authorization_endpoint(), "http://")) {
      return common::ValidationError(
          "AuthorizationEndpoint must be an http(s) URL.");
    }
  } else {
    return common::ConstraintViolation({common::ConstraintClause(
        type, "authorizationType",
        "satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]")});
  }
  return absl::OkStatus();
}

absl::StatusOr<evbus::v1::Connection> ConnectionRegistry::CreateConnection(
    evbus::v1::Connection c) {
  absl::Status valid = ValidateConnection(c);
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  if (connections_.count(c.name()) > 0) {
    return common::ResourceAlreadyExists(
        absl::StrCat("Connection ", c.name(), " already exists."));
  }
  c.set_connection_arn(absl::StrCat("arn:aws:events:", options_.region, ":",
                                    options_.account, ":connection/", c.name(),
                                    "/", common::NewUuidV4()));
  SetInitialState(c);
  int64_t now = absl::ToUnixMillis(clock_.Now());
  c.set_creation_time_ms(now);
  c.set_last_modified_time_ms(now);
  absl::Status s = Persist(kConnectionKind, c.name(), c.SerializeAsString());
  if (!s.ok()) return s;
  connections_[c.name()] = c;
  if (c.authorization_type() == kOAuth && options_.authorize) {
    options_.authorize(OAuthClientOf(c));
  }
  return Redacted(c);
}

absl::StatusOr<evbus::v1::Connection> ConnectionRegistry::DescribeConnection(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = connections_.find(name);
  if (it == connections_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Failed to describe the connection(s). Connection '", name,
                     "' does not exist."));
  }
  return Redacted(it->second);
}

absl::StatusOr<evbus::v1::Connection> ConnectionRegistry::UpdateConnection(
    const evbus::v1::Connection& update) {
  absl::MutexLock lock(&mu_);
  auto it = connections_.find(update.name());
  if (it == connections_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Failed to describe the connection(s). Connection '",
                     update.name(), "' does not exist."));
  }
  evbus::v1::Connection c = it->second;
  if (!update.description().empty()) c.set_description(update.description());
  if (!update.authorization_type().empty()) {
    c.set_authorization_type(update.authorization_type());
  }
  if (update.has_auth_parameters()) {
    c.mutable_auth_parameters()->MergeFrom(update.auth_parameters());
  }
  if (!update.signing_secret().empty()) {
    c.set_signing_secret(update.signing_secret());
  }
  absl::Status valid = ValidateConnection(c);
  if (!valid.ok()) return valid;
  SetInitialState(c);
  c.set_last_modified_time_ms(absl::ToUnixMillis(clock_.Now()));
  absl::Status s = Persist(kConnectionKind, c.name(), c.SerializeAsString());
  if (!s.ok()) return s;
  it->second = c;
  if (c.authorization_type() == kOAuth && options_.authorize) {
    options_.authorize(OAuthClientOf(c));
  }
  return Redacted(c);
}

std::vector<evbus::v1::Connection> ConnectionRegistry::ListConnections(
    const std::string& prefix) const {
  std::vector<evbus::v1::Connection> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, c] : connections_) {
    if (absl::StartsWith(name, prefix)) out.push_back(Redacted(c));
  }
  return out;
}

absl::StatusOr<evbus::v1::Connection> ConnectionRegistry::DeleteConnection(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = connections_.find(name);
  if (it == connections_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Failed to describe the connection(s). Connection '", name,
                     "' does not exist."));
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kConnectionKind, name));
  absl::Status s = store_.Write(batch, /*sync=*/true);
  if (!s.ok()) return s;
  evbus::v1::Connection gone = Redacted(it->second);
  gone.set_connection_state("DELETING");
  connections_.erase(it);
  return gone;
}

absl::Status ConnectionRegistry::ValidateDestination(
    const evbus::v1::ApiDestination& d) const {
  if (!ValidName(d.name())) return NameError(d.name());
  const std::string& url = d.invocation_endpoint();
  if (url.size() > 2048 || !(absl::StartsWith(url, "https://") ||
                             absl::StartsWith(url, "http://"))) {
    return common::ConstraintViolation({common::ConstraintClause(
        url, "invocationEndpoint",
        "satisfy regular expression pattern: ^((%[0-9A-Fa-f]{2}|[-()_.!~*';/"
        "?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$ and be an http(s) URL")});
  }
  static const char* kMethods[] = {"POST", "GET",   "HEAD",  "OPTIONS",
                                   "PUT",  "PATCH", "DELETE"};
  bool method_ok = false;
  for (const char* m : kMethods) method_ok |= d.http_method() == m;
  if (!method_ok) {
    return common::ConstraintViolation({common::ConstraintClause(
        d.http_method(), "httpMethod",
        "satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, "
        "DELETE]")});
  }
  if (d.invocation_rate_limit_per_second() < 0) {
    return common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat(d.invocation_rate_limit_per_second()),
        "invocationRateLimitPerSecond",
        "have value greater than or equal to 1")});
  }
  std::string connection = NameFromArn(d.connection_arn(), "connection");
  auto it = connections_.find(connection);
  // EventBridge's ConnectionArn pattern requires the id after the name
  // (".../connection/NAME/ID"): a name-only ARN is refused, with the ARN
  // that would do.
  if (it != connections_.end() &&
      absl::StartsWith(d.connection_arn(), "arn:") &&
      d.connection_arn() != it->second.connection_arn() &&
      absl::EndsWith(d.connection_arn(),
                     absl::StrCat(":connection/", connection))) {
    return common::ValidationError(absl::StrCat(
        "Parameter ConnectionArn is not valid: '", d.connection_arn(),
        "' lacks the connection's id; the ARN of connection ", connection,
        " is ", it->second.connection_arn(), "."));
  }
  if (it == connections_.end() ||
      (absl::StartsWith(d.connection_arn(), "arn:") &&
       it->second.connection_arn() != d.connection_arn())) {
    return common::ResourceNotFound(
        absl::StrCat("Connection '", connection, "' does not exist."));
  }
  return absl::OkStatus();
}

absl::StatusOr<evbus::v1::ApiDestination>
ConnectionRegistry::CreateApiDestination(evbus::v1::ApiDestination d) {
  absl::MutexLock lock(&mu_);
  absl::Status valid = ValidateDestination(d);
  if (!valid.ok()) return valid;
  if (destinations_.count(d.name()) > 0) {
    return common::ResourceAlreadyExists(
        absl::StrCat("An api-destination '", d.name(), "' already exists."));
  }
  d.set_connection_arn(
      connections_[NameFromArn(d.connection_arn(), "connection")]
          .connection_arn());
  d.set_api_destination_arn(
      absl::StrCat("arn:aws:events:", options_.region, ":", options_.account,
                   ":api-destination/", d.name(), "/", common::NewUuidV4()));
  if (d.invocation_rate_limit_per_second() == 0) {
    d.set_invocation_rate_limit_per_second(300);
  }
  d.set_api_destination_state("ACTIVE");
  int64_t now = absl::ToUnixMillis(clock_.Now());
  d.set_creation_time_ms(now);
  d.set_last_modified_time_ms(now);
  absl::Status s = Persist(kDestinationKind, d.name(), d.SerializeAsString());
  if (!s.ok()) return s;
  destinations_[d.name()] = d;
  return d;
}

absl::StatusOr<evbus::v1::ApiDestination>
ConnectionRegistry::DescribeApiDestination(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = destinations_.find(name);
  if (it == destinations_.end()) {
    return common::ResourceNotFound(absl::StrCat(
        "Failed to describe the api-destination(s). An api-destination '", name,
        "' does not exist."));
  }
  return it->second;
}

absl::StatusOr<evbus::v1::ApiDestination>
ConnectionRegistry::UpdateApiDestination(
    const evbus::v1::ApiDestination& update) {
  absl::MutexLock lock(&mu_);
  auto it = destinations_.find(update.name());
  if (it == destinations_.end()) {
    return common::ResourceNotFound(absl::StrCat(
        "Failed to describe the api-destination(s). An api-destination '",
        update.name(), "' does not exist."));
  }
  evbus::v1::ApiDestination d = it->second;
  if (!update.description().empty()) d.set_description(update.description());
  if (!update.connection_arn().empty()) {
    d.set_connection_arn(update.connection_arn());
  }
  if (!update.invocation_endpoint().empty()) {
    d.set_invocation_endpoint(update.invocation_endpoint());
  }
  if (!update.http_method().empty()) d.set_http_method(update.http_method());
  if (update.invocation_rate_limit_per_second() > 0) {
    d.set_invocation_rate_limit_per_second(
        update.invocation_rate_limit_per_second());
  }
  absl::Status valid = ValidateDestination(d);
  if (!valid.ok()) return valid;
  d.set_connection_arn(
      connections_[NameFromArn(d.connection_arn(), "connection")]
          .connection_arn());
  d.set_last_modified_time_ms(absl::ToUnixMillis(clock_.Now()));
  absl::Status s = Persist(kDestinationKind, d.name(), d.SerializeAsString());
  if (!s.ok()) return s;
  it->second = d;
  return d;
}

std::vector<evbus::v1::ApiDestination> ConnectionRegistry::ListApiDestinations(
    const std::string& prefix, const std::string& connection_arn) const {
  std::vector<evbus::v1::ApiDestination> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, d] : destinations_) {
    if (!absl::StartsWith(name, prefix)) continue;
    if (!connection_arn.empty() && d.connection_arn() != connection_arn)
      continue;
    out.push_back(d);
  }
  return out;
}

absl::Status ConnectionRegistry::DeleteApiDestination(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = destinations_.find(name);
  if (it == destinations_.end()) {
    return common::ResourceNotFound(absl::StrCat(
        "Failed to describe the api-destination(s). An api-destination '", name,
        "' does not exist."));
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kDestinationKind, name));
  absl::Status s = store_.Write(batch, /*sync=*/true);
  if (!s.ok()) return s;
  destinations_.erase(it);
  return absl::OkStatus();
}

absl::Status ConnectionRegistry::CheckApiDestination(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  if (destinations_.count(name) == 0) {
    return common::ResourceNotFound(absl::StrCat(
        "Failed to describe the api-destination(s). An api-destination '", name,
        "' does not exist."));
  }
  return absl::OkStatus();
}

std::optional<delivery::HttpEndpoint> ConnectionRegistry::Resolve(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto d = destinations_.find(name);
  if (d == destinations_.end()) return std::nullopt;
  auto c =
      connections_.find(NameFromArn(d->second.connection_arn(), "connection"));
  if (c == connections_.end()) return std::nullopt;
  delivery::HttpEndpoint http;
  http.url = d->second.invocation_endpoint();
  http.method = d->second.http_method();
  http.rate_per_second = d->second.invocation_rate_limit_per_second();
  http.signing_secret = c->second.signing_secret();
  const auto& auth = c->second.auth_parameters();
  AppendParams(auth.invocation_http_parameters().header_parameters(),
               &http.headers);
  AppendParams(auth.invocation_http_parameters().query_string_parameters(),
               &http.query);
  const std::string& type = c->second.authorization_type();
  if (type == "BASIC") {
    http.headers.emplace_back(
        "Authorization",
        absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(
                                   auth.basic_auth_parameters().username(), ":",
                                   auth.basic_auth_parameters().password()))));
  } else if (type == "API_KEY") {
    http.headers.emplace_back(auth.api_key_auth_parameters().api_key_name(),
                              auth.api_key_auth_parameters().api_key_value());
  } else if (type == kOAuth) {
    http.oauth = OAuthClientOf(c->second);
  }
  return http;
}

void ConnectionRegistry::RecordAuthorization(const std::string& connection_arn,
                                             const absl::Status& result) {
  absl::MutexLock lock(&mu_);
  auto it = connections_.find(NameFromArn(connection_arn, "connection"));
  // Deleted, or deleted and created again, since the request was made.
  if (it == connections_.end() ||
      it->second.connection_arn() != connection_arn ||
      it->second.authorization_type() != kOAuth) {
    return;
  }
  const std::string state = result.ok() ? "AUTHORIZED" : "DEAUTHORIZED";
  const std::string reason = result.ok() ? "" : std::string(result.message());
  if (it->second.connection_state() == state &&
      it->second.state_reason() == reason) {
    return;
  }
  it->second.set_connection_state(state);
  it->second.set_state_reason(reason);
  absl::Status s = Persist(kConnectionKind, it->second.name(),
                           it->second.SerializeAsString());
  if (!s.ok()) {
    EVBUS_LOG(WARNING) << "connection " << it->second.name() << " is " << state
                       << " (not stored: " << s << ")";
  }
}

}  // namespace evbus::bus
