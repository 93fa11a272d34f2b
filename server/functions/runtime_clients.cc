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
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  // Readable by the functions' user whatever evbusd's umask: the runtime's
  // directory and the root of all runtimes.
  ::chmod(dir.c_str(), 0755);
  ::chmod(dir.parent_path().c_str(), 0755);
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
