#include "server/common/token_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace evbus::common {

absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view field) {
  // A FIFO or a device would block or never end: regular files only, and
  // no more than a token's length read.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, " is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot read ", path));
  }
  std::string token(kMaxTokenLength + 3, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<size_t>(in.gcount()));
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
