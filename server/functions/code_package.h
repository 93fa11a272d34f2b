// File: server/functions/code_package.h
//
// A function's code as files: read from a directory (the CLI), unpacked
// from a ZIP archive (Lambda's ZipFile: stored and deflated entries), and
// written into the data directory with a content digest. Paths are checked
// so that nothing is written outside the target directory.
//
// Thread safety: thread-safe (no shared state).
//
// Example:
//   EVBUS_ASSIGN_OR_RETURN(std::vector<evbus::v1::CodeFile> files,
//                          FilesOf(request.code()));
//   EVBUS_ASSIGN_OR_RETURN(CodeDigest d, WriteCode(files, "/data/fn/x/tmp"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evbus/v1/function.pb.h"

namespace evbus::functions {

// Most code a function may have, unpacked (Lambda: 250 MB).
inline constexpr int64_t kMaxCodeBytes = 250LL * 1024 * 1024;

// The files of a ZIP archive. InvalidParameterValueException when it is
// not a readable ZIP (or uses an unsupported compression method).
absl::StatusOr<std::vector<evbus::v1::CodeFile>> UnpackZip(
    absl::string_view zip);

// Every regular file under `dir` (symlinks followed), relative paths.
absl::StatusOr<std::vector<evbus::v1::CodeFile>> ReadCodeDirectory(
    const std::string& dir);

// The files of `code` (its ZIP or its file list).
absl::StatusOr<std::vector<evbus::v1::CodeFile>> FilesOf(
    const evbus::v1::FunctionCode& code);

struct CodeDigest {
  std::string sha256_base64;  // over the sorted (path, mode, content) list
  int64_t size = 0;           // bytes of content
};

// The digest of `files` (order-independent).
CodeDigest DigestOf(const std::vector<evbus::v1::CodeFile>& files);

// The digest Lambda reports for `code`: for a ZIP, SHA-256 and size of the
// archive bytes (as AWS's CodeSha256 / CodeSize); for a file list,
// DigestOf(files).
CodeDigest DigestOfCode(const evbus::v1::FunctionCode& code,
                        const std::vector<evbus::v1::CodeFile>& files);

// Writes `files` under `dir` (created; must not exist yet), readable by
// the functions' user (OpenToFunctions; also `dir`'s parent). With
// `open_top` false, `dir` itself stays 0700 from its creation on, so that
// nothing is readable through it at any moment (a uid per function: the
// FunctionPool opens it to its function when that starts).
absl::Status WriteCode(const std::vector<evbus::v1::CodeFile>& files,
                       const std::string& dir, bool open_top = true);

// Makes everything under `dir` readable by the functions' user
// (directories 0755, files readable by all), whatever created it: evbusd's
// umask is 077 when it runs as root (daemon.cc), and a restored backup
// keeps the backup's modes. `dir` itself too unless `open_top` is false.
void OpenToFunctions(const std::string& dir, bool open_top = true);

}  // namespace evbus::functions
