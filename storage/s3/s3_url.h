// S3Url: an object-store address, s3://bucket/key. Paths in trainyard are either local file
// names or such URLs; is_s3_url() tells them apart wherever a path is accepted.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ty {

struct S3Url {
  std::string bucket;
  std::string key;  // may be empty (the bucket) or end in '/' (a prefix)

  std::string str() const { return "s3://" + bucket + "/" + key; }
  // This URL with `name` appended to the key after one '/': s3://b/run + "x" -> s3://b/run/x.
  S3Url child(std::string_view name) const;
};

bool is_s3_url(std::string_view path);

// s3://bucket[/key]; an error names the path and what is wrong with it.
absl::StatusOr<S3Url> parse_s3_url(std::string_view path);

}  // namespace ty
