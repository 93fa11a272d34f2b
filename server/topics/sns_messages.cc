#include "server/topics/sns_messages.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace evbus::topics {
namespace {

// ------------------------------- helpers -----------------------------------

// `s` as a JSON string literal (UTF-8 kept, invalid bytes replaced).
std::string Quote(absl::string_view s) {
  return common::DumpJson(common::Json(std::string(s)));
}

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool IsUtf8Continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// The first `max_chars` code points of `s`.
std::string TruncateCodePoints(absl::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsUtf8Continuation(s[i])) {
      if (chars == max_chars) return std::string(s.substr(0, i));
      ++chars;
    }
  }
  return std::string(s);
}

constexpr char kHexUpper[] = "0123456789ABCDEF";

// Percent-encodes everything but unreserved characters and ':', '@', '/'
// (so ARNs and addresses read as in SNS's links, while '+', '&', '=', '#'
// and spaces cannot change the query's meaning).
std::string QueryEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
        absl::StrContains("-._~:@/", c)) {
      out.push_back(c);
    } else {
      unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHexUpper[u >> 4]);
      out.push_back(kHexUpper[u & 0xF]);
    }
  }
  return out;
}

// Removes CR and LF so a value cannot start a new header.
std::string OneLine(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

// --------------------------- message structure -----------------------------

std::string AttributeValue(const MessageAttribute& a) {
  if (absl::StartsWith(a.data_type, "Binary")) {
    return absl::Base64Escape(a.binary_value);
  }
  return a.string_value;
}

// -------------------------------- RFC 5322 ---------------------------------

// RFC 2047 "B" encoded-words, each at most 75 characters, split at UTF-8
// character boundaries and joined with folding whitespace.
std::string EncodedWords(absl::string_view text) {
  // 39 bytes → 52 base64 characters → 64-character words, so that even the
  // first, "Subject: " line stays within 76 characters.
  constexpr size_t kChunk = 39;
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t n = std::min(kChunk, text.size() - i);
    while (n > 0 && i + n < text.size() && IsUtf8Continuation(text[i + n])) {
      --n;
    }
    if (n == 0) n = std::min(kChunk, text.size() - i);  // not UTF-8: cut
    words.push_back(absl::StrCat("=?UTF-8?B?",
                                 absl::Base64Escape(text.substr(i, n)), "?="));
    i += n;
  }
  return absl::StrJoin(words, "\r\n ");
}

// True when the value can go into a header as it is (after folding).
bool HeaderSafeAscii(absl::string_view value) {
  if (!IsAscii(value)) return false;
  // Encoded-words are parsed from "=?" sequences; never emit one by accident.
  if (absl::StrContains(value, "=?")) return false;
  size_t run = 0;
  for (char c : value) {
    if (c == ' ') {
      run = 0;
    } else if (++run > 900) {
      return false;  // cannot be folded under the 998-octet limit
    }
  }
  return true;
}

// "Name: value" folded at spaces so that lines stay within 78 characters
// where possible (RFC 5322 §2.2.3).
std::string FoldedHeader(absl::string_view name, absl::string_view value) {
  std::string line = absl::StrCat(name, ": ", value);
  std::string out;
  size_t start = 0;
  const size_t min_cut = name.size() + 2;
  while (line.size() - start > 78) {
    size_t cut = line.rfind(' ', start + 78);
    if (cut == std::string::npos || cut <= start || cut < min_cut) {
      cut = line.find(' ', std::max(start + 1, min_cut));
      if (cut == std::string::npos) break;
    }
    out.append(line, start, cut - start);
    out += "\r\n";
    start = cut;  // the space is the continuation's folding whitespace
  }
  out.append(line, start, std::string::npos);
  return out;
}

std::string UnstructuredHeader(absl::string_view name,
                               absl::string_view value) {
  std::string v = OneLine(value);
  if (HeaderSafeAscii(v)) return FoldedHeader(name, v);
  return absl::StrCat(name, ": ", EncodedWords(v));
}

// A display name as an RFC 5322 phrase: a quoted-string, or encoded-words.
std::string DisplayPhrase(absl::string_view display) {
  std::string v = OneLine(display);
  if (!HeaderSafeAscii(v)) return EncodedWords(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Splits on LF, CRLF or CR.
std::vector<std::string> BodyLines(absl::string_view body) {
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r' || c == '\n') {
      lines.push_back(std::move(cur));
      cur.clear();
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  return lines;
}

// Quoted-printable (RFC 2045 §6.7) of one line, soft breaks keeping every
// physical line within 76 characters.
void AppendQuotedPrintableLine(absl::string_view line, std::string* out) {
  size_t col = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    size_t width = literal ? 1 : 3;
    if (col + width > 75) {
      *out += "=\r\n";
      col = 0;
    }
    if (literal) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('=');
      out->push_back(kHexUpper[c >> 4]);
      out->push_back(kHexUpper[c & 0xF]);
    }
    col += width;
  }
  *out += "\r\n";
}

// ------------------------------- alarms ------------------------------------

constexpr std::pair<absl::string_view, absl::string_view> kRegionNames[] = {
    {"us-east-1", "US East (N. Virginia)"},
    {"us-east-2", "US East (Ohio)"},
    {"us-west-1", "US West (N. California)"},
    {"us-west-2", "US West (Oregon)"},
    {"af-south-1", "Africa (Cape Town)"},
    {"ap-east-1", "Asia Pacific (Hong Kong)"},
    {"ap-east-2", "Asia Pacific (Taipei)"},
    {"ap-south-1", "Asia Pacific (Mumbai)"},
    {"ap-south-2", "Asia Pacific (Hyderabad)"},
    {"ap-southeast-1", "Asia Pacific (Singapore)"},
    {"ap-southeast-2", "Asia Pacific (Sydney)"},
    {"ap-southeast-3", "Asia Pacific (Jakarta)"},
    {"ap-southeast-4", "Asia Pacific (Melbourne)"},
    {"ap-southeast-5", "Asia Pacific (Malaysia)"},
    {"ap-southeast-7", "Asia Pacific (Thailand)"},
    {"ap-northeast-1", "Asia Pacific (Tokyo)"},
    {"ap-northeast-2", "Asia Pacific (Seoul)"},
    {"ap-northeast-3", "Asia Pacific (Osaka)"},
    {"ca-central-1", "Canada (Central)"},
    {"ca-west-1", "Canada West (Calgary)"},
    {"eu-central-1", "EU (Frankfurt)"},
    {"eu-central-2", "EU (Zurich)"},
    {"eu-west-1", "EU (Ireland)"},
    {"eu-west-2", "EU (London)"},
    {"eu-west-3", "EU (Paris)"},
    {"eu-south-1", "EU (Milan)"},
    {"eu-south-2", "EU (Spain)"},
    {"eu-north-1", "EU (Stockholm)"},
    {"il-central-1", "Israel (Tel Aviv)"},
    {"me-south-1", "Middle East (Bahrain)"},
    {"me-central-1", "Middle East (UAE)"},
    {"mx-central-1", "Mexico (Central)"},
    {"sa-east-1", "South America (Sao Paulo)"},
    {"us-gov-east-1", "AWS GovCloud (US-East)"},
    {"us-gov-west-1", "AWS GovCloud (US-West)"},
    {"cn-north-1", "China (Beijing)"},
    {"cn-northwest-1", "China (Ningxia)"},
};

// "SampleCount" → "SAMPLE_COUNT", "Sum" → "SUM".
std::string UpperSnake(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (i > 0 && absl::ascii_isupper(c) &&
        absl::ascii_islower(static_cast<unsigned char>(s[i - 1]))) {
      out.push_back('_');
    }
    out.push_back(absl::ascii_toupper(c));
  }
  return out;
}

std::string JsonStringArray(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  quoted.reserve(values.size());
  for (const auto& v : values) quoted.push_back(Quote(v));
  return absl::StrCat("[", absl::StrJoin(quoted, ","), "]");
}

std::string EmailTimestamp(absl::Time t) {
  return absl::FormatTime("%A %d %B, %Y %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// `label` padded with spaces to `width` columns (at least one space).
std::string Padded(absl::string_view label, size_t width) {
  std::string out(label);
  out.push_back(' ');
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

// "[a] [b]" (CloudWatch's rendering of action lists and dimensions).
std::string Bracketed(const std::vector<std::string>& items) {
  std::vector<std::string> parts;
  parts.reserve(items.size());
  for (const auto& i : items) parts.push_back(absl::StrCat("[", i, "]"));
  return absl::StrJoin(parts, " ");
}

// A word the shell passes through unchanged, or a single-quoted one.
std::string ShellWord(absl::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        !absl::StrContains("_-./:@+=,%", c)) {
      plain = false;
    }
  }
  if (plain) return std::string(s);
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

// ------------------------------ validation ---------------------------------

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// A decimal number: [+-] digits [. digits] [e [+-] digits]. Reports the
// count of significant digits and the power of ten of the first one.
bool ParseDecimal(absl::string_view s, int* significant, int64_t* exponent,
                  bool* zero) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::string digits;
  size_t int_digits = 0;
  while (i < s.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
    digits.push_back(s[i++]);
    ++int_digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
      digits.push_back(s[i++]);
    }
  }
  if (digits.empty()) return false;
  int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    size_t start = i;
    while (i < s.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
      if (exp < 1000000) exp = exp * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start) return false;
    if (negative) exp = -exp;
  }
  if (i != s.size()) return false;
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *zero = true;
    *significant = 0;
    *exponent = 0;
    return true;
  }
  size_t last = digits.find_last_not_of('0');
  *zero = false;
  *significant = static_cast<int>(last - first + 1);
  *exponent =
      static_cast<int64_t>(int_digits) - static_cast<int64_t>(first) - 1 + exp;
  return true;
}

absl::Status ValidateAttributeName(absl::string_view name) {
  if (name.size() > 256) {
    return Invalid(
        "Length of message attribute name must be less than 256 bytes.");
  }
  if (name.empty()) {
    return Invalid("Invalid parameter: MessageAttributes Reason: empty name");
  }
  if (name.front() == '.') {
    return Invalid(
        "Invalid message attribute name starting with character '.' was "
        "found.");
  }
  if (name.back() == '.') {
    return Invalid(
        "Invalid message attribute name ending with character '.' was found.");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') {
      std::string hex;
      for (unsigned char h = c; h != 0 || hex.empty(); h >>= 4) {
        hex.insert(hex.begin(), kHexUpper[h & 0xF]);
      }
      return Invalid(absl::StrCat(
          "Invalid non-alphanumeric character '#x", hex,
          "' was found in the message attribute name. Can only include "
          "alphanumeric characters, hyphens, underscores, or dots."));
    }
    if (c == '.' && name[i - 1] == '.') {
      return Invalid(
          "Message attribute name can not have successive '.' character.");
    }
  }
  return absl::OkStatus();
}

size_t PublishSize(absl::string_view message,
                   const MessageAttributes& attributes) {
  size_t size = message.size();
  for (const auto& [name, a] : attributes) {
    size += name.size() + a.data_type.size() + a.string_value.size() +
            a.binary_value.size();
  }
  return size;
}

}  // namespace

// ---------------------------------------------------------------------------
// Messages and envelopes
// ---------------------------------------------------------------------------

std::string FormatSnsTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string MessageForProtocol(const Notification& n,
                               absl::string_view protocol) {
  if (!n.json_message_structure) return n.message;
  absl::StatusOr<common::Json> doc = common::ParseJson(n.message, "Message");
  if (!doc.ok() || !doc->is_object()) return n.message;
  auto it = doc->find(std::string(protocol));
  if (it != doc->end() && it->is_string()) return it->get<std::string>();
  it = doc->find("default");
  if (it != doc->end() && it->is_string()) return it->get<std::string>();
  return n.message;
}

std::string CanonicalStringToSign(const Notification& n,
                                  absl::string_view protocol) {
  std::string out = absl::StrCat("Message\n", MessageForProtocol(n, protocol),
                                 "\n", "MessageId\n", n.message_id, "\n");
  if (n.subject.has_value())
    absl::StrAppend(&out, "Subject\n", *n.subject, "\n");
  absl::StrAppend(&out, "Timestamp\n", FormatSnsTimestamp(n.timestamp), "\n",
                  "TopicArn\n", n.topic_arn, "\n", "Type\nNotification\n");
  return out;
}

std::string NotificationEnvelope(const Notification& n,
                                 const EnvelopeOptions& options) {
  std::string signature;
  if (options.signer)
    signature = options.signer(CanonicalStringToSign(n, options.protocol),
                               n.signature_version);
  std::vector<std::pair<absl::string_view, std::string>> members;
  members.emplace_back("Type", Quote("Notification"));
  members.emplace_back("MessageId", Quote(n.message_id));
  members.emplace_back("TopicArn", Quote(n.topic_arn));
  if (n.subject.has_value()) members.emplace_back("Subject", Quote(*n.subject));
  members.emplace_back("Message",
                       Quote(MessageForProtocol(n, options.protocol)));
  members.emplace_back("Timestamp", Quote(FormatSnsTimestamp(n.timestamp)));
  members.emplace_back("SignatureVersion", Quote(n.signature_version));
  members.emplace_back("Signature", Quote(signature));
  members.emplace_back("SigningCertURL", Quote(n.signing_cert_url));
  members.emplace_back("UnsubscribeURL", Quote(n.unsubscribe_url));
  if (!n.attributes.empty()) {
    std::vector<std::string> attrs;
    for (const auto& [name, a] : n.attributes) {
      attrs.push_back(
          absl::StrCat("    ", Quote(name), " : {\"Type\":", Quote(a.data_type),
                       ",\"Value\":", Quote(AttributeValue(a)), "}"));
    }
    members.emplace_back(
        "MessageAttributes",
        absl::StrCat("{\n", absl::StrJoin(attrs, ",\n"), "\n  }"));
  }
  std::vector<std::string> lines;
  lines.reserve(members.size());
  for (const auto& [key, value] : members) {
    lines.push_back(absl::StrCat("  ", Quote(key), " : ", value));
  }
  return absl::StrCat("{\n", absl::StrJoin(lines, ",\n"), "\n}");
}

std::string LambdaSnsEvent(const Notification& n,
                           absl::string_view subscription_arn,
                           const Signer& signer) {
  common::Json sns = common::Json::object();
  sns["Type"] = "Notification";
  sns["MessageId"] = n.message_id;
  sns["TopicArn"] = n.topic_arn;
  sns["Subject"] =
      n.subject.has_value() ? common::Json(*n.subject) : common::Json(nullptr);
  sns["Message"] = MessageForProtocol(n, "lambda");
  sns["Timestamp"] = FormatSnsTimestamp(n.timestamp);
  sns["SignatureVersion"] = n.signature_version;
  sns["Signature"] =
      signer ? signer(CanonicalStringToSign(n, "lambda"), n.signature_version)
             : "";
  sns["SigningCertUrl"] = n.signing_cert_url;
  sns["UnsubscribeUrl"] = n.unsubscribe_url;
  common::Json attrs = common::Json::object();
  for (const auto& [name, a] : n.attributes) {
    common::Json v = common::Json::object();
    v["Type"] = a.data_type;
    v["Value"] = AttributeValue(a);
    attrs[name] = std::move(v);
  }
  sns["MessageAttributes"] = std::move(attrs);
  common::Json record = common::Json::object();
  record["EventSource"] = "aws:sns";
  record["EventVersion"] = "1.0";
  record["EventSubscriptionArn"] = std::string(subscription_arn);
  record["Sns"] = std::move(sns);
  common::Json event = common::Json::object();
  event["Records"] = common::Json::array({std::move(record)});
  return common::DumpJson(event);
}

// ---------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------

namespace {

EmailMessage EmailHeaders(const Notification& n, const EmailOptions& o) {
  EmailMessage mail;
  mail.from_address = o.from_address;
  mail.from_display_name =
      o.display_name.empty() ? "AWS Notifications" : o.display_name;
  mail.to_address = o.endpoint;
  mail.subject = n.subject.value_or("AWS Notification Message");
  return mail;
}

}  // namespace

EmailMessage FormatEmail(const Notification& n, const EmailOptions& options) {
  EmailMessage mail = EmailHeaders(n, options);
  const char* separator =
      absl::StrContains(options.unsubscribe_base_url, '?') ? "&" : "?";
  std::string link =
      absl::StrCat(options.unsubscribe_base_url, separator,
                   "SubscriptionArn=", QueryEscape(options.subscription_arn),
                   "&Endpoint=", QueryEscape(options.endpoint),
                   options.unsubscribe_token.empty()
                       ? ""
                       : absl::StrCat("&Token=", options.unsubscribe_token));
  mail.body = absl::StrCat(
      MessageForProtocol(n, "email"),
      "\n\n--\nIf you wish to stop receiving notifications from this topic, "
      "please click or visit the link below to unsubscribe:\n",
      link,
      "\n\nPlease do not reply directly to this email. If you have any "
      "questions or comments regarding this email, please contact us at ",
      options.contact_url, "\n");
  return mail;
}

EmailMessage FormatEmailJson(const Notification& n, const EmailOptions& options,
                             const Signer& signer) {
  EmailMessage mail = EmailHeaders(n, options);
  EnvelopeOptions envelope;
  envelope.protocol = "email-json";
  envelope.signer = signer;
  mail.body = NotificationEnvelope(n, envelope);
  return mail;
}

std::string RenderRfc5322(const EmailMessage& email, absl::Time date,
                          absl::string_view message_id) {
  std::vector<std::string> lines = BodyLines(email.body);
  bool ascii = true;
  bool long_line = false;
  for (const auto& line : lines) {
    ascii = ascii && IsAscii(line);
    long_line = long_line || line.size() > 998;
  }
  const char* encoding = long_line ? "quoted-printable"
                         : ascii   ? "7bit"
                                   : "8bit";

  std::string id(message_id);
  if (!absl::StartsWith(id, "<")) id = absl::StrCat("<", id, ">");

  std::string out;
  absl::StrAppend(&out, "Date: ",
                  absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date,
                                   absl::UTCTimeZone()),
                  "\r\n");
  absl::StrAppend(&out, "From: ", DisplayPhrase(email.from_display_name), " <",
                  OneLine(email.from_address), ">\r\n");
  absl::StrAppend(&out, "To: ", OneLine(email.to_address), "\r\n");
  absl::StrAppend(&out, UnstructuredHeader("Subject", email.subject), "\r\n");
  absl::StrAppend(&out, "Message-ID: ", OneLine(id), "\r\n");
  absl::StrAppend(&out, "MIME-Version: 1.0\r\n");
  absl::StrAppend(&out, "Content-Type: text/plain; charset=UTF-8\r\n");
  absl::StrAppend(&out, "Content-Transfer-Encoding: ", encoding, "\r\n\r\n");
  for (const auto& line : lines) {
    if (long_line) {
      AppendQuotedPrintableLine(line, &out);
    } else {
      absl::StrAppend(&out, line, "\r\n");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------

std::string RegionLongName(absl::string_view region_code) {
  for (const auto& [code, name] : kRegionNames) {
    if (code == region_code) return std::string(name);
  }
  return std::string(region_code);
}

std::string JavaDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value,
                                 std::chars_format::scientific);
  if (ec != std::errc()) return absl::StrCat(value);
  // Shortest round-trip digits: "[-]d[.ddd]e[+-]XX".
  absl::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string sign;
  if (!sci.empty() && sci.front() == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  if (!absl::SimpleAtoi(sci.substr(e + 1), &exponent)) {
    return absl::StrCat(value);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  double magnitude = std::fabs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    std::string int_part;
    std::string frac_part;
    if (exponent >= 0) {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        int_part = digits + std::string(int_len - digits.size(), '0');
      } else {
        int_part = digits.substr(0, int_len);
        frac_part = digits.substr(int_len);
      }
    } else {
      int_part = "0";
      frac_part = std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    if (frac_part.empty()) frac_part = "0";
    return absl::StrCat(sign, int_part, ".", frac_part);
  }
  std::string frac = digits.size() > 1 ? digits.substr(1) : "0";
  return absl::StrCat(sign, digits.substr(0, 1), ".", frac, "E", exponent);
}

std::string FormatCloudWatchTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3S+0000", t, absl::UTCTimeZone());
}

std::string AlarmNotificationJson(const AlarmStateChange& c) {
  const AlarmTrigger& t = c.trigger;
  std::string out;
  absl::StrAppend(&out, "{\"AlarmName\":", Quote(c.alarm_name));
  absl::StrAppend(
      &out, ",\"AlarmDescription\":",
      c.alarm_description.has_value() ? Quote(*c.alarm_description) : "null");
  absl::StrAppend(&out, ",\"AWSAccountId\":", Quote(c.account_id));
  absl::StrAppend(
      &out, ",\"AlarmConfigurationUpdatedTimestamp\":",
      Quote(FormatCloudWatchTimestamp(c.configuration_updated_time)));
  absl::StrAppend(&out, ",\"NewStateValue\":", Quote(c.new_state));
  absl::StrAppend(&out, ",\"NewStateReason\":", Quote(c.new_state_reason));
  absl::StrAppend(&out, ",\"StateChangeTime\":",
                  Quote(FormatCloudWatchTimestamp(c.state_change_time)));
  absl::StrAppend(&out, ",\"Region\":", Quote(RegionLongName(c.region)));
  absl::StrAppend(&out, ",\"AlarmArn\":", Quote(c.alarm_arn));
  absl::StrAppend(&out, ",\"OldStateValue\":", Quote(c.old_state));
  absl::StrAppend(&out, ",\"OKActions\":", JsonStringArray(c.ok_actions));
  absl::StrAppend(&out, ",\"AlarmActions\":", JsonStringArray(c.alarm_actions));
  absl::StrAppend(&out, ",\"InsufficientDataActions\":",
                  JsonStringArray(c.insufficient_data_actions));
  if (c.alarm_rule.has_value()) {
    absl::StrAppend(&out, ",\"AlarmRule\":", Quote(*c.alarm_rule));
    std::vector<std::string> children;
    absl::StatusOr<common::Json> data =
        common::ParseJson(c.new_state_reason_data, "StateReasonData");
    if (data.ok() && data->is_object() && data->contains("triggeringAlarms") &&
        (*data)["triggeringAlarms"].is_array()) {
      for (const common::Json& child : (*data)["triggeringAlarms"]) {
        if (!child.is_object()) continue;
        const common::Json state = child.value("state", common::Json::object());
        children.push_back(absl::StrCat(
            "{\"Arn\":", Quote(child.value("arn", "")),
            ",\"State\":{\"Value\":", Quote(state.value("value", "")),
            ",\"Timestamp\":", Quote(state.value("timestamp", "")), "}}"));
      }
    }
    absl::StrAppend(&out, ",\"TriggeringChildren\":[",
                    absl::StrJoin(children, ","), "]}");
    return out;
  }
  auto dimensions_json = [](const std::vector<AlarmDimension>& list) {
    std::vector<std::string> dims;
    dims.reserve(list.size());
    for (const auto& d : list) {
      dims.push_back(absl::StrCat("{\"value\":", Quote(d.value),
                                  ",\"name\":", Quote(d.name), "}"));
    }
    return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
  };
  // The members both kinds of Trigger end with.
  const std::string evaluation =
      absl::StrCat(",\"EvaluationPeriods\":", t.evaluation_periods,
                   ",\"DatapointsToAlarm\":", t.datapoints_to_alarm,
                   ",\"ComparisonOperator\":", Quote(t.comparison_operator),
                   ",\"Threshold\":", JavaDouble(t.threshold),
                   ",\"TreatMissingData\":", Quote(t.treat_missing_data),
                   ",\"EvaluateLowSampleCountPercentile\":",
                   Quote(t.evaluate_low_sample_count_percentile));
  if (!t.metrics.empty()) {
    std::vector<std::string> queries;
    for (const AlarmMetricQuery& q : t.metrics) {
      std::string one = "{";
      if (!q.expression.empty()) {
        absl::StrAppend(&one, "\"Expression\":", Quote(q.expression), ",");
      }
      absl::StrAppend(&one, "\"Id\":", Quote(q.id));
      if (!q.label.empty())
        absl::StrAppend(&one, ",\"Label\":", Quote(q.label));
      if (q.expression.empty()) {
        absl::StrAppend(&one, ",\"MetricStat\":{\"Metric\":{\"Dimensions\":",
                        dimensions_json(q.dimensions),
                        ",\"MetricName\":", Quote(q.metric_name),
                        ",\"Namespace\":", Quote(q.metric_namespace),
                        "},\"Period\":", q.period_seconds,
                        ",\"Stat\":", Quote(q.stat), "}");
      }
      absl::StrAppend(
          &one, ",\"ReturnData\":", q.return_data ? "true" : "false", "}");
      queries.push_back(std::move(one));
    }
    absl::StrAppend(&out, ",\"Trigger\":{\"Period\":", t.period_seconds,
                    evaluation, ",\"Metrics\":[", absl::StrJoin(queries, ","),
                    "]}}");
    return out;
  }
  absl::StrAppend(&out, ",\"Trigger\":{\"MetricName\":", Quote(t.metric_name));
  absl::StrAppend(&out, ",\"Namespace\":", Quote(t.metric_namespace));
  if (!t.extended_statistic.empty()) {
    absl::StrAppend(&out,
                    ",\"StatisticType\":\"ExtendedStatistic\","
                    "\"ExtendedStatistic\":",
                    Quote(t.extended_statistic));
  } else {
    absl::StrAppend(&out, ",\"StatisticType\":\"Statistic\",\"Statistic\":",
                    Quote(UpperSnake(t.statistic)));
  }
  absl::StrAppend(&out,
                  ",\"Unit\":", t.unit.has_value() ? Quote(*t.unit) : "null");
  absl::StrAppend(&out, ",\"Dimensions\":", dimensions_json(t.dimensions));
  absl::StrAppend(&out, ",\"Period\":", t.period_seconds, evaluation, "}}");
  return out;
}

std::string AlarmEmailSubject(const AlarmStateChange& c) {
  return TruncateCodePoints(absl::StrCat(c.new_state, ": \"", c.alarm_name,
                                         "\" in ", RegionLongName(c.region)),
                            kMaxSubjectChars);
}

namespace {

// The Threshold and Monitored Metric blocks of a metric alarm's email.
void AppendMetricBlocks(const AlarmTrigger& t, std::string* out) {
  absl::StrAppend(out, "Threshold:\n- The alarm is in the ALARM state when ",
                  "the metric is ", t.comparison_operator, " ",
                  JavaDouble(t.threshold), " for at least ",
                  t.datapoints_to_alarm, " of the last ", t.evaluation_periods,
                  " period(s) of ", t.period_seconds, " seconds.\n\n");

  constexpr size_t kMetric = 39;
  if (!t.metrics.empty()) {
    // Ours: CloudWatch's text for metric math alarms is not in the spec.
    absl::StrAppend(out, "Monitored Metrics:\n");
    for (const AlarmMetricQuery& q : t.metrics) {
      std::string what;
      if (!q.expression.empty()) {
        what = q.expression;
      } else {
        std::vector<std::string> dims;
        for (const auto& d : q.dimensions) {
          dims.push_back(absl::StrCat(d.name, " = ", d.value));
        }
        what = absl::StrCat(q.metric_namespace, " ", q.metric_name, " ",
                            Bracketed(dims), " ", q.stat, ", ",
                            q.period_seconds, " seconds");
      }
      absl::StrAppend(out, Padded(absl::StrCat("- ", q.id, ":"), kMetric), what,
                      q.return_data ? "  (the alarm's series)" : "", "\n");
    }
    absl::StrAppend(
        out, Padded("- TreatMissingData:", kMetric),
        t.treat_missing_data.empty() ? "missing" : t.treat_missing_data,
        "\n\n\n");
    return;
  }
  std::vector<std::string> dims;
  dims.reserve(t.dimensions.size());
  for (const auto& d : t.dimensions) {
    dims.push_back(absl::StrCat(d.name, " = ", d.value));
  }
  absl::StrAppend(out, "Monitored Metric:\n");
  absl::StrAppend(out, Padded("- MetricNamespace:", kMetric),
                  t.metric_namespace, "\n");
  absl::StrAppend(out, Padded("- MetricName:", kMetric), t.metric_name, "\n");
  absl::StrAppend(out, Padded("- Dimensions:", kMetric), Bracketed(dims), "\n");
  absl::StrAppend(out, Padded("- Period:", kMetric), t.period_seconds,
                  " seconds\n");
  absl::StrAppend(
      out, Padded("- Statistic:", kMetric),
      t.extended_statistic.empty() ? t.statistic : t.extended_statistic, "\n");
  absl::StrAppend(out, Padded("- Unit:", kMetric),
                  t.unit.value_or("not specified"), "\n");
  absl::StrAppend(
      out, Padded("- TreatMissingData:", kMetric),
      t.treat_missing_data.empty() ? "missing" : t.treat_missing_data,
      "\n\n\n");
}

}  // namespace

std::string AlarmEmailBody(const AlarmStateChange& c) {
  const std::string region = RegionLongName(c.region);
  const std::string when = EmailTimestamp(c.state_change_time);
  std::string out = absl::StrCat(
      "You are receiving this email because your Amazon CloudWatch Alarm \"",
      c.alarm_name, "\" in the ", region, " region ");
  if (c.new_state == "OK") {
    absl::StrAppend(&out, "has transitioned to OK state on ", when,
                    ", because \"", c.new_state_reason, "\".\n\n");
  } else {
    absl::StrAppend(&out, "has entered the ", c.new_state, " state, because \"",
                    c.new_state_reason, "\" at \"", when, "\".\n\n");
  }
  absl::StrAppend(
      &out, "View this alarm with:\nevbus describe-alarms ", "--alarm-names ",
      ShellWord(c.alarm_name),
      c.alarm_rule.has_value() ? " --alarm-types CompositeAlarm" : "", "\n\n");

  constexpr size_t kDetails = 30;
  absl::StrAppend(&out, "Alarm Details:\n");
  absl::StrAppend(&out, Padded("- Name:", kDetails), c.alarm_name, "\n");
  if (c.alarm_description.has_value() && !c.alarm_description->empty()) {
    absl::StrAppend(&out, Padded("- Description:", kDetails),
                    *c.alarm_description, "\n");
  }
  absl::StrAppend(&out, Padded("- State Change:", kDetails),
                  c.old_state.empty() ? "N/A" : c.old_state, " -> ",
                  c.new_state, "\n");
  absl::StrAppend(&out, Padded("- Reason for State Change:", kDetails),
                  c.new_state_reason, "\n");
  absl::StrAppend(&out, Padded("- Timestamp:", kDetails), when, "\n");
  absl::StrAppend(&out, Padded("- AWS Account:", kDetails), c.account_id, "\n");
  absl::StrAppend(&out, Padded("- Alarm Arn:", kDetails), c.alarm_arn, "\n\n");

  if (c.alarm_rule.has_value()) {
    absl::StrAppend(&out, "Alarm Rule:\n- The alarm is in the ALARM state ",
                    "while this rule holds: ", *c.alarm_rule, "\n\n\n");
  } else {
    AppendMetricBlocks(c.trigger, &out);
  }

  absl::StrAppend(&out, "State Change Actions:\n");
  absl::StrAppend(&out, "- OK: ", Bracketed(c.ok_actions), "\n");
  absl::StrAppend(&out, "- ALARM: ", Bracketed(c.alarm_actions), "\n");
  absl::StrAppend(&out, "- INSUFFICIENT_DATA: ",
                  Bracketed(c.insufficient_data_actions), "\n");
  return out;
}

std::string AlarmPublishMessage(const AlarmStateChange& change) {
  common::Json doc = common::Json::object();
  doc["default"] = AlarmNotificationJson(change);
  doc["sms"] = AlarmEmailSubject(change);
  doc["email"] = AlarmEmailBody(change);
  return common::DumpJson(doc);
}

// ---------------------------------------------------------------------------
// Validation and filter input
// ---------------------------------------------------------------------------

absl::Status ValidateSubject(absl::string_view subject) {
  if (subject.empty()) return Invalid("Invalid parameter: Subject");
  size_t chars = 0;
  for (char c : subject) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) return Invalid("Invalid parameter: Subject");
    ++chars;
  }
  if (chars > kMaxSubjectChars) return Invalid("Invalid parameter: Subject");
  return absl::OkStatus();
}

absl::Status ValidateMessageAttributes(const MessageAttributes& attributes) {
  if (attributes.size() > kMaxMessageAttributes) {
    return Invalid(absl::StrCat(
        "Number of message attributes [", attributes.size(),
        "] exceeds the allowed maximum [", kMaxMessageAttributes, "]."));
  }
  for (const auto& [name, a] : attributes) {
    if (absl::Status s = ValidateAttributeName(name); !s.ok()) return s;
    const std::string& type = a.data_type;
    if (type.empty()) {
      return Invalid(absl::StrCat(
          "1 validation error detected: Value null at 'messageAttributes.",
          name,
          ".member.dataType' failed to satisfy constraint: Member must not be "
          "null"));
    }
    // "String", or "String.<suffix>" with a non-empty suffix.
    absl::string_view base = type;
    if (size_t dot = base.find('.'); dot != absl::string_view::npos) {
      base = dot + 1 == base.size() ? absl::string_view() : base.substr(0, dot);
    }
    if (base != "String" && base != "Number" && base != "Binary") {
      return Invalid(absl::StrCat(
          "The message attribute '", name,
          "' has an invalid message attribute type, the set of supported type "
          "prefixes is Binary, Number, and String."));
    }
    const bool binary = base == "Binary";
    const std::string& value = binary ? a.binary_value : a.string_value;
    const std::string& other = binary ? a.string_value : a.binary_value;
    if (value.empty()) {
      if (!other.empty()) {
        return Invalid(absl::StrCat("The message attribute '", name,
                                    "' with type '", type, "' must use field '",
                                    binary ? "Binary" : "String", "'."));
      }
      return Invalid(absl::StrCat(
          "The message attribute '", name,
          "' must contain non-empty message attribute value for message "
          "attribute type '",
          type, "'."));
    }
    if (base == "Number") {
      int significant = 0;
      int64_t exponent = 0;
      bool zero = false;
      if (!ParseDecimal(a.string_value, &significant, &exponent, &zero)) {
        return Invalid(absl::StrCat("Could not cast message attribute '", name,
                                    "' value to number."));
      }
      if (!zero && (significant > 38 || exponent < -128 || exponent > 126)) {
        return Invalid(absl::StrCat(
            "The message attribute '", name,
            "' has a number value outside the supported range (38 significant "
            "digits, 10^-128 to 10^+126)."));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePublish(absl::string_view message,
                             const std::optional<std::string>& subject,
                             bool json_message_structure,
                             const MessageAttributes& attributes) {
  if (subject.has_value()) {
    if (absl::Status s = ValidateSubject(*subject); !s.ok()) return s;
  }
  if (message.empty()) return Invalid("Invalid parameter: Empty message");
  if (absl::Status s = ValidateMessageAttributes(attributes); !s.ok()) return s;
  if (PublishSize(message, attributes) > kMaxMessageBytes) {
    return Invalid("Invalid parameter: Message too long");
  }
  if (json_message_structure) {
    absl::StatusOr<common::Json> doc = common::ParseJson(message, "Message");
    if (!doc.ok() || !doc->is_object()) {
      return Invalid(
          "Invalid parameter: Message Structure - JSON message body failed to "
          "parse");
    }
    auto it = doc->find("default");
    if (it == doc->end() || !it->is_string()) {
      return Invalid(
          "Invalid parameter: Message Structure - No default entry in JSON "
          "message body");
    }
  }
  return absl::OkStatus();
}

common::Json FilterPolicyInput(const MessageAttributes& attributes) {
  common::Json out = common::Json::object();
  for (const auto& [name, a] : attributes) {
    const std::string& type = a.data_type;
    if (type == "String.Array") {
      absl::StatusOr<common::Json> array =
          common::ParseJson(a.string_value, "String.Array");
      if (array.ok() && array->is_array()) out[name] = *std::move(array);
    } else if (absl::StartsWith(type, "String")) {
      out[name] = a.string_value;
    } else if (absl::StartsWith(type, "Number")) {
      int significant = 0;
      int64_t exponent = 0;
      bool zero = false;
      if (!ParseDecimal(a.string_value, &significant, &exponent, &zero)) {
        continue;
      }
      int64_t whole = 0;
      double real = 0;
      if (absl::SimpleAtoi(a.string_value, &whole)) {
        out[name] = whole;
      } else if (absl::SimpleAtod(a.string_value, &real) &&
                 std::isfinite(real)) {
        out[name] = real;
      }
    }
    // Binary: not matchable.
  }
  return out;
}

}  // namespace evbus::topics
