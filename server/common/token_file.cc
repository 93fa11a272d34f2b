#include "server/common/token_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace evbus::common {

absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (!token.empty() && token.back() == '\r') token.pop_back();
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": ", path,
          ": the token must be one line of printable ASCII characters "
          "without spaces"));
    }
  }
  if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", path, ": the token must be ", kMinTokenLength, " to ",
        kMaxTokenLength, " characters long (it is ", token.size(), ")"));
  }
  return token;
}

}  // namespace evbus::common
