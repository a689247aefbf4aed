// CSV sources, the weights file, and the epoch sampler.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "gtest/gtest.h"
#include "storage/csv_reader.h"
#include "storage/sampler.h"
#include "storage/weights_file.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

using Files = TempDirTest;

TEST_F(Files, CsvClassificationAndRegression) {
  const std::string path = write("a.csv", "x1, x2 ,label\n0.5,1,2\n-1,2e-1,0\n\n3,4,1\n");
  auto c = load_csv(path, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->size(), 3);
  EXPECT_EQ((*c)->sample_shape(), (Shape{2}));
  EXPECT_EQ((*c)->num_classes(), 3);
  auto r = load_csv(path, {"x1", false, 0});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->num_classes(), 0);
  EXPECT_EQ((*r)->target_width(), 1);
  Tensor x = Tensor::empty(host_memory(), {1, 2}), y = Tensor::empty(host_memory(), {1, 1});
  const int64_t i = 1;
  (*r)->gather(&i, 1, x, y);
  EXPECT_FLOAT_EQ(y.data<float>()[0], -1.f);
  EXPECT_FLOAT_EQ(x.data<float>()[0], 0.2f);
}

TEST_F(Files, CsvByteOrderMarkAndValuesBeyondFloat) {
  auto bom = load_csv(write("bom.csv", "\xEF\xBB\xBFx,label\n1,0\n2,1\n"), {});
  ASSERT_TRUE(bom.ok()) << bom.status();
  EXPECT_EQ((*bom)->size(), 2);
  auto big = load_csv(write("big.csv", "x,label\n1,0\n1e300,1\n"), {});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("big.csv:3: column 'x': 1e300 is beyond the range of a 32-bit float"),
            std::string::npos)
      << big.status();
}

TEST_F(Files, WeightsFromADeviceOrADirectoryAreRefused) {
  for (const char* p : {"/dev/zero", "/tmp"}) {
    auto w = load_weights(p);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.status().message().find("not a regular file"), std::string::npos) << w.status();
  }
}

TEST_F(Files, CsvErrorsNameLineAndColumn) {
  auto missing = load_csv(write("b.csv", "a,b\n1,2\n"), {});
  EXPECT_NE(missing.status().message().find("no target column 'label'"), std::string::npos) << missing.status();
  auto bad = load_csv(write("c.csv", "a,label\n1,2\n1,x\n"), {});
  EXPECT_NE(bad.status().message().find("c.csv:3: column 'label': 'x' is not a finite number"), std::string::npos)
      << bad.status();
  auto ragged = load_csv(write("d.csv", "a,label\n1,2,3\n"), {});
  EXPECT_NE(ragged.status().message().find("d.csv:2: 3 columns, the header has 2"), std::string::npos);
  auto frac = load_csv(write("e.csv", "a,label\n1,0.5\n"), {});
  EXPECT_NE(frac.status().message().find("is not a class label"), std::string::npos);
  EXPECT_FALSE(load_csv(path("none.csv"), {}).ok());
}

TEST_F(Files, WeightsRoundTripAndCorruption) {
  Tensor a = Tensor::empty(host_memory(), {2, 3}), b = Tensor::empty(host_memory(), {4}, DType::kF64);
  for (int i = 0; i < 6; ++i) a.set(i, i * 0.5);
  for (int i = 0; i < 4; ++i) b.set(i, -i);
  const std::string file = path("w.bin");
  ASSERT_TRUE(save_weights(file, {{"a", a}, {"layer.b", b}}).ok());
  auto loaded = load_weights(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Tensor a2 = Tensor::empty(host_memory(), {2, 3}), b2 = Tensor::empty(host_memory(), {4}, DType::kF64);
  ASSERT_TRUE(assign_weights(file, *loaded, {{"a", a2}, {"layer.b", b2}}).ok());
  EXPECT_EQ(a2.at(5), 2.5);
  EXPECT_EQ(b2.at(3), -3);
  auto shape = assign_weights(file, *loaded, {{"a", Tensor::empty(host_memory(), {3, 2})}});
  EXPECT_NE(shape.message().find("tensor 'a' is (2, 3) f32, the model needs (3, 2) f32"), std::string::npos) << shape;
  EXPECT_NE(assign_weights(file, *loaded, {{"c", a2}}).message().find("no tensor 'c'"), std::string::npos);

  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[40] ^= 1;
  EXPECT_NE(load_weights(write("f.bin", flipped)).status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_FALSE(load_weights(write("t.bin", bytes.substr(0, bytes.size() / 2))).ok());
  EXPECT_NE(load_weights(write("n.bin", "hello")).status().message().find("bad magic"), std::string::npos);
}

TEST(Sampler, PermutationDependsOnlyOnSeedAndEpoch) {
  auto a = epoch_permutation(1000, 3, 0), b = epoch_permutation(1000, 3, 0), c = epoch_permutation(1000, 3, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<int64_t> all(a.begin(), a.end());
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 999);
  EXPECT_TRUE(epoch_permutation(0, 1, 0).empty());
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

TEST(Standardize, MomentsAndMappedFeatures) {
  std::vector<float> f{0, 2, 4, 6};
  auto base = std::make_shared<InMemoryDataset>("d", Shape{1}, f, std::vector<int32_t>{0, 1, 0, 1}, 2);
  auto [mean, std] = *feature_moments(*base);
  EXPECT_DOUBLE_EQ(mean, 3.0);
  EXPECT_NEAR(std, std::sqrt(5.0), 1e-6);
  StandardizedDataset s(base, mean, std);
  Tensor x = Tensor::empty(host_memory(), {2, 1}), y = Tensor::empty(host_memory(), {2}, DType::kI32);
  const int64_t idx[] = {3, 0};
  s.gather(idx, 2, x, y);
  EXPECT_NEAR(x.at(0), 3 / std::sqrt(5.0), 1e-6);
  EXPECT_NEAR(x.at(1), -3 / std::sqrt(5.0), 1e-6);
  EXPECT_EQ(y.data<int32_t>()[0], 1);
  auto [m0, s0] = *feature_moments(InMemoryDataset("c", Shape{1}, {1, 1}, std::vector<int32_t>{0, 0}, 1));
  EXPECT_EQ(m0, 1.0);
  EXPECT_EQ(s0, 1.0);  // constant features: no division by zero
}

}  // namespace
}  // namespace ty
