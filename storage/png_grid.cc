#include "storage/png_grid.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ty {

absl::Status write_png_grid(const std::string& path, const Tensor& images, int64_t cols, int64_t gap) {
  const Shape& s = images.shape();
  if (s.size() != 4 || (s[1] != 1 && s[1] != 3) || s[0] < 1)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a PNG grid takes (N, 1 or 3, H, W) images, not ", shape_str(s)));
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  cols = std::clamp<int64_t>(cols, 1, n);
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t width = cols * (w + gap) + gap, height = rows * (h + gap) + gap;
  if (width > 1 << 16 || height > 1 << 16)
    return absl::InvalidArgumentError(absl::StrCat(path, ": a grid of ", width, " x ", height, " pixels is too large"));
  const Tensor host = images.dtype() == DType::kF32 ? images.host() : Tensor();
  if (!host.defined()) return absl::InvalidArgumentError(absl::StrCat(path, ": a PNG grid takes f32 images"));
  const float* px = host.data<float>();
  std::vector<uint8_t> out(static_cast<size_t>(width * height * c), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = gap + (i / cols) * (h + gap), left = gap + (i % cols) * (w + gap);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const float v = std::clamp(px[((i * c + ch) * h + y) * w + x], -1.0f, 1.0f);
          out[static_cast<size_t>(((top + y) * width + left + x) * c + ch)] =
              static_cast<uint8_t>(std::lround((v + 1.0f) * 127.5f));
        }
  }
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  const std::string tmp = path + ".tmp";
  if (!png_image_write_to_file(&image, tmp.c_str(), 0, out.data(), static_cast<png_int_32>(width * c), nullptr)) {
    const std::string why = image.message;
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot write the PNG (", why, ")"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot rename the PNG into place (", std::strerror(err), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PngPixels> read_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str()))
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a readable PNG (", image.message, ")"));
  PngPixels p;
  p.channels = (image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  image.format = p.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  p.width = image.width;
  p.height = image.height;
  p.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, p.pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the PNG (", image.message, ")"));
  }
  return p;
}

}  // namespace ty
