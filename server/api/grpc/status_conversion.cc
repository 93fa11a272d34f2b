#include "server/api/grpc/status_conversion.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace evbus::api {
namespace {

// A cut at or before `i` that does not split a UTF-8 sequence.
size_t Utf8Boundary(absl::string_view s, size_t i) {
  while (i > 0 && i < s.size() &&
         (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
    --i;
  }
  return i;
}

}  // namespace

std::string FitStatusMessage(absl::string_view message) {
  if (message.size() <= kMaxStatusMessageBytes) return std::string(message);
  // Both ends: a constraint message echoes the value first and names the
  // member after it.
  constexpr size_t kKeep = (kMaxStatusMessageBytes - 64) / 2;
  const size_t head = Utf8Boundary(message, kKeep);
  size_t tail = Utf8Boundary(message, message.size() - kKeep);
  return absl::StrCat(message.substr(0, head), " [... ", tail - head,
                      " bytes omitted ...] ", message.substr(tail));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      FitStatusMessage(status.message()));
}

}  // namespace evbus::api
