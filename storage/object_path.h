// Whole files at a path that is a local file name or an s3://bucket/key URL: what a run
// directory or a checkpoint holds (job.yaml, metrics.jsonl, weights, manifests). A write is
// all or nothing either way: locally a temporary name, fsync and rename; on a store one PUT
// (or a multipart upload, which the store makes visible only when complete).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

absl::StatusOr<std::string> read_whole(const std::string& path);
absl::Status write_whole(const std::string& path, std::string_view bytes);
// Whether a file or object is there (false also when the store cannot be asked).
bool path_exists(const std::string& path);
// kNotFound when absent; other errors as they come.
absl::Status remove_path(const std::string& path);

struct ListedPath {
  std::string path;  // full path or URL
  int64_t size = 0;
};
// Every file under `dir` (recursively), sorted; an s3:// prefix lists its objects.
absl::StatusOr<std::vector<ListedPath>> list_tree(const std::string& dir);

// `dir` + "/" + `name`, for paths and URLs alike.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace ty
