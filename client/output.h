// File: client/output.h
//
// Renders a command's JSON result: pretty JSON (default) or a plain table.
#pragma once

#include <ostream>
#include <string>

#include "server/common/json.h"

namespace evbus::cli {

// "json": indented JSON. "table": the first list of objects as columns (one
// row per element, scalar members only), other members as "Key: value".
void Render(const common::Json& value, const std::string& format,
            std::ostream& out);

}  // namespace evbus::cli
