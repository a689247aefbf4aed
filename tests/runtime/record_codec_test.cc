// record_codec.h (the record kernels' shared code) and host_device_io(): CRC32C by table,
// split into lanes and joined, record flags, decoding; the host DeviceIo's calls and the
// pinned allocator's reuse.
#include "runtime/record_codec.h"

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/device_io.h"

namespace ty {
namespace {

const Crc32cTables& tables() {
  static const Crc32cTables t = [] {
    Crc32cTables x;
    fill_crc32c_tables(x);
    return x;
  }();
  return t;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(RecordCodec, Crc32cMatchesTheStandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c_bytes(tables(), reinterpret_cast<const uint8_t*>(s), 9), 0xE3069283u);
  EXPECT_EQ(crc32c_bytes(tables(), nullptr, 0), 0u);
}

// What the check kernel does: 32 lanes' segment CRCs joined in lane order.
TEST(RecordCodec, LanesJoinedGiveTheWholeCrcForEveryLength) {
  for (size_t n : {0, 1, 2, 31, 32, 33, 100, 788, 789, 3073, 65537}) {
    const std::vector<uint8_t> data = random_bytes(n, static_cast<uint32_t>(n));
    const uint32_t whole = crc32c_bytes(tables(), data.data(), static_cast<int64_t>(n));
    uint32_t joined = 0;
    for (int lane = 0; lane < 32; ++lane) {
      int64_t begin = 0, end = 0;
      crc32c_segment(static_cast<int64_t>(n), 32, lane, begin, end);
      const uint32_t part = crc32c_bytes(tables(), data.data() + begin, end - begin);
      joined = lane == 0 ? part : crc32c_combine(tables(), joined, part, end - begin);
    }
    EXPECT_EQ(joined, whole) << n << " bytes";
  }
}

// A record of 6 u8 features and an i32 label, its CRC after it.
std::vector<uint8_t> record(const std::vector<uint8_t>& x, int32_t label) {
  std::vector<uint8_t> r(x);
  r.resize(x.size() + 4);
  std::memcpy(r.data() + x.size(), &label, 4);
  const uint32_t crc = crc32c_bytes(tables(), r.data(), static_cast<int64_t>(r.size()));
  r.resize(r.size() + 4);
  std::memcpy(r.data() + x.size() + 4, &crc, 4);
  return r;
}

RecordLayout image_layout() {
  RecordLayout l;
  l.payload_bytes = 10;
  l.x_count = 6;
  l.x_kind = RecordLayout::kXU8;
  l.y_offset = 6;
  l.y_bytes = 4;
  l.label_count = 1;
  l.label_bound = 10;
  return l;
}

TEST(RecordCodec, FlagsNameABadCrcAndALabelOutOfBounds) {
  const RecordLayout l = image_layout();
  std::vector<uint8_t> good = record({0, 1, 2, 3, 254, 255}, 9);
  std::vector<uint8_t> flipped = good;
  flipped[3] ^= 0x10;
  std::vector<uint8_t> bad_label = record({0, 1, 2, 3, 4, 5}, 10);
  std::vector<uint8_t> negative = record({0, 1, 2, 3, 4, 5}, -1);
  const uint8_t* recs[] = {good.data(), flipped.data(), bad_label.data(), negative.data()};
  std::shared_ptr<DeviceIo> io = host_device_io();
  uint8_t flags[4] = {9, 9, 9, 9};
  ASSERT_TRUE(io->check_records(recs, 4, l, flags).ok());
  EXPECT_EQ(flags[0], 0);
  EXPECT_EQ(flags[1], kRecordBadCrc);
  EXPECT_EQ(flags[2], kRecordBadLabel);
  EXPECT_EQ(flags[3], kRecordBadLabel);
  RecordLayout no_crc = l;  // records whose CRC the host checked: only labels
  no_crc.has_crc = false;
  ASSERT_TRUE(io->check_records(recs, 2, no_crc, flags).ok());
  EXPECT_EQ(flags[1], 0);
}

TEST(RecordCodec, DecodesU8ScaledOrStandardizedF32AndI32AndCopiesY) {
  std::shared_ptr<DeviceIo> io = host_device_io();
  const std::vector<uint8_t> a = record({0, 51, 102, 153, 204, 255}, 3), b = record({255, 0, 0, 0, 0, 1}, 7);
  const uint8_t* recs[] = {a.data(), b.data()};
  RecordLayout l = image_layout();
  std::vector<float> x(12);
  std::vector<int32_t> y(2);
  ASSERT_TRUE(io->decode_records(nullptr, recs, 2, l, x.data(), y.data()).ok());
  EXPECT_EQ(x[1], 51.0f * (1.0f / 255.0f));
  EXPECT_EQ(x[6], 1.0f);
  EXPECT_EQ(y[0], 3);
  EXPECT_EQ(y[1], 7);
  l.affine = true;
  l.scale = 2.f;
  l.shift = -0.5f;
  ASSERT_TRUE(io->decode_records(nullptr, recs, 2, l, x.data(), y.data()).ok());
  EXPECT_EQ(x[5], 255.0f * (2.f * (1.0f / 255.0f)) - 0.5f);
  // f32 features, standardized; i32 token ids copied.
  const float f[2] = {1.5f, -2.f};
  std::vector<uint8_t> rec(12);
  std::memcpy(rec.data(), f, 8);
  const int32_t label = 4;
  std::memcpy(rec.data() + 8, &label, 4);
  const uint8_t* one[] = {rec.data()};
  RecordLayout lf;
  lf.payload_bytes = 12;
  lf.has_crc = false;
  lf.x_count = 2;
  lf.x_kind = RecordLayout::kXF32;
  lf.y_offset = 8;
  lf.y_bytes = 4;
  lf.affine = true;
  lf.scale = 0.5f;
  lf.shift = 1.f;
  float xf[2];
  int32_t yf = 0;
  ASSERT_TRUE(io->decode_records(nullptr, one, 1, lf, xf, &yf).ok());
  EXPECT_EQ(xf[0], 1.75f);
  EXPECT_EQ(xf[1], 0.f);
  EXPECT_EQ(yf, 4);
  lf.x_kind = RecordLayout::kXI32;
  int32_t ids[2];
  ASSERT_TRUE(io->decode_records(nullptr, one, 1, lf, ids, &yf).ok());
  EXPECT_EQ(std::memcmp(ids, f, 8), 0);
}

TEST(PinnedMemory, ReusesAFreedBlockOfTheSameSizeAndCountsBytes) {
  std::shared_ptr<Allocator> pinned = pinned_memory(host_device_io(), size_t{1} << 20);
  void* a = pinned->allocate(1000);
  EXPECT_EQ(pinned->bytes_in_use(), 4096u);
  pinned->deallocate(a, 1000);
  EXPECT_EQ(pinned->bytes_in_use(), 0u);
  void* b = pinned->allocate(4000);
  EXPECT_EQ(a, b);
  pinned->deallocate(b, 4000);
  EXPECT_EQ(pinned->peak_bytes_in_use(), 4096u);
}

}  // namespace
}  // namespace ty
