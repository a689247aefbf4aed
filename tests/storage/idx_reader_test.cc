// IDX reading: gz and raw files, and a clear error for each kind of bad file.
#include "storage/idx_reader.h"

#include <zlib.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

std::string images(uint32_t magic, uint32_t n, uint32_t h, uint32_t w, size_t payload) {
  std::string s = be32(magic) + be32(n) + be32(h) + be32(w);
  for (size_t i = 0; i < payload; ++i) s.push_back(char(i * 7));
  return s;
}

std::string labels(uint32_t n, size_t payload) {
  std::string s = be32(0x801) + be32(n);
  for (size_t i = 0; i < payload; ++i) s.push_back(char(i % 10));
  return s;
}

class IdxTest : public TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& bytes, bool gz = false) {
    if (!gz) return TempDirTest::write(name, bytes);
    gzFile f = gzopen(path(name).c_str(), "wb");
    gzwrite(f, bytes.data(), bytes.size());
    gzclose(f);
    return path(name);
  }
};

TEST_F(IdxTest, ReadsRawAndGzipped) {
  for (bool gz : {false, true}) {
    auto ds = load_idx(write("a-images-idx3-ubyte", images(0x803, 5, 4, 3, 60), gz),
                       write("a-labels-idx1-ubyte", labels(5, 5), gz));
    ASSERT_TRUE(ds.ok()) << ds.status();
    EXPECT_EQ((*ds)->size(), 5);
    EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 4, 3}));
    EXPECT_EQ((*ds)->num_classes(), 5);
    Tensor x = Tensor::empty(host_memory(), {1, 1, 4, 3}), y = Tensor::empty(host_memory(), {1}, DType::kI32);
    const int64_t idx = 1;
    (*ds)->gather(&idx, 1, x, y);
    EXPECT_FLOAT_EQ(x.data<float>()[0], static_cast<uint8_t>(12 * 7) / 255.0f);
    EXPECT_EQ(y.data<int32_t>()[0], 1);
  }
}

TEST_F(IdxTest, WrongMagicNamesFileAndMagic) {
  auto ds = load_idx(write("bad-images", images(0x802, 5, 4, 3, 60)), write("l", labels(5, 5)));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("bad-images: wrong magic number 0x00000802"), std::string::npos) << ds.status();
}

TEST_F(IdxTest, TruncatedPayloadAndHeader) {
  auto ds = load_idx(write("t-images", images(0x803, 5, 4, 3, 59), true), write("l", labels(5, 5)));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("t-images: truncated: the header promises 60 data bytes, the file has 59"),
            std::string::npos)
      << ds.status();
  auto h = load_idx(write("h-images", images(0x803, 5, 4, 3, 0).substr(0, 9)), write("l", labels(5, 5)));
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("truncated in the header"), std::string::npos) << h.status();
  auto e = load_idx(write("empty", ""), write("l", labels(5, 5)));
  EXPECT_NE(e.status().message().find("shorter than an IDX header"), std::string::npos) << e.status();
}

TEST_F(IdxTest, HugeClaimedSizeFailsWithoutAllocatingIt) {
  auto ds = load_idx(write("huge-images", images(0x803, 0xffff, 0xfff, 0xfff, 100)), write("l", labels(5, 5)));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("truncated"), std::string::npos) << ds.status();
  // Dimensions whose product overflows, or images of no pixels: refused from the header.
  auto past =
      load_idx(write("past-images", images(0x803, 0xffffffff, 0xffffffff, 0xffffffff, 100)), write("l2", labels(5, 5)));
  EXPECT_NE(past.status().message().find("multiply past 2^40 bytes"), std::string::npos) << past.status();
  auto empty = load_idx(write("empty-images", images(0x803, 5, 0, 0, 0)), write("l3", labels(5, 5)));
  EXPECT_NE(empty.status().message().find("dimension 1 is 0"), std::string::npos) << empty.status();
}

TEST_F(IdxTest, CountMismatch) {
  auto ds = load_idx(write("m-images", images(0x803, 5, 4, 3, 60)), write("m-labels", labels(4, 4)));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("has 5 images but"), std::string::npos) << ds.status();
  EXPECT_NE(ds.status().message().find("has 4 labels"), std::string::npos) << ds.status();
}

TEST_F(IdxTest, MissingFile) {
  auto ds = load_idx(path("nope"), path("nope2"));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("nope: cannot open"), std::string::npos);
}

TEST(IdxLabelsPath, DerivedFromImagesName) {
  EXPECT_EQ(idx_labels_path_for("/d/train-images-idx3-ubyte.gz"), "/d/train-labels-idx1-ubyte.gz");
  EXPECT_EQ(idx_labels_path_for("/d/x.bin"), "");
}

}  // namespace
}  // namespace ty
