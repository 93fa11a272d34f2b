// File: server/alarms/format.h
//
// The text forms CloudWatch uses in alarm state reasons, StateReasonData and
// the SNS alarm notification: doubles printed as Java's Double.toString
// ("30.0", "9.395", "1.0E10"), datapoint times as "dd/MM/yy HH:mm:ss" and
// JSON timestamps as "yyyy-MM-dd'T'HH:mm:ss.SSS+0000", all in UTC.
//
// Thread safety: pure functions, thread-safe.
//
// Example:
//   FormatJavaDouble(30);           // "30.0"
//   FormatJavaDouble(1e20);         // "1.0E20"
//   FormatReasonTime(t);            // "09/10/20 21:24:00"
//   FormatAwsTimestamp(t);          // "2020-10-09T21:24:00.000+0000"
#pragma once

#include <string>

#include "absl/time/time.h"

namespace evbus::alarms {

// Java's Double.toString with the shortest digits that round-trip:
// plain decimal with at least one fraction digit for 1e-3 <= |v| < 1e7
// ("1141.0", "0.0666851903306472"), otherwise computerized scientific
// notation ("1.0E7", "1.234E-5", "-2.5E300"). "0.0", "-0.0", "NaN",
// "Infinity", "-Infinity" for the special values.
std::string FormatJavaDouble(double v);

// "dd/MM/yy HH:mm:ss" in UTC, e.g. "09/10/20 21:24:00".
std::string FormatReasonTime(absl::Time t);

// "yyyy-MM-dd'T'HH:mm:ss.SSS+0000" in UTC (milliseconds truncated), e.g.
// "2023-11-27T16:10:43.123+0000".
std::string FormatAwsTimestamp(absl::Time t);

}  // namespace evbus::alarms
