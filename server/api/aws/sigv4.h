// File: server/api/aws/sigv4.h
//
// AWS Signature Version 4: parsing the Authorization header (who, which
// region and service) and verifying a signature against a known secret.
// Pure; thread-safe.
//
//   absl::StatusOr<SigV4Credential> c = ParseAuthorization(auth_header);
//   bool ok = VerifySigV4(request_parts, *c, secret);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::api::aws {

struct SigV4Credential {
  std::string access_key_id;
  std::string date;  // yyyymmdd
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lower-case, in order
  std::string signature;                    // hex
};

// "AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/events/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=abcd...". InvalidArgument when
// malformed.
absl::StatusOr<SigV4Credential> ParseAuthorization(absl::string_view header);

struct SignedRequest {
  std::string method;
  std::string raw_target;  // path and query as sent, e.g. "/a%3Ab?x=1"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // as sent
};

// Recomputes the signature of `request` with `secret` and compares it (in
// constant time) with the credential's.
bool VerifySigV4(const SignedRequest& request, const SigV4Credential& cred,
                 absl::string_view secret);

// The signature itself (hex), for tests and clients.
std::string ComputeSigV4(const SignedRequest& request,
                         const SigV4Credential& cred, absl::string_view secret);

// Reads access keys from an AWS credentials file (INI: [profile] lines with
// aws_access_key_id / aws_secret_access_key). Returns AKID → secret.
absl::StatusOr<std::map<std::string, std::string>> LoadCredentialsFile(
    const std::string& path);

}  // namespace evbus::api::aws
