#include "server/daemon/tls_reloader.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/certificates.h"
#include "tests/testing/temp_dir.h"

namespace evbus::daemon {
namespace {

using ::evbus::testing::Generated;
using ::evbus::testing::SelfSigned;
using ::testing::HasSubstr;

class TlsReloaderTest : public ::testing::Test {
 protected:
  // Writes `text` to a new file renamed over `name`, as certbot does.
  std::string Install(const std::string& name, const std::string& text) {
    const std::string path = dir_.Join(name);
    const std::string tmp = path + ".new";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
    ::chmod(tmp.c_str(), 0600);
    std::rename(tmp.c_str(), path.c_str());
    return path;
  }

  void Watch(const Generated& now, bool with_ca = false) {
    TlsReloader::Listener l{.name = "grpc",
                            .cert_path = Install("server.crt", now.cert),
                            .cert_field = "grpc_tls_cert",
                            .key_path = Install("server.key", now.key),
                            .key_field = "grpc_tls_key",
                            .set_key_pair =
                                [this](const common::TlsKeyPair& pair) {
                                  served_.push_back(pair.cert_chain);
                                  return absl::OkStatus();
                                },
                            .set_client_ca =
                                [this](const std::string& ca) {
                                  cas_.push_back(ca);
                                  return absl::OkStatus();
                                }};
    if (with_ca) {
      l.client_ca_path = Install("clients.crt", ca_.cert);
      l.client_ca_field = "grpc_tls_client_ca";
    }
    reloader_.Add(std::move(l), {now.cert, now.key});
  }

  std::string Metrics() const { return registry_.Serialize(); }

  testing::TempDir dir_;
  metrics::Registry registry_;
  TlsReloader reloader_{registry_};
  const Generated ca_ = SelfSigned("clients", 30);
  std::vector<std::string> served_;
  std::vector<std::string> cas_;
};

TEST_F(TlsReloaderTest, ChangedFilesAreTakenOnceTheyHoldStill) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  Watch(a);
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_TRUE(served_.empty());

  Install("server.crt", b.cert);
  Install("server.key", b.key);
  // Seen changing: not read yet (a copy may be in progress).
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_TRUE(served_.empty());
  // Unchanged since: read, checked and handed over, once.
  EXPECT_EQ(reloader_.Check(false), 1);
  ASSERT_EQ(served_.size(), 1u);
  EXPECT_EQ(served_[0], b.cert);
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_EQ(served_.size(), 1u);
  EXPECT_THAT(Metrics(), HasSubstr("evbus_tls_reloads_total{listener=\"grpc\","
                                   "result=\"ok\"} 1"));
  EXPECT_THAT(Metrics(),
              HasSubstr("evbus_tls_certificate_expiry_timestamp_seconds{"
                        "listener=\"grpc\"}"));

  // Forced (SIGHUP): read at once, even unchanged.
  EXPECT_EQ(reloader_.Check(true), 1);
  EXPECT_EQ(served_.size(), 2u);
}

TEST_F(TlsReloaderTest, APairThatFailsTheChecksIsRefusedOnce) {
  const Generated a = SelfSigned("evbus-a", 30);
  const Generated b = SelfSigned("evbus-b", 30);
  Watch(a);
  // b's key with a's certificate.
  Install("server.key", b.key);
  reloader_.Check(false);
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_TRUE(served_.empty());
  EXPECT_THAT(Metrics(), HasSubstr("evbus_tls_reloads_total{listener=\"grpc\","
                                   "result=\"refused\"} 1"));
  // Not read again until the files change again.
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_THAT(Metrics(), HasSubstr("result=\"refused\"} 1"));
  // A missing file is refused too, and the listener keeps its pair.
  ASSERT_EQ(std::remove(dir_.Join("server.key").c_str()), 0);
  reloader_.Check(false);
  reloader_.Check(false);
  EXPECT_THAT(Metrics(), HasSubstr("result=\"refused\"} 2"));
  // The matching key: taken.
  Install("server.key", a.key);
  reloader_.Check(false);
  EXPECT_EQ(reloader_.Check(false), 1);
  ASSERT_EQ(served_.size(), 1u);
  EXPECT_EQ(served_[0], a.cert);
}

TEST_F(TlsReloaderTest, ClientCasAreRenewedWithThePair) {
  const Generated a = SelfSigned("evbus-a", 30);
  Watch(a, /*with_ca=*/true);
  const Generated other = SelfSigned("new-clients", 30);
  Install("clients.crt", other.cert);
  reloader_.Check(false);
  EXPECT_EQ(reloader_.Check(false), 1);
  ASSERT_EQ(cas_.size(), 1u);
  EXPECT_EQ(cas_[0], other.cert);
  EXPECT_EQ(served_.size(), 1u);
  // A file that holds no certificate: refused, nothing handed over.
  Install("clients.crt", "not a certificate\n");
  reloader_.Check(false);
  EXPECT_EQ(reloader_.Check(false), 0);
  EXPECT_EQ(cas_.size(), 1u);
}

TEST(FileStampTest, TellsReplacedAndRewrittenFiles) {
  testing::TempDir dir;
  const std::string path = dir.Join("f");
  EXPECT_NE(FileStamp::Of(path).error, 0);
  std::ofstream(path) << "one";
  const FileStamp one = FileStamp::Of(path);
  EXPECT_EQ(one.error, 0);
  EXPECT_EQ(one, FileStamp::Of(path));
  std::ofstream(path, std::ios::trunc) << "two!";
  EXPECT_NE(one, FileStamp::Of(path));
  const std::string other = dir.Join("g");
  std::ofstream(other) << "two!";
  const FileStamp before = FileStamp::Of(path);
  std::rename(other.c_str(), path.c_str());
  EXPECT_NE(before, FileStamp::Of(path));
}

}  // namespace
}  // namespace evbus::daemon
