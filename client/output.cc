#include "client/output.h"

#include <algorithm>
#include <vector>

namespace evbus::cli {
namespace {

using common::Json;

std::string Cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return common::DumpJson(v);
}

void Table(const Json& rows, std::ostream& out) {
  std::vector<std::string> columns;
  for (const Json& row : rows) {
    if (!row.is_object()) continue;
    for (const auto& [k, v] : row.items()) {
      if (!v.is_structured() &&
          std::find(columns.begin(), columns.end(), k) == columns.end()) {
        columns.push_back(k);
      }
    }
  }
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const Json& row : rows) {
    for (size_t c = 0; c < columns.size(); ++c) {
      if (row.is_object() && row.contains(columns[c])) {
        width[c] = std::max(width[c], Cell(row[columns[c]]).size());
      }
    }
  }
  auto line = [&](auto cell) {
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string s = cell(c);
      out << s;
      if (c + 1 < columns.size())
        out << std::string(width[c] - s.size() + 2, ' ');
    }
    out << '\n';
  };
  line([&](size_t c) { return columns[c]; });
  for (const Json& row : rows) {
    line([&](size_t c) {
      return row.is_object() && row.contains(columns[c]) ? Cell(row[columns[c]])
                                                         : std::string();
    });
  }
}

}  // namespace

void Render(const Json& value, const std::string& format, std::ostream& out) {
  if (value.is_null()) return;
  if (format != "table" || !value.is_object()) {
    out << value.dump(4, ' ', false, Json::error_handler_t::replace) << '\n';
    return;
  }
  for (const auto& [k, v] : value.items()) {
    if (v.is_array()) {
      Table(v, out);
    } else {
      out << k << ": " << Cell(v) << '\n';
    }
  }
}

}  // namespace evbus::cli
