// The CUDA DeviceIo (runtime/device_io.h) against host_device_io(), its reference: record
// checks (CRC32C by warp lanes, label bounds) and decoding, for batches larger than one
// launch and records of several sizes, through the copy stream, its markers and the
// compute stream. Skips without a CUDA device; tests/device/check.sh runs it on one.
#include <cuda_runtime_api.h>

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cuda/record_kernels.h"
#include "runtime/device_io.h"
#include "runtime/device_probe.h"

namespace ty {
namespace {

struct Records {
  RecordLayout layout;
  std::vector<uint8_t> bytes;  // n records back to back
  int64_t n = 0;
  std::vector<const uint8_t*> at(const uint8_t* base) const {
    std::vector<const uint8_t*> p(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) p[i] = base + i * layout.record_bytes();
    return p;
  }
};

// `n` records of `features` u8 and an i32 label; every 7th has a flipped bit, every 11th a
// label out of bounds.
Records make_records(int64_t n, int64_t features, uint32_t seed) {
  Crc32cTables t;
  fill_crc32c_tables(t);
  Records r;
  RecordLayout& l = r.layout;
  l.payload_bytes = features + 4;
  l.x_count = features;
  l.y_offset = features;
  l.y_bytes = 4;
  l.label_count = 1;
  l.label_bound = 10;
  l.affine = true;
  l.scale = 3.2f;
  l.shift = -0.9f;
  r.n = n;
  r.bytes.resize(static_cast<size_t>(n * l.record_bytes()));
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* rec = r.bytes.data() + i * l.record_bytes();
    for (int64_t k = 0; k < features; ++k) rec[k] = static_cast<uint8_t>(rng());
    const int32_t label = i % 11 == 5 ? 10 : static_cast<int32_t>(rng() % 10);
    std::memcpy(rec + features, &label, 4);
    const uint32_t crc = crc32c_bytes(t, rec, l.payload_bytes);
    std::memcpy(rec + l.payload_bytes, &crc, 4);
    if (i % 7 == 3) rec[rng() % l.payload_bytes] ^= static_cast<uint8_t>(1u << (rng() % 8));
  }
  return r;
}

TEST(CudaDeviceIo, ChecksAndDecodesLikeTheHostReference) {
  auto gpu = cuda_device(0);
  if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message();
  cudaStream_t compute = nullptr;
  ASSERT_EQ(cudaStreamCreate(&compute), cudaSuccess);
  auto opened = open_cuda_device_io(0, compute);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<DeviceIo> io = *opened, host = host_device_io();
  for (int64_t features : {1, 784, 3072, 70000}) {
    const int64_t n = features > 10000 ? 50 : 1000;  // more than kRecordsPerLaunch
    Records r = make_records(n, features, static_cast<uint32_t>(features));
    const RecordLayout& l = r.layout;
    const size_t bytes = r.bytes.size();
    void* pinned = *io->alloc_pinned(bytes);
    std::memcpy(pinned, r.bytes.data(), bytes);
    uint8_t* records = static_cast<uint8_t*>(*io->alloc_device(bytes));
    uint8_t* flags = static_cast<uint8_t*>(*io->alloc_device(n));
    uint8_t* host_flags = static_cast<uint8_t*>(*io->alloc_pinned(n));
    ASSERT_TRUE(io->copy_to_device(records, pinned, bytes).ok());
    const std::vector<const uint8_t*> on_device = r.at(records);
    ASSERT_TRUE(io->check_records(on_device.data(), n, l, flags).ok());
    ASSERT_TRUE(io->copy_to_host(host_flags, flags, n).ok());
    auto copied = io->mark_copies();
    ASSERT_TRUE(copied.ok());
    ASSERT_TRUE(io->wait(*copied).ok());
    std::vector<uint8_t> want(n);
    const std::vector<const uint8_t*> on_host = r.at(r.bytes.data());
    ASSERT_TRUE(host->check_records(on_host.data(), n, l, want.data()).ok());
    EXPECT_EQ(std::vector<uint8_t>(host_flags, host_flags + n), want) << features << " features";
    float* x = nullptr;
    int32_t* y = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&x), n * l.x_out_bytes()), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&y), n * 4), cudaSuccess);
    ASSERT_TRUE(io->decode_records(*copied, on_device.data(), n, l, x, y).ok());
    auto decoded = io->mark_compute();
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(io->reached(nullptr));
    ASSERT_TRUE(io->wait(*decoded).ok());
    EXPECT_TRUE(io->reached(*decoded));
    std::vector<float> got_x(n * features), want_x(n * features);
    std::vector<int32_t> got_y(n), want_y(n);
    ASSERT_EQ(cudaMemcpy(got_x.data(), x, got_x.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(got_y.data(), y, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_TRUE(host->decode_records(nullptr, on_host.data(), n, l, want_x.data(), want_y.data()).ok());
    EXPECT_EQ(got_x, want_x) << features << " features (x * a + b rounded as on the host)";
    EXPECT_EQ(got_y, want_y);
    cudaFree(x);
    cudaFree(y);
    io->free_device(records);
    io->free_device(flags);
    io->free_pinned(pinned);
    io->free_pinned(host_flags);
  }
  io.reset();
  cudaStreamDestroy(compute);
}

}  // namespace
}  // namespace ty
