#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {
namespace {

std::string hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

// Lower-case names, trimmed values with inner runs of spaces folded, sorted by name.
HttpHeaders normalized(const HttpHeaders& headers) {
  HttpHeaders h;
  for (const auto& [name, value] : headers) {
    std::string v;
    for (char c : absl::StripAsciiWhitespace(value))
      if (!(c == ' ' && !v.empty() && v.back() == ' ')) v += c;
    h.emplace_back(absl::AsciiStrToLower(name), v);
  }
  std::sort(h.begin(), h.end());
  return h;
}

std::string signed_names(const HttpHeaders& sorted) {
  std::vector<std::string> names;
  for (const auto& kv : sorted) names.push_back(kv.first);
  return absl::StrJoin(names, ";");
}

}  // namespace

std::string sha256_hex(const char* data, size_t size) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data), size, d);
  return hex(d, sizeof d);
}

std::string sha256_hex(std::string_view data) { return sha256_hex(data.data(), data.size()); }

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      static const char* digits = "0123456789ABCDEF";
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : query) q.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(q.begin(), q.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : q) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, "&");
}

std::string canonical_request(const SigV4Request& r) {
  const HttpHeaders h = normalized(r.headers);
  std::string headers;
  for (const auto& [k, v] : h) absl::StrAppend(&headers, k, ":", v, "\n");
  return absl::StrCat(r.method, "\n", uri_encode(r.path.empty() ? "/" : r.path, true), "\n", canonical_query(r.query),
                      "\n", headers, "\n", signed_names(h), "\n", r.payload_sha256);
}

std::string sigv4_authorization(const SigV4Request& r, const SigV4Credentials& creds, std::string_view region,
                                std::string_view amz_date) {
  const std::string day(amz_date.substr(0, 8)), date(amz_date), reg(region);
  const std::string scope = absl::StrCat(day, "/", reg, "/s3/aws4_request");
  const std::string to_sign =
      absl::StrCat("AWS4-HMAC-SHA256\n", date, "\n", scope, "\n", sha256_hex(canonical_request(r)));
  std::string key = hmac_sha256(absl::StrCat("AWS4", creds.secret_key), day);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, "s3");
  key = hmac_sha256(key, "aws4_request");
  const std::string sig = hmac_sha256(key, to_sign);
  return absl::StrCat("AWS4-HMAC-SHA256 Credential=", creds.access_key, "/", scope,
                      ",SignedHeaders=", signed_names(normalized(r.headers)),
                      ",Signature=", hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()));
}

}  // namespace ty
