#include "storage/s3/s3_url.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ty {

bool is_s3_url(std::string_view path) { return path.substr(0, 5) == "s3://"; }

S3Url S3Url::child(std::string_view name) const {
  S3Url u = *this;
  if (!u.key.empty() && u.key.back() != '/') u.key += '/';
  u.key += name;
  return u;
}

absl::StatusOr<S3Url> parse_s3_url(std::string_view p) {
  const std::string path(p);
  if (!is_s3_url(path)) return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not an s3://bucket/key URL"));
  std::string_view rest = std::string_view(path).substr(5);
  const size_t slash = rest.find('/');
  S3Url u;
  u.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) u.key = std::string(rest.substr(slash + 1));
  // Bucket names: 3-63 characters of lower-case letters, digits, '.' and '-'.
  bool ok = u.bucket.size() >= 3 && u.bucket.size() <= 63;
  for (char c : u.bucket) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "': '", u.bucket, "' is not a bucket name (3-63 lower-case letters, digits, '.' or '-')"));
  while (!u.key.empty() && u.key[0] == '/') u.key.erase(0, 1);
  return u;
}

}  // namespace ty
