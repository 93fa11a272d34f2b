// File: server/topics/smtp_sender.h
//
// SmtpSender: hands finished RFC 5322 messages to an SMTP relay through
// libcurl's SMTP support (smtp:// or smtps://, optional STARTTLS, optional
// AUTH). It is what `email` and `email-json` subscriptions deliver through;
// rendering the message is sns_messages.h's job.
//
// Errors say whether a retry can help, as the topic's retry policy needs:
//   * Unavailable: connection refused or reset, timeouts, DNS failures and
//     4xx replies (greylisting, "try again later") — retry;
//   * FailedPrecondition: 5xx replies (unknown mailbox, relaying denied,
//     authentication rejected) and TLS that cannot be set up as required
//     (STARTTLS not offered, certificate not trusted) — do not retry;
//   * InvalidArgument: no recipients, or addresses with line breaks or angle
//     brackets.
// Messages name the relay ("smtp://host:port") and the server's reply code,
// never the credentials.
//
// Thread safety: thread-safe; each Send() uses its own connection.
//
// Example:
//   EVBUS_ASSIGN_OR_RETURN(SmtpOptions options,
//                          ParseSmtpUrl("smtp://user:pw@mail.lan:587"));
//   SmtpSender smtp(std::move(options));
//   absl::Status s = smtp.Send("alarms@evbus.lan", {"ops@example.com"},
//                              RenderRfc5322(mail, now, id));
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace evbus::topics {

// How a plain smtp:// connection uses STARTTLS (smtps:// is always TLS).
enum class StartTls {
  kOff,      // never; the session stays in clear text
  kTry,      // upgrade when the server offers STARTTLS (CURLUSESSL_TRY)
  kRequire,  // fail unless the session is upgraded (CURLUSESSL_ALL)
};

struct SmtpOptions {
  // Relay host name or IP address (an IPv6 literal without brackets).
  // Required.
  std::string host;
  // Default: 25 (smtp) or 465 (smtps), as ParseSmtpUrl sets them.
  int port = 25;
  // smtps://: TLS from the first byte. Default: false.
  bool implicit_tls = false;
  // STARTTLS on a plain connection. Default: kTry (opportunistic). A server
  // that offers STARTTLS with a certificate the system does not trust then
  // fails the send; use kOff for such relays, or set ca_file.
  StartTls starttls = StartTls::kTry;
  // CA bundle (PEM) used to verify the relay. Default: the system's.
  std::string ca_file;
  // AUTH (PLAIN / LOGIN / CRAM-MD5, as the server offers) when username is
  // set. Default: no authentication.
  std::string username;
  std::string password;
  // The name sent with EHLO. Default: this machine's host name.
  std::string helo_domain;
  // Bound on connecting and on the whole transaction. Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
};

// Parses a relay URL: smtp[s]://[user[:password]@]host[:port][/helo][?opts]
// where user and password are percent-decoded, host may be an [IPv6]
// literal, and opts is `starttls=off|try|require`. Ports default to 25 and
// 465. InvalidArgument names what is wrong (scheme, port, option).
absl::StatusOr<SmtpOptions> ParseSmtpUrl(absl::string_view url);

// "smtp://host:port" for messages and logs (no credentials).
std::string SmtpRelayName(const SmtpOptions& options);

class SmtpSender {
 public:
  explicit SmtpSender(SmtpOptions options);
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;

  // Runs one SMTP transaction: MAIL FROM:<from>, RCPT TO:<to> for each
  // recipient, DATA with `rfc5322_message` (CRLF line endings expected; the
  // dot-stuffing is done here, by libcurl). Every recipient must be
  // accepted, or nothing is sent. Blocks for at most options.timeout (plus
  // DNS). Errors as described at the top of this file.
  absl::Status Send(const std::string& from, const std::vector<std::string>& to,
                    const std::string& rfc5322_message) const;

  const SmtpOptions& options() const { return options_; }

 private:
  const SmtpOptions options_;
};

}  // namespace evbus::topics
