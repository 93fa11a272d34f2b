#include "server/api/grpc/grpc_tls_identity.h"

#include <fcntl.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"

namespace evbus::api {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<int> GrpcTlsIdentity::MemoryFile::Write(
    const char* name, const std::string& content, int64_t seconds) {
  // Close-on-exec: functions are child processes and must not inherit it.
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return Errno("memfd_create");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno("writing a memory file");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  const struct timespec times[2] = {{static_cast<time_t>(seconds), 0},
                                    {static_cast<time_t>(seconds), 0}};
  if (::futimens(fd, times) != 0) {
    absl::Status s = Errno("futimens on a memory file");
    ::close(fd);
    return s;
  }
  return fd;
}

absl::StatusOr<GrpcTlsIdentity::MemoryFile> GrpcTlsIdentity::MemoryFile::Create(
    const char* name, const std::string& content) {
  const int64_t seconds = std::time(nullptr);
  absl::StatusOr<int> fd = Write(name, content, seconds);
  if (!fd.ok()) return fd.status();
  return MemoryFile(name, *fd, seconds);
}

GrpcTlsIdentity::MemoryFile::MemoryFile(MemoryFile&& other) noexcept
    : name_(other.name_), fd_(other.fd_), seconds_(other.seconds_) {
  other.fd_ = -1;
}

GrpcTlsIdentity::MemoryFile::~MemoryFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string GrpcTlsIdentity::MemoryFile::path() const {
  return absl::StrCat("/proc/self/fd/", fd_);
}

absl::Status GrpcTlsIdentity::MemoryFile::Replace(const std::string& content) {
  // gRPC compares modification times in whole seconds before and after it
  // reads: the new file's must differ from the old one's.
  const int64_t seconds = std::max<int64_t>(std::time(nullptr), seconds_ + 1);
  absl::StatusOr<int> fd = Write(name_, content, seconds);
  if (!fd.ok()) return fd.status();
  // Atomically makes fd_ refer to the new file (and closes the old one).
  int moved;
  do {
    moved = ::dup3(*fd, fd_, O_CLOEXEC);
  } while (moved < 0 && errno == EINTR);
  absl::Status s = moved < 0 ? Errno("dup3") : absl::OkStatus();
  ::close(*fd);
  if (s.ok()) seconds_ = seconds;
  return s;
}

absl::StatusOr<std::unique_ptr<GrpcTlsIdentity>> GrpcTlsIdentity::Create(
    const common::TlsKeyPair& pair, std::optional<std::string> client_ca) {
  absl::StatusOr<MemoryFile> identity =
      MemoryFile::Create("evbus-grpc-identity",
                         absl::StrCat(pair.cert_chain, "\n", pair.private_key));
  if (!identity.ok()) return identity.status();
  std::optional<MemoryFile> ca;
  if (client_ca.has_value()) {
    absl::StatusOr<MemoryFile> file =
        MemoryFile::Create("evbus-grpc-client-ca", *client_ca);
    if (!file.ok()) return file.status();
    ca.emplace(*std::move(file));
  }
  return std::unique_ptr<GrpcTlsIdentity>(
      new GrpcTlsIdentity(*std::move(identity), std::move(ca)));
}

GrpcTlsIdentity::GrpcTlsIdentity(MemoryFile identity,
                                 std::optional<MemoryFile> client_ca)
    : identity_(std::move(identity)), client_ca_(std::move(client_ca)) {
  absl::MutexLock lock(&mu_);
  const std::string identity_path = identity_.path();
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider =
      client_ca_.has_value()
          ? std::make_shared<
                grpc::experimental::FileWatcherCertificateProvider>(
                identity_path, identity_path, client_ca_->path(),
                kRefreshSeconds)
          : std::make_shared<
                grpc::experimental::FileWatcherCertificateProvider>(
                identity_path, identity_path, kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (client_ca_.has_value()) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  credentials_ = grpc::experimental::TlsServerCredentials(options);
}

GrpcTlsIdentity::~GrpcTlsIdentity() = default;

absl::Status GrpcTlsIdentity::SetKeyPair(const common::TlsKeyPair& pair) {
  absl::MutexLock lock(&mu_);
  return identity_.Replace(
      absl::StrCat(pair.cert_chain, "\n", pair.private_key));
}

absl::Status GrpcTlsIdentity::SetClientCa(const std::string& client_ca) {
  absl::MutexLock lock(&mu_);
  if (!client_ca_.has_value()) {
    return absl::FailedPreconditionError(
        "the gRPC listener was started without client CAs");
  }
  return client_ca_->Replace(client_ca);
}

}  // namespace evbus::api
