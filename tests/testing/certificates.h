// File: tests/testing/certificates.h
//
// Keys and X.509 certificates made with OpenSSL's API for tests of TLS
// code (no openssl command, no files unless the test writes them).
#pragma once

#include <openssl/evp.h>

#include <string>

namespace evbus::testing {

// A certificate and its private key, in PEM.
struct Generated {
  std::string cert;
  std::string key;
};

// A certificate for `key` (taken) valid from now for `days`, named CN=`name`,
// signed by `issuer_key` (`key` when null) with `issuer` as issuer name (its
// own subject when null).
Generated Issue(EVP_PKEY* key, const char* name, long days,
                EVP_PKEY* issuer_key = nullptr, const char* issuer = nullptr);

// A fresh P-256 key and a self-signed certificate for it, valid for `days`.
Generated SelfSigned(const char* name, long days);

}  // namespace evbus::testing
