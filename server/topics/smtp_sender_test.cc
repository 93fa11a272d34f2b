// SmtpSender against a real SMTP server: Debian's aiosmtpd, started from
// testdata/smtp_sink.py on 127.0.0.1 port 0 (python3-aiosmtpd must be
// installed). Also covers a closed port, a server that never greets, and
// ParseSmtpUrl.
#include "server/topics/smtp_sender.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/json.h"
#include "server/topics/sns_messages.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::topics {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string SinkScript() {
  std::vector<std::string> candidates;
  if (const char* src = std::getenv("EVBUS_SOURCE_DIR")) {
    candidates.push_back(
        absl::StrCat(src, "/server/topics/testdata/smtp_sink.py"));
  }
  std::string here = __FILE__;
  candidates.push_back(here.substr(0, here.rfind('/') + 1) +
                       "testdata/smtp_sink.py");
  for (const auto& c : candidates) {
    if (std::ifstream(c).good()) return c;
  }
  return "";
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One aiosmtpd process. Killed (SIGKILL, then reaped) by Stop() or the
// destructor; it also dies with the test process (PR_SET_PDEATHSIG).
class SmtpSink {
 public:
  SmtpSink() = default;
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;
  ~SmtpSink() { Stop(); }

  ::testing::AssertionResult Start(std::vector<std::string> extra_args = {}) {
    std::string script = SinkScript();
    if (script.empty()) {
      return ::testing::AssertionFailure()
             << "testdata/smtp_sink.py not found (set EVBUS_SOURCE_DIR)";
    }
    std::vector<std::string> args = {"/usr/bin/python3", script, dir_.path()};
    for (auto& a : extra_args) args.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      return ::testing::AssertionFailure() << "pipe2 failed";
    }
    pid_ = ::fork();
    if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fds[1], STDOUT_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    // The sink prints its port once it listens; wait at most 10 s.
    std::string line;
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (line.find('\n') == std::string::npos) {
      int left =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      pollfd p{fds[0], POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
      char buf[64];
      ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (!absl::SimpleAtoi(line.substr(0, line.find('\n')), &port_) ||
        port_ <= 0) {
      Stop();
      return ::testing::AssertionFailure()
             << "smtp_sink.py did not report a port (is python3-aiosmtpd "
                "installed?); got '"
             << line << "'";
    }
    return ::testing::AssertionSuccess();
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string Saved(const std::string& name) const {
    return ReadWholeFile(dir_.Join(name));
  }
  bool HasSaved(const std::string& name) const {
    return std::ifstream(dir_.Join(name)).good();
  }

 private:
  evbus::testing::TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

SmtpOptions LoopbackOptions(int port) {
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.helo_domain = "evbus.test";
  o.timeout = absl::Seconds(5);
  return o;
}

// A loopback TCP socket that is bound (and listening if `listen`), so its
// port is either refusing (closed right away) or silent.
class RawSocket {
 public:
  explicit RawSocket(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listen) {
      ::listen(fd_, 8);
    } else {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class SmtpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sink_.Start()); }
  void TearDown() override { sink_.Stop(); }

  SmtpSink sink_;
};

std::string SimpleMessage() {
  EmailMessage mail;
  mail.from_address = "alarms@evbus.test";
  mail.from_display_name = "Canary";
  mail.to_address = "ops@example.com";
  mail.subject = "hello";
  mail.body = "hi\n";
  return RenderRfc5322(mail, absl::FromUnixSeconds(0), "m@evbus.test");
}

TEST_F(SmtpSenderTest, DeliversAnAlarmEmailByteForByte) {
  AlarmStateChange change;
  change.alarm_name = "lambda-canary-alarm";
  change.account_id = "123456789012";
  change.region = "us-east-1";
  change.old_state = "OK";
  change.new_state = "ALARM";
  change.new_state_reason = "testing purposes";
  change.state_change_time = absl::FromUnixSeconds(1695040000);
  change.trigger.metric_name = "Errors";
  change.trigger.metric_namespace = "AWS/Lambda";
  change.trigger.statistic = "Sum";
  change.trigger.comparison_operator = "GreaterThanOrEqualToThreshold";
  change.trigger.threshold = 1;

  Notification n;
  n.message_id = "4f1c0a1e-0000-4000-8000-000000000001";
  n.topic_arn = "arn:aws:sns:us-east-1:123456789012:lambda-canary";
  n.subject = AlarmEmailSubject(change);
  n.message = AlarmPublishMessage(change);
  n.json_message_structure = true;
  EmailOptions options;
  options.from_address = "alarms@evbus.test";
  options.display_name = "Canary";
  options.subscription_arn = n.topic_arn + ":sub-1";
  options.endpoint = "ops@example.com";
  options.unsubscribe_base_url = "http://127.0.0.1:8080/unsubscribe.html";
  EmailMessage mail = FormatEmail(n, options);
  // Lines the SMTP layer must not mangle: a lone dot, leading dots, UTF-8.
  mail.body += ".\n..two dots\n.leading dot\nZürich ✓\n";
  const std::string wire =
      RenderRfc5322(mail, absl::FromUnixSeconds(1695040001), "id-1@evbus");

  SmtpSender smtp(LoopbackOptions(sink_.port()));
  ASSERT_THAT(smtp.Send(mail.from_address, {mail.to_address}, wire), IsOk());

  std::string saved = sink_.Saved("0001.eml");
  EXPECT_EQ(saved, wire);  // libcurl stuffed the dots, the server unstuffed
  EXPECT_THAT(saved, HasSubstr("From: \"Canary\" <alarms@evbus.test>\r\n"));
  EXPECT_THAT(saved, HasSubstr("To: ops@example.com\r\n"));
  EXPECT_THAT(saved, HasSubstr("Subject: ALARM: \"lambda-canary-alarm\" in US "
                               "East (N. Virginia)\r\n"));
  EXPECT_THAT(saved, HasSubstr("You are receiving this email because your "
                               "Amazon CloudWatch Alarm \"lambda-canary-alarm\""
                               " in the US East (N. Virginia) region has "
                               "entered the ALARM state"));
  EXPECT_THAT(saved, HasSubstr("\r\n.\r\n..two dots\r\n.leading dot\r\n"));
  absl::StatusOr<common::Json> meta =
      common::ParseJson(sink_.Saved("0001.json"));
  ASSERT_THAT(meta, IsOk());
  EXPECT_EQ((*meta)["mail_from"], "alarms@evbus.test");
  EXPECT_EQ((*meta)["rcpt_tos"], common::Json::array({"ops@example.com"}));
}

TEST_F(SmtpSenderTest, SeveralRecipientsInOneTransaction) {
  SmtpSender smtp(LoopbackOptions(sink_.port()));
  ASSERT_THAT(smtp.Send("a@evbus.test", {"one@example.com", "two@example.com"},
                        SimpleMessage()),
              IsOk());
  absl::StatusOr<common::Json> meta =
      common::ParseJson(sink_.Saved("0001.json"));
  ASSERT_THAT(meta, IsOk());
  EXPECT_EQ((*meta)["rcpt_tos"],
            common::Json::array({"one@example.com", "two@example.com"}));
}

TEST_F(SmtpSenderTest, PermanentRejectionIsFailedPrecondition) {
  SmtpSender smtp(LoopbackOptions(sink_.port()));
  absl::Status s =
      smtp.Send("a@evbus.test", {"reject@example.com"}, SimpleMessage());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("server reply 550")));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("smtp://127.0.0.1:", sink_.port())));
  // One bad recipient fails the whole transaction: nothing was delivered.
  EXPECT_THAT(
      smtp.Send("a@evbus.test", {"ok@example.com", "reject@example.com"},
                SimpleMessage()),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(sink_.HasSaved("0001.eml"));
}

TEST_F(SmtpSenderTest, TemporaryRejectionIsUnavailable) {
  SmtpSender smtp(LoopbackOptions(sink_.port()));
  EXPECT_THAT(
      smtp.Send("a@evbus.test", {"defer@example.com"}, SimpleMessage()),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("server reply 451")));
}

TEST_F(SmtpSenderTest, RequiredStartTlsNotOfferedIsFailedPrecondition) {
  SmtpOptions options = LoopbackOptions(sink_.port());
  options.starttls = StartTls::kRequire;
  SmtpSender smtp(options);
  EXPECT_THAT(smtp.Send("a@evbus.test", {"ops@example.com"}, SimpleMessage()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(sink_.HasSaved("0001.eml"));
}

TEST(SmtpSenderAuthTest, LogsInWithUrlCredentials) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start({"--auth", "alice:s3cr:t"}));
  const std::string base =
      absl::StrCat("127.0.0.1:", sink.port(), "/evbus.test");

  absl::StatusOr<SmtpOptions> good =
      ParseSmtpUrl(absl::StrCat("smtp://alice:s3cr%3At@", base));
  ASSERT_THAT(good, IsOk());
  EXPECT_THAT(SmtpSender(*good).Send("a@evbus.test", {"ops@example.com"},
                                     SimpleMessage()),
              IsOk());
  absl::StatusOr<common::Json> meta =
      common::ParseJson(sink.Saved("0001.json"));
  ASSERT_THAT(meta, IsOk());
  EXPECT_EQ((*meta)["login"], "alice");

  absl::StatusOr<SmtpOptions> wrong =
      ParseSmtpUrl(absl::StrCat("smtp://alice:nope@", base));
  ASSERT_THAT(wrong, IsOk());
  absl::Status s = SmtpSender(*wrong).Send("a@evbus.test", {"ops@example.com"},
                                           SimpleMessage());
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("535")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("nope")));

  absl::StatusOr<SmtpOptions> anonymous =
      ParseSmtpUrl(absl::StrCat("smtp://", base));
  ASSERT_THAT(anonymous, IsOk());
  EXPECT_THAT(
      SmtpSender(*anonymous)
          .Send("a@evbus.test", {"ops@example.com"}, SimpleMessage()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("530")));
  EXPECT_FALSE(sink.HasSaved("0002.eml"));
}

TEST(SmtpSenderDownTest, ClosedPortIsUnavailable) {
  RawSocket closed(/*listen=*/false);
  SmtpSender smtp(LoopbackOptions(closed.port()));
  EXPECT_THAT(smtp.Send("a@evbus.test", {"ops@example.com"}, SimpleMessage()),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SmtpSenderDownTest, SilentServerTimesOutAsUnavailable) {
  RawSocket silent(/*listen=*/true);  // accepts TCP, never greets
  SmtpOptions options = LoopbackOptions(silent.port());
  options.timeout = absl::Milliseconds(300);
  SmtpSender smtp(options);
  absl::Time start = absl::Now();
  EXPECT_THAT(smtp.Send("a@evbus.test", {"ops@example.com"}, SimpleMessage()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("imeout")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(SmtpSenderArgsTest, RejectsBadAddressesBeforeConnecting) {
  SmtpSender smtp(LoopbackOptions(1));
  EXPECT_THAT(smtp.Send("a@b", {}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(smtp.Send("a@b\r\nRCPT TO:<x@y>", {"c@d"}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(smtp.Send("a@b", {"c@d>"}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(smtp.Send("a@b", {""}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmtpSender(SmtpOptions{}).Send("a@b", {"c@d"}, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseSmtpUrlTest, SchemesPortsCredentialsAndOptions) {
  absl::StatusOr<SmtpOptions> o = ParseSmtpUrl("smtp://mail.lan");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->host, "mail.lan");
  EXPECT_EQ(o->port, 25);
  EXPECT_FALSE(o->implicit_tls);
  EXPECT_EQ(o->starttls, StartTls::kTry);
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(SmtpRelayName(*o), "smtp://mail.lan:25");

  o = ParseSmtpUrl("SMTPS://relay.example.com");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->port, 465);
  EXPECT_TRUE(o->implicit_tls);
  EXPECT_EQ(SmtpRelayName(*o), "smtps://relay.example.com:465");

  o = ParseSmtpUrl(
      "smtp://us%40er:p%40ss:w@mail.lan:587/client.lan?starttls=require");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->username, "us@er");
  EXPECT_EQ(o->password, "p@ss:w");
  EXPECT_EQ(o->host, "mail.lan");
  EXPECT_EQ(o->port, 587);
  EXPECT_EQ(o->helo_domain, "client.lan");
  EXPECT_EQ(o->starttls, StartTls::kRequire);

  o = ParseSmtpUrl("smtp://[::1]:2525?starttls=off");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 2525);
  EXPECT_EQ(o->starttls, StartTls::kOff);
  EXPECT_EQ(SmtpRelayName(*o), "smtp://[::1]:2525");

  o = ParseSmtpUrl("smtp://user@host");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->username, "user");
  EXPECT_EQ(o->password, "");

  for (const char* bad :
       {"mail.lan", "http://mail.lan", "smtp://", "smtp://:25", "smtp://host:0",
        "smtp://host:65536", "smtp://host:x", "smtp://host:", "smtp://[::1",
        "smtp://[::1]x", "smtp://host?starttls=maybe", "smtp://host?verify=no",
        "smtp://us%4@host"}) {
    EXPECT_THAT(ParseSmtpUrl(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  // Credentials never leak into errors.
  EXPECT_THAT(
      ParseSmtpUrl("smtp://u:secret@host:bad"),
      StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("secret"))));
}

}  // namespace
}  // namespace evbus::topics
