#include "server/topics/sns_messages.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/json.h"
#include "tests/testing/status_matchers.h"

namespace evbus::topics {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Time At(int y, int mo, int d, int h, int mi, int s, int ms = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone()) +
         absl::Milliseconds(ms);
}

// The SNS documentation's example notification (sns-message-and-json-formats).
Notification DocNotification() {
  Notification n;
  n.message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324";
  n.topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic";
  n.subject = "My First Message";
  n.message = "Hello world!";
  n.timestamp = At(2012, 5, 2, 0, 54, 6, 655);
  n.signing_cert_url =
      "https://sns.us-west-2.amazonaws.com/"
      "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
  n.unsubscribe_url =
      "https://sns.us-west-2.amazonaws.com/"
      "?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:"
      "123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96";
  return n;
}

// ------------------------------- envelopes ---------------------------------

TEST(SnsTimestampTest, MillisecondsAndZulu) {
  EXPECT_EQ(FormatSnsTimestamp(At(2012, 5, 2, 0, 54, 6, 655)),
            "2012-05-02T00:54:06.655Z");
  EXPECT_EQ(FormatSnsTimestamp(At(2024, 1, 5, 9, 48, 51)),
            "2024-01-05T09:48:51.000Z");
}

TEST(CanonicalStringToSignTest, NotificationFieldsInOrder) {
  Notification n = DocNotification();
  EXPECT_EQ(CanonicalStringToSign(n),
            "Message\nHello world!\n"
            "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
            "Subject\nMy First Message\n"
            "Timestamp\n2012-05-02T00:54:06.655Z\n"
            "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
            "Type\nNotification\n");
  n.subject.reset();
  EXPECT_EQ(CanonicalStringToSign(n),
            "Message\nHello world!\n"
            "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
            "Timestamp\n2012-05-02T00:54:06.655Z\n"
            "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
            "Type\nNotification\n");
}

TEST(NotificationEnvelopeTest, LaidOutAsSnsWithSignature) {
  Notification n = DocNotification();
  std::string signed_text;
  EnvelopeOptions options;
  options.signer = [&](const std::string& text, absl::string_view version) {
    EXPECT_EQ(version, "1");
    signed_text = text;
    return std::string("c2lnbmF0dXJl");
  };
  EXPECT_EQ(
      NotificationEnvelope(n, options),
      "{\n"
      "  \"Type\" : \"Notification\",\n"
      "  \"MessageId\" : \"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\",\n"
      "  \"TopicArn\" : \"arn:aws:sns:us-west-2:123456789012:MyTopic\",\n"
      "  \"Subject\" : \"My First Message\",\n"
      "  \"Message\" : \"Hello world!\",\n"
      "  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n"
      "  \"SignatureVersion\" : \"1\",\n"
      "  \"Signature\" : \"c2lnbmF0dXJl\",\n"
      "  \"SigningCertURL\" : "
      "\"https://sns.us-west-2.amazonaws.com/"
      "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\",\n"
      "  \"UnsubscribeURL\" : "
      "\"https://sns.us-west-2.amazonaws.com/"
      "?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:"
      "123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96\"\n"
      "}");
  EXPECT_EQ(signed_text, CanonicalStringToSign(n));
}

TEST(NotificationEnvelopeTest, NoSubjectNoSignerAndAttributes) {
  Notification n = DocNotification();
  n.subject.reset();
  n.message = "line \"one\"\nline two";
  n.attributes["store"] = {"String", "example_corp", ""};
  n.attributes["blob"] = {"Binary", "", std::string("\x00\x01\xff", 3)};
  n.attributes["price"] = {"Number", "210.75", ""};
  std::string body = NotificationEnvelope(n);
  EXPECT_THAT(body, Not(HasSubstr("Subject")));
  EXPECT_THAT(body, HasSubstr("  \"Signature\" : \"\",\n"));
  EXPECT_THAT(body, HasSubstr("\"Message\" : \"line \\\"one\\\"\\nline two\""));
  EXPECT_THAT(
      body,
      HasSubstr(
          "  \"MessageAttributes\" : {\n"
          "    \"blob\" : {\"Type\":\"Binary\",\"Value\":\"AAH/\"},\n"
          "    \"price\" : {\"Type\":\"Number\",\"Value\":\"210.75\"},\n"
          "    \"store\" : {\"Type\":\"String\",\"Value\":\"example_corp\"}\n"
          "  }\n}"));
  // It is JSON, with SNS's key order.
  absl::StatusOr<common::Json> doc = common::ParseJson(body);
  ASSERT_THAT(doc, IsOk());
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc->items()) keys.push_back(k);
  EXPECT_THAT(
      keys, ElementsAre("Type", "MessageId", "TopicArn", "Message", "Timestamp",
                        "SignatureVersion", "Signature", "SigningCertURL",
                        "UnsubscribeURL", "MessageAttributes"));
  EXPECT_EQ((*doc)["Message"], "line \"one\"\nline two");
}

TEST(MessageForProtocolTest, JsonStructurePicksProtocolThenDefault) {
  Notification n = DocNotification();
  n.json_message_structure = true;
  n.message = R"({"default":"plain","email":"for email","http":"for http"})";
  EXPECT_EQ(MessageForProtocol(n, "email"), "for email");
  EXPECT_EQ(MessageForProtocol(n, "http"), "for http");
  EXPECT_EQ(MessageForProtocol(n, "https"), "plain");
  EXPECT_EQ(MessageForProtocol(n, "lambda"), "plain");
  n.json_message_structure = false;
  EXPECT_EQ(MessageForProtocol(n, "email"), n.message);

  n.json_message_structure = true;
  EnvelopeOptions email_json;
  email_json.protocol = "email-json";
  EXPECT_THAT(NotificationEnvelope(n, email_json),
              HasSubstr("\"Message\" : \"plain\""));
  EXPECT_THAT(CanonicalStringToSign(n, "email"),
              HasSubstr("Message\nfor email\n"));
}

TEST(LambdaSnsEventTest, RecordShapeAndUrlSpelling) {
  Notification n = DocNotification();
  n.subject.reset();
  EXPECT_EQ(
      LambdaSnsEvent(n, "arn:aws:sns:us-west-2:123456789012:MyTopic:sub-1"),
      "{\"Records\":[{\"EventSource\":\"aws:sns\",\"EventVersion\":\"1.0\","
      "\"EventSubscriptionArn\":\"arn:aws:sns:us-west-2:123456789012:MyTopic:"
      "sub-1\",\"Sns\":{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-"
      "fdea-4c2c-8f9d-bdfb0c7bf324\",\"TopicArn\":\"arn:aws:sns:us-west-2:"
      "123456789012:MyTopic\",\"Subject\":null,\"Message\":\"Hello world!\","
      "\"Timestamp\":\"2012-05-02T00:54:06.655Z\",\"SignatureVersion\":\"1\","
      "\"Signature\":\"\",\"SigningCertUrl\":\"https://sns.us-west-2."
      "amazonaws.com/"
      "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\","
      "\"UnsubscribeUrl\":\"https://sns.us-west-2.amazonaws.com/"
      "?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:"
      "123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96\","
      "\"MessageAttributes\":{}}}]}");
}

TEST(LambdaSnsEventTest, SubjectAttributesAndSignature) {
  Notification n = DocNotification();
  n.attributes["Test"] = {"String", "TestString", ""};
  n.attributes["TestBinary"] = {"Binary", "", "TestBinary"};
  std::string event = LambdaSnsEvent(
      n, "arn:sub", [](const std::string& text, absl::string_view version) {
        return absl::StrCat("sig", version, ":", text.size());
      });
  absl::StatusOr<common::Json> doc = common::ParseJson(event);
  ASSERT_THAT(doc, IsOk());
  const common::Json& sns = (*doc)["Records"][0]["Sns"];
  EXPECT_EQ(sns["Subject"], "My First Message");
  EXPECT_EQ(sns["Signature"],
            absl::StrCat("sig1:", CanonicalStringToSign(n, "lambda").size()));
  EXPECT_EQ(sns["MessageAttributes"]["Test"]["Value"], "TestString");
  EXPECT_EQ(sns["MessageAttributes"]["TestBinary"]["Type"], "Binary");
  EXPECT_EQ(sns["MessageAttributes"]["TestBinary"]["Value"],
            absl::Base64Escape("TestBinary"));
}

// --------------------------------- email -----------------------------------

EmailOptions CanaryEmailOptions() {
  EmailOptions o;
  o.from_address = "no-reply@evbus.example";
  o.display_name = "Canary";
  o.subscription_arn =
      "arn:aws:sns:us-east-1:123456789012:lambda-canary-notifications:"
      "3b0f1e42-9108-4cc3-adbc-9928f8ef9326";
  o.endpoint = "ops@example.com";
  o.unsubscribe_base_url = "http://127.0.0.1:8080/unsubscribe.html";
  return o;
}

TEST(FormatEmailTest, SubjectBodyAndSnsFooter) {
  Notification n = DocNotification();
  EmailMessage mail = FormatEmail(n, CanaryEmailOptions());
  EXPECT_EQ(mail.from_address, "no-reply@evbus.example");
  EXPECT_EQ(mail.from_display_name, "Canary");
  EXPECT_EQ(mail.to_address, "ops@example.com");
  EXPECT_EQ(mail.subject, "My First Message");
  EXPECT_EQ(mail.body,
            "Hello world!\n"
            "\n"
            "--\n"
            "If you wish to stop receiving notifications from this topic, "
            "please click or visit the link below to unsubscribe:\n"
            "http://127.0.0.1:8080/unsubscribe.html"
            "?SubscriptionArn=arn:aws:sns:us-east-1:123456789012:"
            "lambda-canary-notifications:3b0f1e42-9108-4cc3-adbc-9928f8ef9326"
            "&Endpoint=ops@example.com\n"
            "\n"
            "Please do not reply directly to this email. If you have any "
            "questions or comments regarding this email, please contact us at "
            "https://aws.amazon.com/support\n");
}

TEST(FormatEmailTest, DefaultsEmailKeyAndLinkEscaping) {
  Notification n = DocNotification();
  n.subject.reset();
  n.json_message_structure = true;
  n.message = R"({"default":"json for machines","email":"text for people"})";
  EmailOptions o = CanaryEmailOptions();
  o.display_name.clear();
  o.endpoint = "ops+alarms@example.com";
  o.unsubscribe_base_url = "https://evbus.example/unsubscribe?lang=en";
  o.contact_url = "mailto:platform@example.com";
  EmailMessage mail = FormatEmail(n, o);
  EXPECT_EQ(mail.subject, "AWS Notification Message");
  EXPECT_EQ(mail.from_display_name, "AWS Notifications");
  EXPECT_TRUE(absl::StartsWith(mail.body, "text for people\n\n--\n"));
  EXPECT_THAT(mail.body, HasSubstr("https://evbus.example/unsubscribe?lang=en"
                                   "&SubscriptionArn=arn:aws:sns:"));
  EXPECT_THAT(mail.body, HasSubstr("&Endpoint=ops%2Balarms@example.com\n"));
  EXPECT_THAT(mail.body,
              HasSubstr("contact us at mailto:platform@example.com\n"));
}

TEST(FormatEmailTest, TheLinkCarriesItsToken) {
  EmailOptions o = CanaryEmailOptions();
  o.endpoint = "ops@example.com";
  o.unsubscribe_token = "0123456789abcdef0123456789abcdef";
  EmailMessage mail = FormatEmail(DocNotification(), o);
  EXPECT_THAT(mail.body,
              HasSubstr("&Endpoint=ops@example.com"
                        "&Token=0123456789abcdef0123456789abcdef\n"));
}

TEST(FormatEmailJsonTest, BodyIsTheEnvelope) {
  Notification n = DocNotification();
  n.json_message_structure = true;
  n.message = R"({"default":"d","email-json":"ej"})";
  EmailMessage mail = FormatEmailJson(n, CanaryEmailOptions());
  EXPECT_EQ(mail.subject, "My First Message");
  EnvelopeOptions o;
  o.protocol = "email-json";
  EXPECT_EQ(mail.body, NotificationEnvelope(n, o));
  EXPECT_THAT(mail.body, HasSubstr("\"Message\" : \"ej\""));
}

// Undoes RFC 2047 B encoded-words in a (possibly folded) header value.
std::string DecodeEncodedWords(absl::string_view value) {
  std::string out;
  for (absl::string_view part : absl::StrSplit(value, "\r\n ")) {
    EXPECT_TRUE(absl::StartsWith(part, "=?UTF-8?B?")) << part;
    EXPECT_TRUE(absl::EndsWith(part, "?=")) << part;
    EXPECT_LE(part.size(), 75u);
    part.remove_prefix(10);
    part.remove_suffix(2);
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(part, &bytes));
    out += bytes;
  }
  return out;
}

TEST(RenderRfc5322Test, AsciiMessage) {
  EmailMessage mail;
  mail.from_address = "no-reply@evbus.example";
  mail.from_display_name = "Canary";
  mail.to_address = "ops@example.com";
  mail.subject = "ALARM: \"lambda-canary-alarm\" in US East (N. Virginia)";
  mail.body = "first line\n.leading dot\n.\n\nlast";
  EXPECT_EQ(
      RenderRfc5322(mail, At(2019, 8, 5, 17, 4, 3), "abc@evbus"),
      "Date: Mon, 05 Aug 2019 17:04:03 +0000\r\n"
      "From: \"Canary\" <no-reply@evbus.example>\r\n"
      "To: ops@example.com\r\n"
      "Subject: ALARM: \"lambda-canary-alarm\" in US East (N. Virginia)\r\n"
      "Message-ID: <abc@evbus>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: 7bit\r\n"
      "\r\n"
      "first line\r\n"
      ".leading dot\r\n"  // not stuffed: libcurl does that
      ".\r\n"
      "\r\n"
      "last\r\n");
}

TEST(RenderRfc5322Test, Utf8HeadersAndBody) {
  EmailMessage mail;
  mail.from_address = "a@b";
  mail.from_display_name = "Équipe \"Ops\"";
  mail.to_address = "c@d";
  mail.subject =
      "ALARM: \"température-élevée-sur-le-serveur-de-production-numéro-un\" "
      "in EU (Paris) ✓";
  mail.body = "Zürich\r\nok";
  std::string wire = RenderRfc5322(mail, At(2024, 2, 29, 0, 0, 0), "<x@y>");
  std::vector<std::string> lines = absl::StrSplit(wire, "\r\n");
  // From: encoded display name, address kept.
  ASSERT_TRUE(absl::StartsWith(lines[1], "From: =?UTF-8?B?")) << lines[1];
  std::string from_value = lines[1].substr(6, lines[1].find(" <") - 6);
  EXPECT_EQ(DecodeEncodedWords(from_value), mail.from_display_name);
  EXPECT_TRUE(absl::EndsWith(lines[1], " <a@b>"));
  // Subject: folded encoded-words that decode back exactly.
  size_t start = wire.find("Subject: ") + 9;
  size_t end = wire.find("\r\nMessage-ID:");
  EXPECT_EQ(DecodeEncodedWords(wire.substr(start, end - start)), mail.subject);
  EXPECT_THAT(wire, HasSubstr("Message-ID: <x@y>\r\n"));
  EXPECT_THAT(wire, HasSubstr("Content-Transfer-Encoding: 8bit\r\n\r\n"
                              "Zürich\r\nok\r\n"));
  for (const auto& line : lines) EXPECT_LE(line.size(), 76u) << line;
}

TEST(RenderRfc5322Test, LongAsciiSubjectIsFoldedAtSpaces) {
  EmailMessage mail;
  mail.from_address = "a@b";
  mail.to_address = "c@d";
  mail.subject = std::string(60, 'x') + " " + std::string(30, 'y') + " tail";
  std::string wire = RenderRfc5322(mail, At(2024, 1, 1, 0, 0, 0), "m@x");
  EXPECT_THAT(wire,
              HasSubstr(absl::StrCat("Subject: ", std::string(60, 'x'), "\r\n ",
                                     std::string(30, 'y'), " tail\r\n")));
  // A quoted display name with the characters that need escaping.
  mail.from_display_name = "a \"b\" \\ c";
  wire = RenderRfc5322(mail, At(2024, 1, 1, 0, 0, 0), "m@x");
  EXPECT_THAT(wire, HasSubstr("From: \"a \\\"b\\\" \\\\ c\" <a@b>\r\n"));
}

TEST(RenderRfc5322Test, CrLfInHeaderValuesCannotInjectHeaders) {
  EmailMessage mail;
  mail.from_address = "a@b";
  mail.to_address = "c@d\r\nBcc: evil@x";
  mail.subject = "hi\r\nBcc: evil@x";
  std::string wire = RenderRfc5322(mail, At(2024, 1, 1, 0, 0, 0), "m@x");
  EXPECT_THAT(wire, Not(HasSubstr("\r\nBcc:")));
}

TEST(RenderRfc5322Test, OverlongLineSwitchesToQuotedPrintable) {
  EmailMessage mail;
  mail.from_address = "a@b";
  mail.to_address = "c@d";
  mail.subject = "s";
  std::string long_line;
  for (int i = 0; i < 300; ++i) absl::StrAppend(&long_line, "é=", i, " ");
  mail.body = absl::StrCat(long_line, "\nshort trailing space \n.dot");
  std::string wire = RenderRfc5322(mail, At(2024, 1, 1, 0, 0, 0), "m@x");
  EXPECT_THAT(wire, HasSubstr("Content-Transfer-Encoding: quoted-printable"));
  std::string body = wire.substr(wire.find("\r\n\r\n") + 4);
  // Decode: soft breaks, =XX escapes.
  std::string decoded;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '=') {
      if (body.compare(i, 3, "=\r\n") == 0) {
        i += 2;
        continue;
      }
      std::string byte = absl::HexStringToBytes(body.substr(i + 1, 2));
      ASSERT_EQ(byte.size(), 1u);
      decoded += byte;
      i += 2;
    } else {
      decoded.push_back(body[i]);
    }
  }
  EXPECT_EQ(decoded,
            absl::StrCat(long_line, "\r\nshort trailing space \r\n.dot\r\n"));
  for (absl::string_view line : absl::StrSplit(body, "\r\n")) {
    EXPECT_LE(line.size(), 76u);
  }
  EXPECT_THAT(body, HasSubstr("short trailing space=20\r\n"));
}

// ------------------------------- alarms ------------------------------------

// The alarm of the spec's §4.4 example (lambda-canary tutorial).
AlarmStateChange CanaryAlarm() {
  AlarmStateChange c;
  c.alarm_name = "lambda-canary-alarm";
  c.alarm_description = "Lambda canary alarm";
  c.account_id = "123456789012";
  c.region = "us-east-1";
  c.alarm_arn =
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:lambda-canary-alarm";
  c.old_state = "OK";
  c.new_state = "ALARM";
  c.new_state_reason =
      "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (18/09/23 "
      "12:25:00)] was greater than or equal to the threshold (1.0) (minimum 1 "
      "datapoint for OK -> ALARM transition).";
  c.state_change_time = At(2023, 9, 18, 12, 26, 21, 408);
  c.configuration_updated_time = At(2023, 8, 17, 14, 29, 12, 272);
  c.alarm_actions = {
      "arn:aws:sns:us-east-1:123456789012:lambda-canary-notifications"};
  c.trigger.metric_name = "Errors";
  c.trigger.metric_namespace = "AWS/Lambda";
  c.trigger.statistic = "Sum";
  c.trigger.dimensions = {{"FunctionName", "lambda-canary"}};
  c.trigger.period_seconds = 60;
  c.trigger.evaluation_periods = 1;
  c.trigger.datapoints_to_alarm = 1;
  c.trigger.comparison_operator = "GreaterThanOrEqualToThreshold";
  c.trigger.threshold = 1.0;
  c.trigger.treat_missing_data = "missing";
  return c;
}

TEST(AlarmNotificationJsonTest, SpecExampleByteForByte) {
  EXPECT_EQ(
      AlarmNotificationJson(CanaryAlarm()),
      R"js({"AlarmName":"lambda-canary-alarm","AlarmDescription":"Lambda canary alarm","AWSAccountId":"123456789012",)js"
      R"js("AlarmConfigurationUpdatedTimestamp":"2023-08-17T14:29:12.272+0000",)js"
      R"js("NewStateValue":"ALARM","NewStateReason":"Threshold Crossed: 1 out of the last 1 datapoints [1.0 (18/09/23 12:25:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",)js"
      R"js("StateChangeTime":"2023-09-18T12:26:21.408+0000","Region":"US East (N. Virginia)",)js"
      R"js("AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:lambda-canary-alarm","OldStateValue":"OK",)js"
      R"js("OKActions":[],"AlarmActions":["arn:aws:sns:us-east-1:123456789012:lambda-canary-notifications"],"InsufficientDataActions":[],)js"
      R"js("Trigger":{"MetricName":"Errors","Namespace":"AWS/Lambda","StatisticType":"Statistic","Statistic":"SUM","Unit":null,)js"
      R"js("Dimensions":[{"value":"lambda-canary","name":"FunctionName"}],)js"
      R"js("Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold",)js"
      R"js("Threshold":1.0,"TreatMissingData":"missing","EvaluateLowSampleCountPercentile":""}})js");
}

TEST(AlarmNotificationJsonTest, MetricMathAlarmHasMetricsInItsTrigger) {
  AlarmStateChange c = CanaryAlarm();
  c.trigger.metric_name.clear();
  c.trigger.metric_namespace.clear();
  c.trigger.statistic.clear();
  c.trigger.dimensions.clear();
  AlarmMetricQuery e;
  e.id = "e";
  e.metric_namespace = "AWS/Lambda";
  e.metric_name = "Errors";
  e.dimensions = {{"FunctionName", "lambda-canary"}};
  e.period_seconds = 60;
  e.stat = "Sum";
  AlarmMetricQuery rate;
  rate.id = "rate";
  rate.label = "Error rate";
  rate.expression = "100*e";
  rate.return_data = true;
  c.trigger.metrics = {e, rate};
  const std::string json = AlarmNotificationJson(c);
  EXPECT_THAT(
      json,
      HasSubstr(
          R"js("Trigger":{"Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":1,)js"
          R"js("ComparisonOperator":"GreaterThanOrEqualToThreshold","Threshold":1.0,)js"
          R"js("TreatMissingData":"missing","EvaluateLowSampleCountPercentile":"",)js"
          R"js("Metrics":[{"Id":"e","MetricStat":{"Metric":{"Dimensions":[{"value":"lambda-canary","name":"FunctionName"}],)js"
          R"js("MetricName":"Errors","Namespace":"AWS/Lambda"},"Period":60,"Stat":"Sum"},"ReturnData":false},)js"
          R"js({"Expression":"100*e","Id":"rate","Label":"Error rate","ReturnData":true}]}})js"));
  EXPECT_THAT(json, Not(HasSubstr("\"MetricName\":\"\"")));
  const std::string body = AlarmEmailBody(c);
  EXPECT_THAT(body, HasSubstr("Monitored Metrics:\n"));
  EXPECT_THAT(body, HasSubstr("AWS/Lambda Errors [FunctionName = "
                              "lambda-canary] Sum, 60 seconds\n"));
  EXPECT_THAT(body, HasSubstr("100*e  (the alarm's series)\n"));
  EXPECT_THAT(body, Not(HasSubstr("Monitored Metric:\n")));
}

TEST(AlarmNotificationJsonTest, CompositeAlarmHasRuleAndTriggeringChildren) {
  AlarmStateChange c = CanaryAlarm();
  c.alarm_name = "page";
  c.alarm_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:page";
  c.alarm_rule = R"(ALARM("errors") AND NOT ALARM("deploying"))";
  c.new_state_reason =
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors transitioned to "
      "ALARM at Monday 18 September, 2023 12:26:21 UTC";
  c.new_state_reason_data =
      R"({"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors","state":{"value":"ALARM","timestamp":"2023-09-18T12:26:21.408+0000"}}]})";
  const std::string json = AlarmNotificationJson(c);
  EXPECT_THAT(
      json,
      ::testing::HasSubstr(
          R"js("InsufficientDataActions":[],"AlarmRule":"ALARM(\"errors\") AND NOT ALARM(\"deploying\")",)js"
          R"js("TriggeringChildren":[{"Arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",)js"
          R"js("State":{"Value":"ALARM","Timestamp":"2023-09-18T12:26:21.408+0000"}}]})js"));
  EXPECT_THAT(json, ::testing::Not(::testing::HasSubstr("Trigger\":")));
  ASSERT_TRUE(common::ParseJson(json, "message").ok());
  const std::string email = AlarmEmailBody(c);
  EXPECT_THAT(email, ::testing::HasSubstr(
                         "Alarm Rule:\n- The alarm is in the ALARM state while "
                         "this rule holds: ALARM(\"errors\") AND NOT "
                         "ALARM(\"deploying\")\n"));
  EXPECT_THAT(email, ::testing::HasSubstr(
                         "--alarm-names page --alarm-types CompositeAlarm"));
  EXPECT_THAT(email, ::testing::Not(::testing::HasSubstr("Monitored Metric")));
}

// A message recorded from CloudWatch (ap-northeast-2, 2022): several
// dimensions, LessThanOrEqualTo, threshold 0.0.
TEST(AlarmNotificationJsonTest, RecordedSeoulMessage) {
  AlarmStateChange c;
  c.alarm_name = "jisoo-test-cw";
  c.alarm_description = "jisoo-test-cw";
  c.account_id = "111122223333";
  c.region = "ap-northeast-2";
  c.alarm_arn =
      "arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm:jisoo-test-cw";
  c.old_state = "OK";
  c.new_state = "ALARM";
  c.new_state_reason =
      "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (28/06/22 "
      "01:55:00)] was less than or equal to the threshold (0.0) (minimum 1 "
      "datapoint for OK -> ALARM transition).";
  c.state_change_time = At(2022, 6, 28, 1, 57, 35, 603);
  c.configuration_updated_time = At(2022, 6, 28, 1, 56, 39, 773);
  c.alarm_actions = {"arn:aws:sns:ap-northeast-2:111122223333:jisoo-test"};
  c.trigger.metric_name = "procstat_lookup_pid_count";
  c.trigger.metric_namespace = "CWAgent";
  c.trigger.statistic = "Sum";
  c.trigger.dimensions = {{"exe", "httpd"},
                          {"InstanceId", "i-03e6aec1a93443558"},
                          {"ImageId", "ami-0fd0765afb77bcca7"},
                          {"pid_finder", "native"},
                          {"InstanceType", "t2.micro"}};
  c.trigger.comparison_operator = "LessThanOrEqualToThreshold";
  c.trigger.threshold = 0;
  c.trigger.treat_missing_data = "missing";
  EXPECT_EQ(
      AlarmNotificationJson(c),
      R"js({"AlarmName":"jisoo-test-cw","AlarmDescription":"jisoo-test-cw","AWSAccountId":"111122223333",)js"
      R"js("AlarmConfigurationUpdatedTimestamp":"2022-06-28T01:56:39.773+0000","NewStateValue":"ALARM",)js"
      R"js("NewStateReason":"Threshold Crossed: 1 out of the last 1 datapoints [0.0 (28/06/22 01:55:00)] was less than or equal to the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).",)js"
      R"js("StateChangeTime":"2022-06-28T01:57:35.603+0000","Region":"Asia Pacific (Seoul)",)js"
      R"js("AlarmArn":"arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm:jisoo-test-cw","OldStateValue":"OK",)js"
      R"js("OKActions":[],"AlarmActions":["arn:aws:sns:ap-northeast-2:111122223333:jisoo-test"],"InsufficientDataActions":[],)js"
      R"js("Trigger":{"MetricName":"procstat_lookup_pid_count","Namespace":"CWAgent","StatisticType":"Statistic","Statistic":"SUM","Unit":null,)js"
      R"js("Dimensions":[{"value":"httpd","name":"exe"},{"value":"i-03e6aec1a93443558","name":"InstanceId"},{"value":"ami-0fd0765afb77bcca7","name":"ImageId"},{"value":"native","name":"pid_finder"},{"value":"t2.micro","name":"InstanceType"}],)js"
      R"js("Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":1,"ComparisonOperator":"LessThanOrEqualToThreshold",)js"
      R"js("Threshold":0.0,"TreatMissingData":"missing","EvaluateLowSampleCountPercentile":""}})js");
}

TEST(AlarmNotificationJsonTest, StatisticsUnitsAndNulls) {
  AlarmStateChange c = CanaryAlarm();
  c.alarm_description.reset();
  c.trigger.unit = "Count";
  c.trigger.threshold = 2.147483648e10;
  c.trigger.treat_missing_data.clear();
  std::string json = AlarmNotificationJson(c);
  EXPECT_THAT(json, HasSubstr(R"("AlarmDescription":null,)"));
  EXPECT_THAT(json, HasSubstr(R"("Unit":"Count",)"));
  EXPECT_THAT(
      json, HasSubstr(R"("Threshold":2.147483648E10,"TreatMissingData":"",)"));
  ASSERT_THAT(common::ParseJson(json), IsOk());

  for (const auto& [stat, upper] :
       std::vector<std::pair<std::string, std::string>>{
           {"SampleCount", "SAMPLE_COUNT"},
           {"Average", "AVERAGE"},
           {"Sum", "SUM"},
           {"Minimum", "MINIMUM"},
           {"Maximum", "MAXIMUM"}}) {
    c.trigger.statistic = stat;
    EXPECT_THAT(
        AlarmNotificationJson(c),
        HasSubstr(absl::StrCat(R"("StatisticType":"Statistic","Statistic":")",
                               upper, R"(","Unit")")));
  }
  c.trigger.statistic.clear();
  c.trigger.extended_statistic = "p90";
  EXPECT_THAT(
      AlarmNotificationJson(c),
      HasSubstr(
          R"("StatisticType":"ExtendedStatistic","ExtendedStatistic":"p90","Unit")"));
}

TEST(JavaDoubleTest, MatchesDoubleToString) {
  EXPECT_EQ(JavaDouble(1.0), "1.0");
  EXPECT_EQ(JavaDouble(0.0), "0.0");
  EXPECT_EQ(JavaDouble(-0.0), "-0.0");
  EXPECT_EQ(JavaDouble(580), "580.0");
  EXPECT_EQ(JavaDouble(30), "30.0");
  EXPECT_EQ(JavaDouble(21.5), "21.5");
  EXPECT_EQ(JavaDouble(2.88135593220462), "2.88135593220462");
  EXPECT_EQ(JavaDouble(596.3636363636364), "596.3636363636364");
  EXPECT_EQ(JavaDouble(100000), "100000.0");
  EXPECT_EQ(JavaDouble(9999999), "9999999.0");
  EXPECT_EQ(JavaDouble(1e7), "1.0E7");
  EXPECT_EQ(JavaDouble(2.147483648e10), "2.147483648E10");
  EXPECT_EQ(JavaDouble(8.3714617344e10), "8.3714617344E10");
  EXPECT_EQ(JavaDouble(0.001), "0.001");
  EXPECT_EQ(JavaDouble(0.0001), "1.0E-4");
  EXPECT_EQ(JavaDouble(-1.5e-5), "-1.5E-5");
  EXPECT_EQ(JavaDouble(-42.25), "-42.25");
}

TEST(RegionLongNameTest, TableAndFallback) {
  EXPECT_EQ(RegionLongName("us-east-1"), "US East (N. Virginia)");
  EXPECT_EQ(RegionLongName("us-west-2"), "US West (Oregon)");
  EXPECT_EQ(RegionLongName("eu-west-1"), "EU (Ireland)");
  EXPECT_EQ(RegionLongName("eu-central-1"), "EU (Frankfurt)");
  EXPECT_EQ(RegionLongName("ap-northeast-1"), "Asia Pacific (Tokyo)");
  EXPECT_EQ(RegionLongName("on-prem-1"), "on-prem-1");
}

TEST(AlarmEmailSubjectTest, StateNameRegionAndTruncation) {
  AlarmStateChange c = CanaryAlarm();
  EXPECT_EQ(AlarmEmailSubject(c),
            "ALARM: \"lambda-canary-alarm\" in US East (N. Virginia)");
  c.new_state = "INSUFFICIENT_DATA";
  c.region = "eu-west-1";
  EXPECT_EQ(AlarmEmailSubject(c),
            "INSUFFICIENT_DATA: \"lambda-canary-alarm\" in EU (Ireland)");
  c.new_state = "OK";
  c.alarm_name = std::string(80, 'a') + "éééééééééééééééééééé";
  std::string subject = AlarmEmailSubject(c);
  EXPECT_EQ(subject,
            absl::StrCat("OK: \"", std::string(80, 'a'), "ééééééééééééééé"));
}

// The email of the AWS lab "lambda-canary-alarm" (us-west-2, 2020), with the
// newer Threshold sentence and our CLI pointer in place of the console link.
TEST(AlarmEmailBodyTest, LabCanaryEmail) {
  AlarmStateChange c = CanaryAlarm();
  c.region = "us-west-2";
  c.alarm_description = "lambda-canary-alarm";
  c.account_id = "123456789";
  c.alarm_arn =
      "arn:aws:cloudwatch:us-west-2:298518306606:alarm:lambda-canary-alarm";
  c.new_state_reason =
      "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (19/06/20 "
      "18:22:00)] was greater than or equal to the threshold (1.0) (minimum 1 "
      "datapoint for OK -> ALARM transition).";
  c.state_change_time = At(2020, 6, 19, 18, 27, 44, 123);
  c.trigger.period_seconds = 300;
  c.alarm_actions = {"arn:aws:sns:us-west-2:123456789:SysOpsTeamPager"};
  EXPECT_EQ(
      AlarmEmailBody(c),
      "You are receiving this email because your Amazon CloudWatch Alarm "
      "\"lambda-canary-alarm\" in the US West (Oregon) region has entered the "
      "ALARM state, because \"Threshold Crossed: 1 out of the last 1 "
      "datapoints [1.0 (19/06/20 18:22:00)] was greater than or equal to the "
      "threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).\" at "
      "\"Friday 19 June, 2020 18:27:44 UTC\".\n"
      "\n"
      "View this alarm with:\n"
      "evbus describe-alarms --alarm-names lambda-canary-alarm\n"
      "\n"
      "Alarm Details:\n"
      "- Name:                       lambda-canary-alarm\n"
      "- Description:                lambda-canary-alarm\n"
      "- State Change:               OK -> ALARM\n"
      "- Reason for State Change:    Threshold Crossed: 1 out of the last 1 "
      "datapoints [1.0 (19/06/20 18:22:00)] was greater than or equal to the "
      "threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).\n"
      "- Timestamp:                  Friday 19 June, 2020 18:27:44 UTC\n"
      "- AWS Account:                123456789\n"
      "- Alarm Arn:                  "
      "arn:aws:cloudwatch:us-west-2:298518306606:alarm:lambda-canary-alarm\n"
      "\n"
      "Threshold:\n"
      "- The alarm is in the ALARM state when the metric is "
      "GreaterThanOrEqualToThreshold 1.0 for at least 1 of the last 1 "
      "period(s) of 300 seconds.\n"
      "\n"
      "Monitored Metric:\n"
      "- MetricNamespace:                     AWS/Lambda\n"
      "- MetricName:                          Errors\n"
      "- Dimensions:                          [FunctionName = lambda-canary]\n"
      "- Period:                              300 seconds\n"
      "- Statistic:                           Sum\n"
      "- Unit:                                not specified\n"
      "- TreatMissingData:                    missing\n"
      "\n"
      "\n"
      "State Change Actions:\n"
      "- OK: \n"
      "- ALARM: [arn:aws:sns:us-west-2:123456789:SysOpsTeamPager]\n"
      "- INSUFFICIENT_DATA: \n");
}

TEST(AlarmEmailBodyTest, OkWordingDimensionsActionsAndQuoting) {
  AlarmStateChange c = CanaryAlarm();
  c.alarm_name = "Alarm: Network In";
  c.alarm_description.reset();
  c.old_state = "ALARM";
  c.new_state = "OK";
  c.new_state_reason = "testing purposes";
  c.trigger.dimensions = {{"TargetGroup", "targetgroup/tg/e74a"},
                          {"LoadBalancer", "app/lb/1372"}};
  c.trigger.unit = "Percent";
  c.trigger.treat_missing_data.clear();
  c.ok_actions = {"arn:aws:sns:us-east-1:1:a",
                  "arn:aws:lambda:us-east-1:1:function:f"};
  c.trigger.datapoints_to_alarm = 2;
  c.trigger.evaluation_periods = 3;
  std::string body = AlarmEmailBody(c);
  EXPECT_TRUE(absl::StartsWith(
      body,
      "You are receiving this email because your Amazon CloudWatch Alarm "
      "\"Alarm: Network In\" in the US East (N. Virginia) region has "
      "transitioned to OK state on Monday 18 September, 2023 12:26:21 UTC, "
      "because \"testing purposes\".\n\n"
      "View this alarm with:\n"
      "evbus describe-alarms --alarm-names 'Alarm: Network In'\n\n"
      "Alarm Details:\n"
      "- Name:                       Alarm: Network In\n"
      "- State Change:               ALARM -> OK\n"))
      << body;
  EXPECT_THAT(body, HasSubstr("- Dimensions:                          "
                              "[TargetGroup = targetgroup/tg/e74a] "
                              "[LoadBalancer = app/lb/1372]\n"));
  EXPECT_THAT(body,
              HasSubstr("- Unit:                                Percent\n"));
  EXPECT_THAT(body,
              HasSubstr("- TreatMissingData:                    missing\n"));
  EXPECT_THAT(body, HasSubstr("for at least 2 of the last 3 period(s) of 60"));
  EXPECT_THAT(body, HasSubstr("- OK: [arn:aws:sns:us-east-1:1:a] "
                              "[arn:aws:lambda:us-east-1:1:function:f]\n"));

  c.alarm_name = "it's";
  c.old_state.clear();
  c.new_state = "INSUFFICIENT_DATA";
  body = AlarmEmailBody(c);
  EXPECT_THAT(body, HasSubstr("has entered the INSUFFICIENT_DATA state, "
                              "because \"testing purposes\" at \"Monday 18 "
                              "September, 2023 12:26:21 UTC\".\n"));
  EXPECT_THAT(body, HasSubstr("--alarm-names 'it'\\''s'\n"));
  EXPECT_THAT(body, HasSubstr("- State Change:               N/A -> "
                              "INSUFFICIENT_DATA\n"));
}

TEST(AlarmPublishMessageTest, PerProtocolMessages) {
  AlarmStateChange c = CanaryAlarm();
  Notification n = DocNotification();
  n.subject = AlarmEmailSubject(c);
  n.message = AlarmPublishMessage(c);
  n.json_message_structure = true;
  ASSERT_THAT(ValidatePublish(n.message, n.subject, true, {}), IsOk());
  EXPECT_EQ(MessageForProtocol(n, "https"), AlarmNotificationJson(c));
  EXPECT_EQ(MessageForProtocol(n, "lambda"), AlarmNotificationJson(c));
  EXPECT_EQ(MessageForProtocol(n, "sms"), AlarmEmailSubject(c));
  EmailMessage mail = FormatEmail(n, CanaryEmailOptions());
  EXPECT_EQ(mail.subject,
            "ALARM: \"lambda-canary-alarm\" in US East (N. Virginia)");
  EXPECT_TRUE(absl::StartsWith(mail.body, AlarmEmailBody(c) + "\n\n--\n"));
  // Two blank lines between the actions and the footer, as in real emails.
  EXPECT_THAT(mail.body, HasSubstr("- INSUFFICIENT_DATA: \n\n\n--\n"));
}

// ------------------------------ validation ---------------------------------

TEST(ValidateSubjectTest, PrintableAsciiUpTo100) {
  EXPECT_THAT(ValidateSubject("My First Message"), IsOk());
  EXPECT_THAT(ValidateSubject(std::string(100, 's')), IsOk());
  EXPECT_THAT(ValidateSubject("~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./ "), IsOk());
  for (const std::string& bad :
       {std::string(), std::string(101, 's'), std::string("a\nb"),
        std::string("a\rb"), std::string("tab\there"),
        std::string("caf\xc3\xa9"), std::string("del\x7f")}) {
    EXPECT_THAT(ValidateSubject(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "Invalid parameter: Subject"))
        << bad;
  }
}

TEST(ValidatePublishTest, OrderAndMessages) {
  using absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ValidatePublish("hello", std::nullopt, false, {}), IsOk());
  EXPECT_THAT(ValidatePublish("hello", std::string(), false, {}),
              StatusIs(kInvalidArgument, "Invalid parameter: Subject"));
  EXPECT_THAT(ValidatePublish("", std::nullopt, false, {}),
              StatusIs(kInvalidArgument, "Invalid parameter: Empty message"));
  // 256 KiB including the attributes' names, types and values.
  EXPECT_THAT(ValidatePublish(std::string(kMaxMessageBytes, 'x'), std::nullopt,
                              false, {}),
              IsOk());
  EXPECT_THAT(
      ValidatePublish(std::string(kMaxMessageBytes + 1, 'x'), std::nullopt,
                      false, {}),
      StatusIs(kInvalidArgument, "Invalid parameter: Message too long"));
  MessageAttributes attrs;
  attrs["ab"] = {"String", "xyz", ""};  // 2 + 6 + 3 = 11 bytes
  EXPECT_THAT(ValidatePublish(std::string(kMaxMessageBytes - 11, 'x'),
                              std::nullopt, false, attrs),
              IsOk());
  EXPECT_THAT(
      ValidatePublish(std::string(kMaxMessageBytes - 10, 'x'), std::nullopt,
                      false, attrs),
      StatusIs(kInvalidArgument, "Invalid parameter: Message too long"));
  // MessageStructure=json.
  EXPECT_THAT(
      ValidatePublish(R"({"default":"d","email":"e"})", std::nullopt, true, {}),
      IsOk());
  EXPECT_THAT(ValidatePublish(R"({"email":"e"})", std::nullopt, true, {}),
              StatusIs(kInvalidArgument,
                       "Invalid parameter: Message Structure - No default "
                       "entry in JSON message body"));
  EXPECT_THAT(ValidatePublish(R"({"default":{"not":"a string"}})", std::nullopt,
                              true, {}),
              StatusIs(kInvalidArgument, HasSubstr("No default entry")));
  for (const char* bad : {"not json", "[\"default\"]", "{\"default\":"}) {
    EXPECT_THAT(ValidatePublish(bad, std::nullopt, true, {}),
                StatusIs(kInvalidArgument,
                         "Invalid parameter: Message Structure - JSON message "
                         "body failed to parse"))
        << bad;
  }
}

TEST(ValidateMessageAttributesTest, NamesTypesValuesAndCount) {
  using absl::StatusCode::kInvalidArgument;
  MessageAttributes ok;
  ok["store"] = {"String", "example_corp", ""};
  ok["customer_interests"] = {"String.Array", R"(["soccer","rugby"])", ""};
  ok["price"] = {"Number", "-1.5e3", ""};
  ok["zero"] = {"Number", "0.000", ""};
  ok["blob"] = {"Binary", "", "\x01"};
  ok["AWS.SNS.MOBILE.MPNS.Type"] = {"String", "token", ""};
  ok["my-attr_1.x"] = {"String.custom", "v", ""};
  ok["n"] = {"Number.float", "3.14", ""};
  EXPECT_THAT(ValidateMessageAttributes(ok), IsOk());

  MessageAttributes many;
  for (int i = 0; i < 11; ++i) many[absl::StrCat("a", i)] = {"String", "v", ""};
  EXPECT_THAT(ValidateMessageAttributes(many),
              StatusIs(kInvalidArgument,
                       "Number of message attributes [11] exceeds the allowed "
                       "maximum [10]."));

  auto one = [](const std::string& name, MessageAttribute a) {
    MessageAttributes m;
    m[name] = std::move(a);
    return ValidateMessageAttributes(m);
  };
  const MessageAttribute s{"String", "v", ""};
  EXPECT_THAT(one(std::string(257, 'n'), s),
              StatusIs(kInvalidArgument, HasSubstr("less than 256 bytes")));
  EXPECT_THAT(one(".a", s),
              StatusIs(kInvalidArgument,
                       "Invalid message attribute name starting with "
                       "character '.' was found."));
  EXPECT_THAT(one("a.", s), StatusIs(kInvalidArgument,
                                     HasSubstr("ending with character '.'")));
  EXPECT_THAT(one("a..b", s),
              StatusIs(kInvalidArgument,
                       "Message attribute name can not have successive '.' "
                       "character."));
  EXPECT_THAT(one("a b", s),
              StatusIs(kInvalidArgument,
                       "Invalid non-alphanumeric character '#x20' was found in "
                       "the message attribute name. Can only include "
                       "alphanumeric characters, hyphens, underscores, or "
                       "dots."));
  EXPECT_THAT(one("a", {"", "v", ""}),
              StatusIs(kInvalidArgument, HasSubstr("Member must not be null")));
  for (const char* type : {"Strin", "Boolean", "String.", "string"}) {
    EXPECT_THAT(one("a", {type, "v", ""}),
                StatusIs(kInvalidArgument,
                         "The message attribute 'a' has an invalid message "
                         "attribute type, the set of supported type prefixes "
                         "is Binary, Number, and String."))
        << type;
  }
  EXPECT_THAT(one("a", {"String", "", ""}),
              StatusIs(kInvalidArgument,
                       "The message attribute 'a' must contain non-empty "
                       "message attribute value for message attribute type "
                       "'String'."));
  EXPECT_THAT(one("a", {"Binary", "text", ""}),
              StatusIs(kInvalidArgument,
                       "The message attribute 'a' with type 'Binary' must use "
                       "field 'Binary'."));
  for (const char* bad :
       {"abc", "1.2.3", "", "0x10", "inf", "NaN", "1e", "--1"}) {
    if (*bad == '\0') continue;
    EXPECT_THAT(one("n", {"Number", bad, ""}),
                StatusIs(kInvalidArgument,
                         "Could not cast message attribute 'n' value to "
                         "number."))
        << bad;
  }
  EXPECT_THAT(one("n", {"Number", "1e127", ""}),
              StatusIs(kInvalidArgument, HasSubstr("outside the supported")));
  EXPECT_THAT(one("n", {"Number", "1e-129", ""}),
              StatusIs(kInvalidArgument, HasSubstr("outside the supported")));
  EXPECT_THAT(one("n", {"Number", std::string(39, '7'), ""}),
              StatusIs(kInvalidArgument, HasSubstr("outside the supported")));
  EXPECT_THAT(one("n", {"Number", std::string(38, '7'), ""}), IsOk());
  EXPECT_THAT(one("n", {"Number", "9.99e126", ""}), IsOk());
  EXPECT_THAT(one("n", {"Number", "1e-128", ""}), IsOk());
  EXPECT_THAT(one("n", {"Number", "0.00100", ""}), IsOk());
}

TEST(FilterPolicyInputTest, AttributesBecomeMatchableValues) {
  MessageAttributes attrs;
  attrs["store"] = {"String", "example_corp", ""};
  attrs["url"] = {"String.url", "https://x", ""};
  attrs["interests"] = {"String.Array", R"(["soccer", 3, true, null])", ""};
  attrs["broken_array"] = {"String.Array", "[not json", ""};
  attrs["price"] = {"Number", "210.75", ""};
  attrs["count"] = {"Number", "42", ""};
  attrs["big"] = {"Number.float", "1e3", ""};
  attrs["bad_number"] = {"Number", "abc", ""};
  attrs["blob"] = {"Binary", "", "\x01"};
  common::Json in = FilterPolicyInput(attrs);
  EXPECT_EQ(
      common::DumpJson(in),
      R"js({"big":1000.0,"count":42,"interests":["soccer",3,true,null],)js"
      R"js("price":210.75,"store":"example_corp","url":"https://x"})js");
}

}  // namespace
}  // namespace evbus::topics
