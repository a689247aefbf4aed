// PNG grids: written images read back pixel for pixel (value -1 black, 1 white, clamped
// beyond), laid out by columns with black gaps; bad shapes refused naming the file.
#include "storage/png_grid.h"

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class PngGrid : public TempDirTest {};

TEST_F(PngGrid, WritesWhatItIsGivenLaidOutByColumns) {
  // 3 gray 2x3 images, 2 columns, gap 1: a grid of 2 * (3 + 1) + 1 = 9 by 2 * (2 + 1) + 1 = 7.
  Tensor images = Tensor::empty(host_memory(), {3, 1, 2, 3}, DType::kF32);
  for (int64_t i = 0; i < images.numel(); ++i) images.set(i, -1.0 + 2.0 * static_cast<double>(i % 6) / 5.0);
  images.set(0, -7.0);  // clamped to black
  images.set(6 + 5, 9.0);  // clamped to white
  ASSERT_TRUE(write_png_grid(path("g.png"), images, 2, 1).ok());
  auto png = read_png(path("g.png"));
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->width, 9);
  EXPECT_EQ(png->height, 7);
  EXPECT_EQ(png->channels, 1);
  auto at = [&](int64_t x, int64_t y) { return static_cast<int>(png->pixels[static_cast<size_t>(y * 9 + x)]); };
  EXPECT_EQ(at(1, 1), 0);      // image 0, pixel 0: clamped -7
  EXPECT_EQ(at(2, 1), 51);     // -1 + 2/5 -> 0.2 * 255
  EXPECT_EQ(at(3, 2), 255);    // pixel 5: 1.0
  EXPECT_EQ(at(7, 2), 255);    // image 1 (column 2), pixel 5: clamped 9
  EXPECT_EQ(at(1, 4), 0);      // image 2 (row 2), pixel 0
  EXPECT_EQ(at(0, 0), 0);      // the gap
  EXPECT_EQ(at(5, 5), 0);      // where a fourth image would be: black
}

TEST_F(PngGrid, ColorAndErrors) {
  Tensor rgb = Tensor::empty(host_memory(), {1, 3, 1, 1}, DType::kF32);
  rgb.set(0, 1.0);
  rgb.set(1, -1.0);
  rgb.set(2, 0.0);
  ASSERT_TRUE(write_png_grid(path("c.png"), rgb, 8, 0).ok());
  auto png = read_png(path("c.png"));
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->channels, 3);
  EXPECT_EQ(std::vector<int>(png->pixels.begin(), png->pixels.end()), (std::vector<int>{255, 0, 128}));

  const absl::Status two = write_png_grid(path("x.png"), Tensor::empty(host_memory(), {1, 2, 4, 4}, DType::kF32));
  EXPECT_NE(two.message().find("x.png: a PNG grid takes (N, 1 or 3, H, W) images, not (1, 2, 4, 4)"),
            std::string::npos)
      << two;
  const absl::Status nowhere = write_png_grid(path("missing/dir/y.png"), rgb);
  EXPECT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.message().find("y.png: cannot write the PNG"), std::string::npos) << nowhere;
}

}  // namespace
}  // namespace ty
