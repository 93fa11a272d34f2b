#include "server/common/regular_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/logging.h"

namespace evbus::common {

absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            absl::string_view field,
                                            size_t max_bytes) {
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
  std::string text(max_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

void WarnIfReadableByOthers(const std::string& path, absl::string_view field) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    EVBUS_LOG(WARNING) << field << " " << path
                       << " can be read by other users (mode "
                       << absl::StrFormat("%04o", st.st_mode & 07777)
                       << "): make it 0600";
  }
}

}  // namespace evbus::common
