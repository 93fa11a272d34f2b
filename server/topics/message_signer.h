// File: server/topics/message_signer.h
//
// MessageSigner: signs SNS messages as SNS does (SignatureVersion 1:
// SHA1withRSA over the canonical string, base64), with an RSA key evbus
// creates on first use (see LazyMessageSigner) and keeps in the data
// directory, and the self-signed certificate that the messages'
// SigningCertURL serves (shared/spec/lambda-cloudwatch-sns.md §5.3).
// Subscribers verify messages exactly as they verify SNS's.
//
// Thread safety: thread-safe (immutable after creation).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::topics {

class MessageSigner {
 public:
  // Loads <dir>/sns-signing-key.pem and <dir>/sns-signing-cert.pem, or
  // creates them (RSA 2048, a self-signed certificate valid 10 years).
  static absl::StatusOr<std::unique_ptr<MessageSigner>> LoadOrCreate(
      const std::string& dir);
  ~MessageSigner();

  // base64(SHA1withRSA(string_to_sign)) for SignatureVersion "1",
  // base64(SHA256withRSA(string_to_sign)) for "2".
  std::string Sign(const std::string& string_to_sign,
                   absl::string_view signature_version = "1") const;
  // A token only this key can make for `subject` (32 hex digits of
  // HMAC-SHA256 keyed by a hash of the private key): the authority of the
  // unsubscribe links in messages, which must work unsigned and must not
  // follow from a subscription's ARN alone (that ARN shows in /metrics).
  std::string LinkToken(absl::string_view subject) const;
  // The certificate, PEM.
  const std::string& certificate_pem() const { return cert_pem_; }

 private:
  MessageSigner() = default;
  void* key_ = nullptr;  // EVP_PKEY*
  std::string cert_pem_;
  std::string link_key_;  // SHA-256 of the private key (DER)
};

// A MessageSigner loaded (or created) on first use: OpenSSL's key handling
// touches megabytes of libcrypto that a daemon without topics never needs,
// and creating the key would slow the first start. Thread-safe.
class LazyMessageSigner {
 public:
  explicit LazyMessageSigner(std::string dir) : dir_(std::move(dir)) {}

  // As MessageSigner::Sign; empty when the key cannot be loaded or created
  // (logged once).
  std::string Sign(const std::string& string_to_sign,
                   absl::string_view signature_version = "1");
  // The certificate, PEM; empty on the same failure.
  std::string certificate_pem();
  // As MessageSigner::LinkToken; empty on the same failure.
  std::string LinkToken(absl::string_view subject);

 private:
  const MessageSigner* Get();

  const std::string dir_;
  absl::once_flag once_;
  std::unique_ptr<MessageSigner> signer_;  // set once by Get()
};

}  // namespace evbus::topics
