#include "server/config/daemon_config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::config {
namespace {

using ::testing::HasSubstr;

TEST(DaemonConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(Validate(DaemonConfig{}).ok());
}

TEST(DaemonConfigTest, LoadsFileOverBase) {
  evbus::testing::TempDir dir;
  std::ofstream(dir.Join("c.json"))
      << R"({"data_dir": "/x", "event_retention_seconds": 0, "allow_reserved_sources": true, "max_rules_per_bus": 10000, "http_max_connections": 1024, "http_keep_alive_seconds": 60})";
  auto c = LoadConfigFile(dir.Join("c.json"), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/x");
  EXPECT_EQ(c->event_retention_seconds, 0);
  EXPECT_TRUE(c->allow_reserved_sources);
  EXPECT_EQ(c->max_rules_per_bus, 10000);
  EXPECT_EQ(c->http_max_connections, 1024);
  EXPECT_EQ(c->http_keep_alive_seconds, 60);
  EXPECT_EQ(c->http_read_timeout_seconds, 5);
  EXPECT_EQ(c->grpc_listen, "127.0.0.1:4010");
}

TEST(DaemonConfigTest, ErrorsNameTheField) {
  evbus::testing::TempDir dir;
  std::ofstream(dir.Join("a.json")) << R"({"data_dri": "/x"})";
  EXPECT_THAT(
      std::string(LoadConfigFile(dir.Join("a.json"), {}).status().message()),
      HasSubstr("field \"data_dri\": unknown field"));
  std::ofstream(dir.Join("b.json")) << R"({"max_request_bytes": "big"})";
  EXPECT_THAT(
      std::string(LoadConfigFile(dir.Join("b.json"), {}).status().message()),
      HasSubstr("field \"max_request_bytes\": must be an integer"));
  std::ofstream(dir.Join("d.json")) << R"({"release_startup_pages": 1})";
  EXPECT_THAT(
      std::string(LoadConfigFile(dir.Join("d.json"), {}).status().message()),
      HasSubstr("field \"release_startup_pages\": must be true or false"));
  std::ofstream(dir.Join("c.json")) << "{";
  EXPECT_FALSE(LoadConfigFile(dir.Join("c.json"), {}).ok());
  EXPECT_EQ(LoadConfigFile(dir.Join("none.json"), {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DaemonConfigTest, ValidateNamesTheField) {
  DaemonConfig c;
  c.grpc_listen = "nope";
  EXPECT_THAT(std::string(Validate(c).message()), HasSubstr("grpc_listen"));
  c = {};
  c.http_listen = "127.0.0.1:70000";
  EXPECT_THAT(std::string(Validate(c).message()), HasSubstr("http_listen"));
  c = {};
  c.account = "12";
  EXPECT_THAT(std::string(Validate(c).message()), HasSubstr("account"));
  c = {};
  c.event_retention_seconds = -1;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("event_retention_seconds"));
  c = {};
  c.function_init_backoff_ms = -1;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("function_init_backoff_ms"));
  c = {};
  c.max_rules_per_bus = 0;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("max_rules_per_bus"));
  c = {};
  c.delivery_nice = 20;
  EXPECT_THAT(std::string(Validate(c).message()), HasSubstr("delivery_nice"));
  c = {};
  c.log_level = "loud";
  EXPECT_THAT(std::string(Validate(c).message()), HasSubstr("log_level"));
  c = {};
  c.wal_recovery = "lenient";
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("wal_recovery: must be strict or point-in-time"));
  c.wal_recovery = "point-in-time";
  EXPECT_TRUE(Validate(c).ok());
  c = {};
  c.http_max_connections = 0;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("http_max_connections: must be between 1 and 65536"));
  c = {};
  c.http_keep_alive_seconds = 3601;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("http_keep_alive_seconds"));
  c = {};
  c.http_read_timeout_seconds = 0;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("http_read_timeout_seconds"));
  c = {};
  c.http_header_timeout_seconds = -1;
  EXPECT_THAT(std::string(Validate(c).message()),
              HasSubstr("http_header_timeout_seconds"));
  c.http_header_timeout_seconds = 0;  // no limit
  EXPECT_TRUE(Validate(c).ok());
  c = {};
  c.grpc_tls_cert = "/etc/evbus/tls.crt";
  EXPECT_EQ(Validate(c).message(), "grpc_tls_key: needed with grpc_tls_cert");
  c.grpc_tls_cert.clear();
  c.grpc_tls_key = "/etc/evbus/tls.key";
  EXPECT_EQ(Validate(c).message(), "grpc_tls_cert: needed with grpc_tls_key");
  c.grpc_tls_key.clear();
  c.grpc_tls_client_ca = "/etc/evbus/clients.crt";
  EXPECT_EQ(Validate(c).message(),
            "grpc_tls_client_ca: needs grpc_tls_cert and grpc_tls_key");
  c.grpc_tls_cert = "/etc/evbus/tls.crt";
  c.grpc_tls_key = "/etc/evbus/tls.key";
  EXPECT_TRUE(Validate(c).ok());
  c = {};
  c.http_tls_key = "/etc/evbus/tls.key";
  EXPECT_EQ(Validate(c).message(), "http_tls_cert: needed with http_tls_key");
  c.http_tls_cert = "/etc/evbus/tls.crt";
  EXPECT_TRUE(Validate(c).ok());
}

TEST(DaemonConfigTest, SplitHostPort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:0", "f", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort("[::1]:8080", "f", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
  EXPECT_FALSE(SplitHostPort(":80", "f", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("h:x", "f", &host, &port).ok());
}

}  // namespace
}  // namespace evbus::config
