// PNG image grids (libpng's simplified API, Debian's libpng-dev): a GAN's samples as one
// picture a person can look at. Written to a temporary name and renamed, so a reader never
// sees half a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace ty {

// `images` (N, C, H, W) with C 1 (gray) or 3 (RGB), any device, values in [-1, 1] (clamped;
// -1 black, 1 white), laid out `cols` to a row (rows as needed) with `gap` pixels of black
// between and around them.
absl::Status write_png_grid(const std::string& path, const Tensor& images, int64_t cols = 8, int64_t gap = 2);

// A PNG read back (for tests): 8-bit pixels, row-major, `channels` per pixel.
struct PngPixels {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};
absl::StatusOr<PngPixels> read_png(const std::string& path);

}  // namespace ty
