// A weights file: named tensors, written atomically (temporary name, fsync, rename) and
// checked with a CRC32 on load.
//
// Layout (little-endian): "TYWEIGHT" | u32 version (2) | u32 count |
//   count x { u32 name_len | name | u8 dtype | u32 ndim | i64 dims[ndim] | data } | u32 crc
// where crc is the CRC32C of every byte before it (version 1 files, still read, used zlib's
// CRC32). The file is streamed from the tensors, not assembled in memory. A path may be an
// s3://bucket/key URL: the file is then streamed into a multipart upload (16 MiB parts).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace ty {

// `crc32c` and `size` (optional) receive the CRC32C and length of the bytes written.
absl::Status save_weights(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                          uint32_t* crc32c = nullptr, int64_t* size = nullptr);
absl::StatusOr<std::map<std::string, Tensor>> load_weights(const std::string& path);
// The same from the file's bytes (`path` names them in errors).
absl::StatusOr<std::map<std::string, Tensor>> decode_weights(const std::string& path, const std::string& bytes);

// Copies loaded tensors into `into` by name; every name must be present with its shape.
absl::Status assign_weights(const std::string& path, const std::map<std::string, Tensor>& loaded,
                            const std::vector<std::pair<std::string, Tensor>>& into);

}  // namespace ty
