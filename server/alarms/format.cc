#include "server/alarms/format.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace evbus::alarms {

std::string FormatJavaDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";

  // Shortest round-trip digits in scientific form: "-1.141e+03", "5e+00".
  char buf[64];
  std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (r.ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  absl::string_view sci(buf, static_cast<size_t>(r.ptr - buf));

  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  std::string digits;  // significant digits, no point
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  absl::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  if (!absl::SimpleAtoi(exp_text, &exponent)) return "NaN";  // unreachable

  // Java: decimal notation for 10^-3 <= |v| < 10^7.
  if (exponent >= -3 && exponent < 7) {
    if (exponent >= 0) {
      auto int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out.push_back('.');
        out += digits.substr(int_len);
      }
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    }
    return out;
  }
  out.push_back(digits[0]);
  out.push_back('.');
  out += digits.size() > 1 ? digits.substr(1) : "0";
  out.push_back('E');
  out += std::to_string(exponent);
  return out;
}

std::string FormatReasonTime(absl::Time t) {
  return absl::FormatTime("%d/%m/%y %H:%M:%S", t, absl::UTCTimeZone());
}

std::string FormatAwsTimestamp(absl::Time t) {
  // ToUnixMillis rounds toward the past: milliseconds are truncated.
  absl::Time ms = absl::FromUnixMillis(absl::ToUnixMillis(t));
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S+0000", ms, absl::UTCTimeZone());
}

}  // namespace evbus::alarms
