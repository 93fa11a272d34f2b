#include "server/common/token_file.h"

#include "absl/strings/str_cat.h"
#include "server/common/regular_file.h"

namespace evbus::common {

absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view field) {
  // No more than a token's length is read.
  absl::StatusOr<std::string> read =
      ReadRegularFile(path, field, kMaxTokenLength + 3);
  if (!read.ok()) return read.status();
  std::string token = *std::move(read);
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
        kMaxTokenLength, " characters long (it is ",
        token.size() > kMaxTokenLength ? "longer" : absl::StrCat(token.size()),
        ")"));
  }
  return token;
}

}  // namespace evbus::common
