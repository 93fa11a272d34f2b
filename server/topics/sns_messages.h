// File: server/topics/sns_messages.h
//
// The bytes an SNS-like topic puts on the wire, as pure functions
// (shared/spec/lambda-cloudwatch-sns.md §4.4 and §5):
//   * the HTTP(S) / email-json notification envelope and its string to sign
//     (§5.3), and the Lambda subscriber event (§5.9);
//   * the plain-text email SNS sends to `email` subscribers (§5.8) and its
//     RFC 5322 rendering for an SMTP relay;
//   * the CloudWatch alarm notification: JSON message, subject and the
//     human-readable email text (§4.4);
//   * Publish validation (§5.4) and the document a FilterPolicy with
//     FilterPolicyScope=MessageAttributes is matched against (§5.5).
// Nothing here does I/O, reads a clock or keeps state.
//
// Thread safety: every function is thread-safe. A Signer is called on the
// caller's thread.
//
// Example (an alarm fires and notifies an email subscriber):
//   AlarmStateChange change = ...;
//   Notification n;
//   n.message_id = common::NewUuidV4();
//   n.topic_arn = "arn:aws:sns:us-east-1:123456789012:lambda-canary";
//   n.subject = AlarmEmailSubject(change);
//   n.message = AlarmPublishMessage(change);  // MessageStructure=json
//   n.json_message_structure = true;
//   n.timestamp = clock.Now();
//   EVBUS_RETURN_IF_ERROR(ValidatePublish(n.message, n.subject,
//                                         n.json_message_structure,
//                                         n.attributes));
//   EmailMessage mail = FormatEmail(n, email_options);  // the "email" text
//   std::string wire = RenderRfc5322(mail, clock.Now(), "<id@evbus>");
//   EVBUS_RETURN_IF_ERROR(smtp.Send(mail.from_address, {mail.to_address},
//                                   wire));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/json.h"

namespace evbus::topics {

// ---------------------------------------------------------------------------
// Messages and envelopes (§5.3, §5.9)
// ---------------------------------------------------------------------------

// One Publish MessageAttributes entry.
struct MessageAttribute {
  // "String", "String.Array", "Number" or "Binary", optionally followed by a
  // custom suffix ("String.url", "Number.float").
  std::string data_type;
  // The value of String*, String.Array and Number* attributes.
  std::string string_value;
  // The raw bytes of Binary* attributes (sent base64-encoded).
  std::string binary_value;
};

// Attributes by name. Envelopes list them in name order.
using MessageAttributes = std::map<std::string, MessageAttribute>;

// One published message as one subscriber receives it.
struct Notification {
  std::string message_id;  // a UUID; a retry reuses it
  std::string topic_arn;
  std::optional<std::string> subject;  // Publish Subject, when given
  // Publish Message, verbatim. With `json_message_structure` it is a JSON
  // object of per-protocol strings; see MessageForProtocol().
  std::string message;
  bool json_message_structure = false;  // MessageStructure=json
  absl::Time timestamp;                 // when Publish accepted it
  MessageAttributes attributes;
  std::string signature_version = "1";  // "1" (SHA1withRSA) or "2" (SHA256)
  std::string signing_cert_url;         // where the signing PEM is served
  std::string unsubscribe_url;          // per subscription
};

// Signs the string to sign with the algorithm of `signature_version` ("1":
// SHA1withRSA, "2": SHA256withRSA); returns the base64 signature.
using Signer = std::function<std::string(const std::string& string_to_sign,
                                         absl::string_view signature_version)>;

// What the Token of a subscription's unsubscribe links authenticates.
inline std::string UnsubscribeLinkSubject(absl::string_view subscription_arn) {
  return absl::StrCat("unsubscribe\n", subscription_arn);
}

// "2012-05-02T00:54:06.655Z" (UTC, milliseconds): the envelope Timestamp.
std::string FormatSnsTimestamp(absl::Time t);

// The message a subscriber of `protocol` ("email", "email-json", "http",
// "https", "lambda", "sqs", ...) receives: `n.message`, or for
// MessageStructure=json the string under `protocol`, else under "default".
// A structure that does not parse (ValidatePublish rejects those) yields the
// message verbatim.
std::string MessageForProtocol(const Notification& n,
                               absl::string_view protocol);

// The canonical string SNS signs for a Notification (§5.3): "key\nvalue\n"
// for Message, MessageId, Subject (only when set), Timestamp, TopicArn and
// Type, in that order. Message is MessageForProtocol(n, protocol).
std::string CanonicalStringToSign(const Notification& n,
                                  absl::string_view protocol = "http");

struct EnvelopeOptions {
  // Selects the message for MessageStructure=json: "http", "https" or
  // "email-json". Default: "http".
  std::string protocol = "http";
  // Computes Signature from CanonicalStringToSign(). Default: none, and
  // Signature is "".
  Signer signer;
};

// The HTTP(S) POST body and the email-json body: a JSON object with Type,
// MessageId, TopicArn, Subject (only when set), Message, Timestamp,
// SignatureVersion, Signature, SigningCertURL, UnsubscribeURL and
// MessageAttributes (only when there are some, each
// {"Type":..,"Value":..}, Binary values base64), in that order, laid out as
// SNS lays it out ("key" : value, one member per line).
std::string NotificationEnvelope(const Notification& n,
                                 const EnvelopeOptions& options = {});

// The event SNS invokes a Lambda subscriber with (§5.9):
// {"Records":[{"EventSource":"aws:sns","EventVersion":"1.0",
// "EventSubscriptionArn":..,"Sns":{..}}]}. The Sns object spells
// SigningCertUrl / UnsubscribeUrl, has "Subject":null when no subject was
// given and "MessageAttributes":{} when there are none, as Lambda events do.
std::string LambdaSnsEvent(const Notification& n,
                           absl::string_view subscription_arn,
                           const Signer& signer = {});

// ---------------------------------------------------------------------------
// Email (§5.8)
// ---------------------------------------------------------------------------

struct EmailOptions {
  // Envelope sender and From address. Required.
  std::string from_address;
  // From display name: the topic's DisplayName. Default (empty): "AWS
  // Notifications", as SNS.
  std::string display_name;
  // The subscription and its endpoint (the recipient address).
  std::string subscription_arn;
  std::string endpoint;
  // Base of the unsubscribe link, e.g.
  // "http://127.0.0.1:8080/unsubscribe.html"; the link appends
  // "?SubscriptionArn=<arn>&Endpoint=<address>", and "&Token=<token>" when
  // `unsubscribe_token` is set.
  std::string unsubscribe_base_url;
  std::string unsubscribe_token;
  // Where the footer's last sentence sends questions.
  // Default: SNS's "https://aws.amazon.com/support".
  std::string contact_url = "https://aws.amazon.com/support";
};

// A plain-text email before rendering. Lines end in '\n'.
struct EmailMessage {
  std::string from_address;
  std::string from_display_name;
  std::string to_address;
  std::string subject;
  std::string body;
};

// The `email` subscriber's mail: subject = Publish Subject, or
// "AWS Notification Message"; body = MessageForProtocol(n, "email") followed
// by SNS's "--" footer with the unsubscribe link.
EmailMessage FormatEmail(const Notification& n, const EmailOptions& options);

// The `email-json` subscriber's mail: the same subject, and the body is
// NotificationEnvelope(n) for protocol "email-json" (no footer).
EmailMessage FormatEmailJson(const Notification& n, const EmailOptions& options,
                             const Signer& signer = {});

// The full RFC 5322 message for an SMTP relay: Date, From ("Display"
// <addr>), To, Subject, Message-ID, MIME-Version, Content-Type
// (text/plain; charset=UTF-8) and Content-Transfer-Encoding, then the body;
// CRLF line endings throughout and a final CRLF.
//   * Non-ASCII display names and subjects become RFC 2047 encoded-words
//     (=?UTF-8?B?...?=, folded); long ASCII subjects are folded at spaces.
//   * The body is sent 7bit (ASCII), 8bit (UTF-8) or, when a line exceeds
//     998 octets, quoted-printable.
//   * Lines starting with '.' are NOT dot-stuffed: libcurl's SMTP upload
//     does that (curl tests 803, 901 and 1520), so stuffing here would
//     double the dots.
// `message_id` is used with or without its angle brackets.
std::string RenderRfc5322(const EmailMessage& email, absl::Time date,
                          absl::string_view message_id);

// ---------------------------------------------------------------------------
// CloudWatch alarm notifications (§4.4)
// ---------------------------------------------------------------------------

struct AlarmDimension {
  std::string name;
  std::string value;
};

// One query of a metric math alarm: an expression, or a metric with its
// period and stat.
struct AlarmMetricQuery {
  std::string id;
  std::string label;  // "" when not given
  bool return_data = false;
  std::string expression;  // "" for a metric
  std::string metric_namespace;
  std::string metric_name;
  std::vector<AlarmDimension> dimensions;
  int64_t period_seconds = 0;
  std::string stat;
};

struct AlarmTrigger {
  // Metric math alarms: the queries; then the single-metric fields below
  // (metric_name through dimensions) are unused.
  std::vector<AlarmMetricQuery> metrics;
  std::string metric_name;
  std::string metric_namespace;  // e.g. "AWS/Lambda"
  // Exactly one of the two is set: a statistic ("SampleCount", "Average",
  // "Sum", "Minimum", "Maximum") or an extended statistic ("p90", ...).
  std::string statistic;
  std::string extended_statistic;
  std::optional<std::string> unit;  // JSON null when unset
  std::vector<AlarmDimension> dimensions;
  int64_t period_seconds = 60;
  int evaluation_periods = 1;
  int datapoints_to_alarm = 1;
  std::string comparison_operator;  // e.g. "GreaterThanOrEqualToThreshold"
  double threshold = 0;
  // As configured: "missing", "notBreaching", "breaching", "ignore", or ""
  // when the alarm never set it (CloudWatch then sends "").
  std::string treat_missing_data;
  std::string evaluate_low_sample_count_percentile;  // "" unless set
};

struct AlarmStateChange {
  std::string alarm_name;
  std::optional<std::string> alarm_description;  // JSON null when unset
  std::string account_id;
  std::string region;  // a region code, e.g. "us-east-1"
  std::string alarm_arn;
  std::string old_state;  // "OK", "ALARM", "INSUFFICIENT_DATA"; "" = N/A
  std::string new_state;
  std::string new_state_reason;
  // StateReasonData JSON. Not part of the SNS message (CloudWatch leaves it
  // out); kept for history records and the EventBridge event.
  std::string new_state_reason_data;
  absl::Time state_change_time;
  absl::Time configuration_updated_time;
  std::vector<std::string> ok_actions;
  std::vector<std::string> alarm_actions;
  std::vector<std::string> insufficient_data_actions;
  AlarmTrigger trigger;  // metric alarms
  // Composite alarms: the AlarmRule (then `trigger` is unused, and the
  // triggering children are read from new_state_reason_data's
  // "triggeringAlarms").
  std::optional<std::string> alarm_rule;
};

// The long name CloudWatch uses for a region ("us-east-1" → "US East (N.
// Virginia)", "eu-west-1" → "EU (Ireland)"); the code itself when unknown.
std::string RegionLongName(absl::string_view region_code);

// A double as Java's Double.toString prints it (CloudWatch is Java): "1.0",
// "580.0", "2.88135593220462", "2.147483648E10", "1.0E-4".
std::string JavaDouble(double value);

// "2023-09-18T12:26:21.408+0000" (UTC): CloudWatch's timestamp form.
std::string FormatCloudWatchTimestamp(absl::Time t);

// The JSON message ("default" protocol) CloudWatch publishes, keys in
// CloudWatch's order, with its quirks: upper-case Statistic (SUM, AVERAGE,
// MAXIMUM, MINIMUM, SAMPLE_COUNT) or StatisticType "ExtendedStatistic",
// dimension objects {"value":..,"name":..}, "Unit":null when unset,
// Java-style doubles and +0000 timestamps, Region as the long name. For a
// composite alarm, "AlarmRule" and "TriggeringChildren"
// ([{"Arn":..,"State":{"Value":..,"Timestamp":..}}]) take the place of
// "Trigger". A metric math alarm's Trigger has "Metrics" ([{"Expression",
// "Id", "Label", "ReturnData"} or {"Id", "MetricStat": {"Metric":
// {"Dimensions", "MetricName", "Namespace"}, "Period", "Stat"},
// "ReturnData"}]) in place of MetricName through Dimensions.
std::string AlarmNotificationJson(const AlarmStateChange& change);

// `ALARM: "<name>" in <Region long name>` (or OK: / INSUFFICIENT_DATA:),
// cut to 100 characters (code points) as SNS subjects are.
std::string AlarmEmailSubject(const AlarmStateChange& change);

// The text email subscribers receive: the "You are receiving this email
// because ..." sentence, a pointer to `evbus describe-alarms` where AWS
// links its console, then the Alarm Details, Threshold, Monitored Metric and
// State Change Actions blocks with CloudWatch's column padding (a composite
// alarm: an Alarm Rule block instead of Threshold and Monitored Metric).
std::string AlarmEmailBody(const AlarmStateChange& change);

// What an alarm action publishes with MessageStructure=json, as CloudWatch
// does: {"default":AlarmNotificationJson,"sms":AlarmEmailSubject,
// "email":AlarmEmailBody}. Publish it with Subject = AlarmEmailSubject.
std::string AlarmPublishMessage(const AlarmStateChange& change);

// ---------------------------------------------------------------------------
// Publish validation (§5.4) and filter-policy input (§5.5)
// ---------------------------------------------------------------------------

// Limits SNS applies to Publish.
inline constexpr size_t kMaxMessageBytes = 262144;  // message + attributes
inline constexpr size_t kMaxSubjectChars = 100;
inline constexpr size_t kMaxMessageAttributes = 10;

// Subject given to Publish. InvalidArgument("Invalid parameter: Subject")
// when it is empty, longer than 100 characters, or holds anything but
// printable ASCII (line breaks included).
absl::Status ValidateSubject(absl::string_view subject);

// MessageAttributes given to Publish. InvalidArgument with SNS's texts for:
// more than 10 attributes; names longer than 256, with characters outside
// [A-Za-z0-9_.-], starting or ending with '.', or with ".."; a missing or
// unknown DataType; an empty value or the wrong value field for the type; a
// Number that is not a decimal number with at most 38 significant digits
// between 10^-128 and 10^126.
absl::Status ValidateMessageAttributes(const MessageAttributes& attributes);

// Everything Publish checks before accepting a message, in SNS's order:
// subject, empty message ("Invalid parameter: Empty message"), attributes,
// total size over 256 KiB ("Invalid parameter: Message too long"), and for
// MessageStructure=json a JSON object with a string "default" entry
// ("Invalid parameter: Message Structure - JSON message body failed to
// parse" / "... - No default entry in JSON message body"). All errors are
// InvalidArgument.
absl::Status ValidatePublish(absl::string_view message,
                             const std::optional<std::string>& subject,
                             bool json_message_structure,
                             const MessageAttributes& attributes);

// The object a FilterPolicy with FilterPolicyScope=MessageAttributes is
// matched against: {name: value} with String* → string, String.Array → the
// parsed JSON array, Number* → number. Binary attributes, and String.Array
// or Number values that do not parse, are left out (a policy naming them
// does not match).
common::Json FilterPolicyInput(const MessageAttributes& attributes);

}  // namespace evbus::topics
