#include "server/api/aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace evbus::api::aws {
namespace {

std::string Sha256Hex(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

std::string Hmac(absl::string_view key, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool Unreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string UriEncode(absl::string_view s, bool keep_slash) {
  std::string out;
  for (char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(
                          absl::BytesToHexString(absl::string_view(&c, 1))));
    }
  }
  return out;
}

std::string UriDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += absl::HexStringToBytes(s.substr(i + 1, 2));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string CanonicalRequest(const SignedRequest& r, const SigV4Credential& c) {
  absl::string_view target = r.raw_target;
  absl::string_view path = target, query;
  size_t q = target.find('?');
  if (q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  // Non-S3 services: each segment URI-encoded (the raw path is already
  // encoded once by the client; encode it again).
  std::string canonical_path = UriEncode(path, /*keep_slash=*/true);
  if (canonical_path.empty()) canonical_path = "/";
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    params.emplace_back(UriEncode(UriDecode(p.first), false),
                        UriEncode(UriDecode(p.second), false));
  }
  std::sort(params.begin(), params.end());
  std::vector<std::string> query_parts;
  for (const auto& [k, v] : params) query_parts.push_back(k + "=" + v);
  std::string headers;
  for (const std::string& name : c.signed_headers) {
    auto it = r.headers.find(name);
    std::string value = it == r.headers.end() ? "" : it->second;
    // Trim and collapse inner whitespace runs.
    std::string collapsed;
    bool space = false;
    for (char ch : absl::StripAsciiWhitespace(value)) {
      if (ch == ' ' || ch == '\t') {
        space = true;
        continue;
      }
      if (space && !collapsed.empty()) collapsed.push_back(' ');
      space = false;
      collapsed.push_back(ch);
    }
    absl::StrAppend(&headers, name, ":", collapsed, "\n");
  }
  // The body received, hashed here: an X-Amz-Content-Sha256 header is only
  // the client's claim (and UNSIGNED-PAYLOAD is S3's alone), so a body
  // swapped under a captured signature no longer matches it.
  std::string payload = Sha256Hex(r.body);
  return absl::StrCat(r.method, "\n", canonical_path, "\n",
                      absl::StrJoin(query_parts, "&"), "\n", headers, "\n",
                      absl::StrJoin(c.signed_headers, ";"), "\n", payload);
}

}  // namespace

absl::StatusOr<SigV4Credential> ParseAuthorization(absl::string_view header) {
  if (!absl::ConsumePrefix(&header, "AWS4-HMAC-SHA256 ")) {
    return absl::InvalidArgumentError("not an AWS4-HMAC-SHA256 signature");
  }
  SigV4Credential c;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "Credential=")) {
      std::vector<std::string> scope = absl::StrSplit(part, '/');
      if (scope.size() != 5 || scope[4] != "aws4_request") {
        return absl::InvalidArgumentError("bad credential scope");
      }
      c.access_key_id = scope[0];
      c.date = scope[1];
      c.region = scope[2];
      c.service = scope[3];
    } else if (absl::ConsumePrefix(&part, "SignedHeaders=")) {
      c.signed_headers = absl::StrSplit(part, ';');
    } else if (absl::ConsumePrefix(&part, "Signature=")) {
      c.signature = std::string(part);
    }
  }
  if (c.access_key_id.empty() || c.signature.empty() ||
      c.signed_headers.empty()) {
    return absl::InvalidArgumentError("incomplete Authorization header");
  }
  return c;
}

std::string ComputeSigV4(const SignedRequest& request,
                         const SigV4Credential& cred,
                         absl::string_view secret) {
  auto date = request.headers.find("x-amz-date");
  std::string amz_date = date == request.headers.end() ? "" : date->second;
  std::string scope = absl::StrCat(cred.date, "/", cred.region, "/",
                                   cred.service, "/aws4_request");
  std::string to_sign =
      absl::StrCat("AWS4-HMAC-SHA256\n", amz_date, "\n", scope, "\n",
                   Sha256Hex(CanonicalRequest(request, cred)));
  std::string key = Hmac(absl::StrCat("AWS4", secret), cred.date);
  key = Hmac(key, cred.region);
  key = Hmac(key, cred.service);
  key = Hmac(key, "aws4_request");
  return absl::BytesToHexString(Hmac(key, to_sign));
}

bool VerifySigV4(const SignedRequest& request, const SigV4Credential& cred,
                 absl::string_view secret) {
  std::string expected = ComputeSigV4(request, cred, secret);
  std::string given = absl::AsciiStrToLower(cred.signature);
  return expected.size() == given.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

absl::StatusOr<std::map<std::string, std::string>> LoadCredentialsFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::map<std::string, std::string> keys;
  std::string line, id, secret;
  auto flush = [&] {
    if (!id.empty() && !secret.empty()) keys[id] = secret;
    id.clear();
    secret.clear();
  };
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l[0] == '[') {
      flush();
      continue;
    }
    std::pair<std::string, std::string> kv =
        absl::StrSplit(l, absl::MaxSplits('=', 1));
    std::string k(absl::StripAsciiWhitespace(kv.first));
    std::string v(absl::StripAsciiWhitespace(kv.second));
    if (k == "aws_access_key_id") id = v;
    if (k == "aws_secret_access_key") secret = v;
  }
  flush();
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no aws_access_key_id / aws_secret_access_key"));
  }
  return keys;
}

}  // namespace evbus::api::aws
