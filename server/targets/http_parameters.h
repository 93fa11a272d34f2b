// File: server/targets/http_parameters.h
//
// A target's HttpParameters (webhooks and API destinations): the values
// the API accepts, and what they become for one event. Each header, query
// and path value is either text, sent as is, or a JSONPath into the event
// (`$.detail.id`), replaced by the event's value there (spec §5: dynamic
// parameters read the original event, not the shaped input).
//
// The checks are the EventBridge API model's patterns. A header name is an
// RFC 9110 token; a header value printable ASCII with tabs between words;
// query keys and values hold no control character (values may hold CR and
// LF: they are percent-encoded); a path value is not blank and holds no
// line break. Without them a CR/LF in a header value adds headers to every
// request, and a space in a header name ends the request's header block.
//
// Thread safety: the functions are thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/json.h"

namespace evbus::targets {

// Longest header name, header value, query key and query value (the
// model's limit).
inline constexpr size_t kMaxHttpParameterChars = 512;

bool IsHttpHeaderName(absl::string_view name);
bool IsHttpHeaderValue(absl::string_view value);
bool IsQueryStringKey(absl::string_view key);
bool IsQueryStringValue(absl::string_view value);
bool IsPathParameterValue(absl::string_view value);

// Whether `value` names a value of the event ("$." and a path).
bool IsDynamicHttpParameter(absl::string_view value);

// OK for text, and for a dynamic value whose path parses; else
// InvalidArgument naming the value.
absl::Status CheckHttpParameterPath(absl::string_view value);

// `value` as sent for `event` (the envelope): itself, or for a dynamic one
// the event's value at its path, a string as its text and any other JSON
// value as its JSON text, "" when the event has none there.
// InvalidArgument when the path does not parse.
absl::StatusOr<std::string> ResolveHttpParameter(absl::string_view value,
                                                 const common::Json& event);

}  // namespace evbus::targets
