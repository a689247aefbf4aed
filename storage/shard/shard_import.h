// Importers: IDX image/label pairs and CSV files into shards with fields x and y.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/csv_reader.h"
#include "storage/shard/shard_writer.h"

namespace ty {

// x: u8 (1, H, W) pixels as stored; y: i32 label.
absl::StatusOr<std::vector<std::string>> import_idx(const std::string& images, const std::string& labels,
                                                    const std::string& out_prefix, ShardWriterOptions options = {});
// x: f32 (D) features; y: i32 label (classification) or f32 (1) target.
absl::StatusOr<std::vector<std::string>> import_csv(const std::string& path, const CsvOptions& csv,
                                                    const std::string& out_prefix, ShardWriterOptions options = {});

}  // namespace ty
