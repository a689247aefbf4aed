// IDX files (the MNIST format), gzip-compressed or raw: images (magic 0x00000803, u8,
// N x H x W) and labels (magic 0x00000801, u8, N). Pixels are scaled to [0, 1].
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "storage/dataset.h"

namespace ty {

// Reads an images file and its labels file into a dataset of (1, H, W) samples.
// Errors name the file and what is wrong: a wrong magic number, a truncated file, or
// image and label counts that differ.
absl::StatusOr<DatasetPtr> load_idx(const std::string& images_path, const std::string& labels_path);

// The labels file that goes with an images file: "...-images-idx3-ubyte..." ->
// "...-labels-idx1-ubyte..."; empty when the name does not follow that pattern.
std::string idx_labels_path_for(const std::string& images_path);

}  // namespace ty
