#include "tests/testing/certificates.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace evbus::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Generated Issue(EVP_PKEY* key, const char* name, long days,
                EVP_PKEY* issuer_key, const char* issuer) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1,
                             -1, 0);
  if (issuer != nullptr) {
    X509_NAME* by = X509_NAME_new();
    X509_NAME_add_entry_by_txt(by, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(issuer),
                               -1, -1, 0);
    X509_set_issuer_name(cert, by);
    X509_NAME_free(by);
  } else {
    X509_set_issuer_name(cert, subject);
  }
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  Generated out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  out.cert = BioText(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key = BioText(bio);
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

Generated SelfSigned(const char* name, long days) {
  return Issue(EVP_EC_gen("P-256"), name, days);
}

}  // namespace evbus::testing
