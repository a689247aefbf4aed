// AWS Signature Version 4 for S3 requests, written here (no SDK): the canonical request,
// the string to sign, the derived signing key and the Authorization header.
//
//  1. Canonical request: METHOD \n URI (each segment percent-encoded, '/' kept) \n query
//     (name=value pairs percent-encoded and sorted) \n each signed header "name:value\n"
//     (names lower-case, values trimmed, sorted by name) \n the signed names joined by ';'
//     \n the payload's SHA-256 in hex.
//  2. String to sign: "AWS4-HMAC-SHA256" \n amz-date \n date/region/s3/aws4_request \n
//     SHA-256 of the canonical request in hex.
//  3. Signing key: HMAC chain over "AWS4"+secret, date, region, "s3", "aws4_request".
//  4. Signature: HMAC(signing key, string to sign) in hex.
// Tested against AWS's published GET-object example (tests/storage/s3/sigv4_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ty {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // sent as x-amz-security-token when set
};

struct SigV4Request {
  std::string method;  // GET, PUT, ...
  std::string path;    // unencoded: "/bucket/key with spaces"
  std::vector<std::pair<std::string, std::string>> query;  // unencoded name, value
  HttpHeaders headers;          // every header to sign, "host" included; any case
  std::string payload_sha256;   // hex; sha256_hex("") for no body
};

std::string sha256_hex(std::string_view data);
std::string sha256_hex(const char* data, size_t size);
// RFC 3986 percent-encoding of all but A-Z a-z 0-9 - _ . ~ (and '/' when `keep_slash`).
std::string uri_encode(std::string_view s, bool keep_slash);
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
std::string canonical_request(const SigV4Request& r);
// "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=...,Signature=..."
// `amz_date` is the request's x-amz-date, e.g. 20130524T000000Z.
std::string sigv4_authorization(const SigV4Request& r, const SigV4Credentials& creds, std::string_view region,
                                std::string_view amz_date);

}  // namespace ty
