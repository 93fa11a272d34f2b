#include "server/functions/runtime_clients.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace evbus::functions {
namespace {

absl::Status WriteFile(const std::string& path, const char* content) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(),
                                      ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << content;
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  ::chmod(tmp.c_str(), 0644);
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteRuntimeClients(const std::string& root) {
  absl::Status s =
      WriteFile(root + "/python/bootstrap.py", kPythonRuntimeClient);
  if (!s.ok()) return s;
  return WriteFile(root + "/nodejs/bootstrap.js", kNodeRuntimeClient);
}

}  // namespace evbus::functions
