// StagedDeviceBatches over the host DeviceIo (the kernels' reference): the same batches as
// the ShardStream decoding on the host — values, labels, order, first samples, the end of
// the stream, a seek — with copies queued ahead, staging buffers reused, host rows kept
// until their copy is done, and errors (a label out of bounds) naming the file.
#include "storage/gpu_direct/staged_batches.h"

#include "gtest/gtest.h"
#include "storage/gpu_direct/record_layout.h"
#include "tests/support/image_shards.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// The host DeviceIo with markers that are reached only when waited for or after two more
// calls of reached() (a slow device), counting what the loader asks of it.
class SlowIo final : public DeviceIo {
 public:
  Device device() const override { return host_->device(); }
  absl::StatusOr<void*> alloc_pinned(size_t b) override { return host_->alloc_pinned(b); }
  void free_pinned(void* p) override { host_->free_pinned(p); }
  absl::StatusOr<void*> alloc_device(size_t b) override {
    ++device_allocs;
    ++device_live;
    return host_->alloc_device(b);
  }
  void free_device(void* p) override {
    --device_live;
    host_->free_device(p);
  }
  absl::Status copy_to_device(void* d, const void* p, size_t b) override {
    ++copies;
    return host_->copy_to_device(d, p, b);
  }
  absl::Status copy_to_host(void* p, const void* d, size_t b) override { return host_->copy_to_host(p, d, b); }
  absl::Status check_records(const uint8_t* const* r, int64_t n, const RecordLayout& l, uint8_t* f) override {
    return host_->check_records(r, n, l, f);
  }
  absl::StatusOr<Marker> mark_copies() override { return fresh(); }
  absl::Status decode_records(const Marker& after, const uint8_t* const* r, int64_t n, const RecordLayout& l, void* x,
                              void* y) override {
    EXPECT_NE(after, nullptr) << "a decode not ordered after its copy";
    ++decodes;
    return host_->decode_records(after, r, n, l, x, y);
  }
  absl::StatusOr<Marker> mark_compute() override { return fresh(); }
  bool reached(const Marker& m) override { return !m || ++*static_cast<int*>(m.get()) > 2; }
  absl::Status wait(const Marker& m) override {
    if (m) *static_cast<int*>(m.get()) = 100;
    return absl::OkStatus();
  }
  int device_allocs = 0, device_live = 0, copies = 0, decodes = 0;

 private:
  Marker fresh() { return std::make_shared<int>(0); }
  std::shared_ptr<DeviceIo> host_ = host_device_io();
};

class StagedBatchesTest : public TempDirTest {
 protected:
  std::shared_ptr<ShardSet> open_set(int64_t n, int32_t classes, ShardSetOptions so = {}) {
    auto set = ShardSet::open(write_image_shards(path("d"), n, 50, classes), so);
    EXPECT_TRUE(set.ok()) << set.status();
    return set.ok() ? *set : nullptr;
  }
  static StreamOptions options() {
    StreamOptions o;
    o.seed = 4;
    o.global_batch = 32;
    o.epochs = 2;
    o.shuffle_window_bytes = 100 * 58;
    o.standardize = true;
    o.mean = 0.4f;
    o.std = 0.3f;
    return o;
  }
  std::unique_ptr<StagedDeviceBatches> staged(std::shared_ptr<ShardSet> set, std::shared_ptr<DeviceIo> io) {
    StreamOptions o = options();
    o.raw_records = true;
    o.batch_memory = pinned_memory(io, size_t{16} << 20);
    auto raw = ShardStream::open(set, o);
    EXPECT_TRUE(raw.ok()) << raw.status();
    return std::make_unique<StagedDeviceBatches>(std::move(*raw), io,
                                                 device_record_layout(*set, false, true, o.mean, o.std),
                                                 sample_fields(*set), host_memory());
  }
};

void expect_same(Batch& want, Batch& got, int64_t step) {
  ASSERT_EQ(got["x"].shape(), want["x"].shape()) << "step " << step;
  ASSERT_EQ(got["y"].shape(), want["y"].shape());
  EXPECT_EQ(std::memcmp(got["x"].raw(), want["x"].raw(), want["x"].numel() * 4), 0) << "step " << step;
  EXPECT_EQ(std::memcmp(got["y"].raw(), want["y"].raw(), want["y"].numel() * 4), 0) << "step " << step;
  EXPECT_EQ(got.first_sample(), want.first_sample());
}

TEST_F(StagedBatchesTest, GivesTheHostDecodersBatchesThroughASeekAndTheEnd) {
  auto set = open_set(1000, 10);
  auto io = std::make_shared<SlowIo>();
  auto ref = ShardStream::open(set, options());
  ASSERT_TRUE(ref.ok());
  std::unique_ptr<StagedDeviceBatches> dev = staged(set, io);
  ASSERT_TRUE((*ref)->seek(0, 0).ok());
  ASSERT_TRUE(dev->seek(0, 0).ok());
  const int64_t steps = 2 * dev->steps_per_epoch();
  for (int64_t s = 0; s < steps; ++s) {
    Batch want, got;
    ASSERT_TRUE((*ref)->next(want).ok());
    ASSERT_TRUE(dev->next(got).ok()) << "step " << s;
    expect_same(want, got, s);
    EXPECT_EQ(io->decodes, s + 1);
    if (s + 3 < steps) {
      EXPECT_EQ(io->copies, s + 4) << "3 steps' copies queued ahead";
    }
  }
  EXPECT_LE(io->device_allocs, 6) << "staging buffers are reused";
  Batch end;
  EXPECT_EQ(dev->next(end).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(dev->next(end).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE((*ref)->seek(1, 5).ok());
  ASSERT_TRUE(dev->seek(1, 5).ok());
  Batch want, got;
  ASSERT_TRUE((*ref)->next(want).ok());
  ASSERT_TRUE(dev->next(got).ok());
  expect_same(want, got, 5);
  dev.reset();
  EXPECT_EQ(io->device_live, 0) << "every staging buffer freed";
}

TEST_F(StagedBatchesTest, ALabelOutOfBoundsIsAnErrorNamingTheFile) {
  auto set = open_set(200, 7, ShardSetOptions{5, false});  // labels go up to 6
  std::unique_ptr<StagedDeviceBatches> dev = staged(set, host_device_io());
  ASSERT_TRUE(dev->seek(0, 0).ok());
  Batch b;
  absl::Status st = dev->next(b);
  ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("outside [0, 5)"), std::string::npos) << st;
  EXPECT_NE(st.message().find(path("d")), std::string::npos) << st;
}

}  // namespace
}  // namespace ty
