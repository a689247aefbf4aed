// GpuDirectBatches over the tests' stub libcufile (host memory for device buffers, pread for
// reads) and the host DeviceIo (the record kernels' reference): the ShardStream's batches
// record for record on every rank, through window evictions, a kPad wrap, a seek and the
// end; a bit flipped in transit read again; corrupt records failing naming the file, record
// and offset or skipped and counted; a label out of bounds named as the host names it.
// cuFile's driver is opened once per process, so each case runs in a fresh one.
#include "storage/gpu_direct/direct_batches.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "gtest/gtest.h"
#include "tests/support/image_shards.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

constexpr int64_t kFeatures = 50, kRecordBytes = kFeatures + 4 + 4;

// Runs `body` in this (child) process with the stub in `mode`; exits 0 when it returns "",
// else prints what it returned and exits 1.
[[noreturn]] void in_child(const char* mode, const std::function<std::string()>& body) {
  ::setenv("TRAINYARD_CUFILE_LIBRARY", TRAINYARD_CUFILE_STUB, 1);
  ::setenv("CUFILE_STUB", mode, 1);
  const std::string failure = body();
  if (!failure.empty()) std::fprintf(stderr, "%s\n", failure.c_str());
  std::exit(failure.empty() ? 0 : 1);
}

std::string differs(Batch& want, Batch& got, const std::string& where) {
  if (got["x"].shape() != want["x"].shape() || got["y"].shape() != want["y"].shape())
    return where + ": batch shapes differ";
  if (std::memcmp(got["x"].raw(), want["x"].raw(), want["x"].numel() * 4) != 0) return where + ": x differs";
  if (std::memcmp(got["y"].raw(), want["y"].raw(), want["y"].numel() * 4) != 0) return where + ": y differs";
  if (got.first_sample() != want.first_sample()) return where + ": first sample differs";
  return "";
}

class DirectBatchesTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
  std::shared_ptr<ShardSet> open_set(ShardSetOptions so = {}) const {
    auto set = ShardSet::open(paths_, so);
    return set.ok() ? *set : nullptr;
  }
  static StreamOptions options(int rank, int world) {
    StreamOptions o;
    o.seed = 11;
    o.rank = rank;
    o.world = world;
    o.global_batch = 30;
    o.remainder = Remainder::kPad;
    o.epochs = 2;
    o.shuffle_window_bytes = 70 * kRecordBytes;  // windows of 70 records, each in 1-2 shards
    o.prefetch_bytes = 1;                         // 3 windows resident: evictions and reloads
    o.standardize = true;
    o.mean = 0.5f;
    o.std = 0.25f;
    return o;
  }
  // Every step of 2 epochs from `direct` equals the ShardStream's, then a seek, then the end.
  static std::string same_as_stream(std::shared_ptr<ShardSet> set, StreamOptions o) {
    auto ref = ShardStream::open(set, o);
    auto direct = GpuDirectBatches::open(set, o, host_device_io(), host_memory());
    if (!ref.ok() || !direct.ok()) return "open: " + std::string((ref.ok() ? direct.status() : ref.status()).message());
    const int64_t steps = (*direct)->steps_per_epoch();
    for (auto [epoch, step] : {std::pair<int64_t, int64_t>{0, 0}, {1, steps - 3}}) {
      if (!(*ref)->seek(epoch, step).ok() || !(*direct)->seek(epoch, step).ok()) return "seek failed";
      for (int64_t seq = epoch * steps + step; seq < 2 * steps; ++seq) {
        Batch want, got;
        if (!(*ref)->next(want).ok()) return "the stream failed";
        absl::Status st = (*direct)->next(got);
        const std::string where = "rank " + std::to_string(o.rank) + " step " + std::to_string(seq);
        if (!st.ok()) return where + ": " + std::string(st.message());
        if (std::string d = differs(want, got, where); !d.empty()) return d;
        if ((*direct)->record_at(seq / steps, seq % steps) != (*ref)->record_at(seq / steps, seq % steps))
          return where + ": record_at differs";
      }
      Batch end;
      if ((*direct)->next(end).code() != absl::StatusCode::kOutOfRange) return "no end after 2 epochs";
    }
    return "";
  }
  std::vector<std::string> paths_;
};

TEST_F(DirectBatchesTest, GivesTheStreamsBatchesOnEveryRankThroughEvictionsAWrapASeekAndTheEnd) {
  paths_ = write_image_shards(path("d"), 997, kFeatures, 10, 64 * 1024, 5000);
  ASSERT_GT(paths_.size(), 1u);
  EXPECT_EXIT(in_child("live",
                       [&] {
                         for (int rank = 0; rank < 2; ++rank)
                           if (std::string d = same_as_stream(open_set(), options(rank, 2)); !d.empty()) return d;
                         return same_as_stream(open_set(), options(0, 1));
                       }),
              ::testing::ExitedWithCode(0), "");
  // Short reads continued give the same.
  EXPECT_EXIT(in_child("short_reads", [&] { return same_as_stream(open_set(), options(1, 2)); }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(DirectBatchesTest, AStepThatNeedsMoreWindowsThanTheBudgetHoldsStillLoads) {
  paths_ = write_image_shards(path("d"), 400, kFeatures, 10, 64 * 1024, 5000);
  EXPECT_EXIT(in_child("live",
                       [&] {
                         StreamOptions o = options(0, 1);
                         o.shuffle_window_bytes = 10 * kRecordBytes;  // a step of 35 needs 4-5 windows of 10
                         o.global_batch = 35;
                         return same_as_stream(open_set(), o);
                       }),
              ::testing::ExitedWithCode(0), "");
}

// A corrupt record before the resume point of an epoch is not checked in that epoch: only
// its window's turn in the next epoch fails.
TEST_F(DirectBatchesTest, ACorruptRecordBeforeTheResumePointFailsOnlyWhereItIsRead) {
  paths_ = write_image_shards(path("d"), 300, kFeatures, 10, 1 << 20, 5000);
  {
    std::fstream f(paths_[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 5 * kRecordBytes);
    f.put(static_cast<char>(image_byte(5, 0) ^ 0x40));
  }
  EXPECT_EXIT(in_child("live",
                       [&] {
                         StreamOptions o = options(0, 1);
                         auto set = open_set(ShardSetOptions{10, false});
                         const int64_t window = o.shuffle_window_bytes / kRecordBytes;
                         int64_t p0 = -1, p1 = -1;  // record 5's positions in epochs 0 and 1
                         const EpochPlan e0(set->record_counts(), window, o.seed, 0), e1(set->record_counts(), window, o.seed, 1);
                         for (int64_t p = 0; p < 300; ++p) {
                           if (e0.at(p) == RecordRef{0, 5}) p0 = p;
                           if (e1.at(p) == RecordRef{0, 5}) p1 = p;
                         }
                         // Fails at the first step that reads its window (as the host loader's window loads do).
                         const int64_t resume = p0 / o.global_batch + 1, bad = 10 + p1 / window * window / o.global_batch;
                         if (resume >= 10) return std::string("record 5 is in epoch 0's last step: pick another seed");
                         auto direct = GpuDirectBatches::open(set, o, host_device_io(), host_memory());
                         if (!direct.ok() || !(*direct)->seek(0, resume).ok()) return std::string("open failed");
                         for (int64_t seq = resume; seq < 20; ++seq) {
                           Batch b;
                           absl::Status st = (*direct)->next(b);
                           if (st.ok() == (seq == bad))
                             return "step " + std::to_string(seq) + (st.ok() ? " read a corrupt record" : ": " + std::string(st.message()));
                           if (!st.ok()) return std::string();
                         }
                         return std::string("no step failed");
                       }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(DirectBatchesTest, ABitFlippedInTransitIsReadAgainAndCounted) {
  paths_ = write_image_shards(path("d"), 300, kFeatures, 10, 1 << 20, 5000);
  EXPECT_EXIT(in_child("flip_once",
                       [&] {
                         StreamOptions o = options(0, 1);
                         o.shuffle_window_bytes = 1 << 20;  // one window from record 0: the first byte read
                         auto direct = GpuDirectBatches::open(open_set(), o, host_device_io(), host_memory());
                         if (!direct.ok() || !(*direct)->seek(0, 0).ok()) return std::string("open failed");
                         Batch b;
                         absl::Status st = (*direct)->next(b);
                         if (!st.ok()) return std::string(st.message());
                         if ((*direct)->refetched_ranges() != 1)
                           return "refetched " + std::to_string((*direct)->refetched_ranges());
                         return std::string(b.rows() == 30 ? "" : "a record went missing");
                       }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(DirectBatchesTest, ACorruptRecordFailsNamingItOrIsSkippedAndCounted) {
  paths_ = write_image_shards(path("d"), 300, kFeatures, 10, 1 << 20, 5000);
  {  // record 5's first feature byte
    std::fstream f(paths_[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 5 * kRecordBytes);
    f.put(static_cast<char>(image_byte(5, 0) ^ 0x40));
  }
  const std::string offset = std::to_string(4096 + 5 * kRecordBytes);
  EXPECT_EXIT(in_child("live",
                       [&] {
                         auto direct = GpuDirectBatches::open(open_set(ShardSetOptions{10, false}), options(0, 1),
                                                              host_device_io(), host_memory());
                         if (!direct.ok() || !(*direct)->seek(0, 0).ok()) return std::string("open failed");
                         for (int i = 0; i < 100; ++i) {
                           Batch b;
                           absl::Status st = (*direct)->next(b);
                           if (!st.ok()) return std::string(st.message());
                         }
                         return std::string("no error");
                       }),
              ::testing::ExitedWithCode(1), "d-00000.tyshard: record 5 at byte offset " + offset + " fails its CRC32C");
  EXPECT_EXIT(in_child("live",
                       [&] {
                         StreamOptions o = options(0, 1);
                         o.skip_corrupt = true;
                         auto set = open_set(ShardSetOptions{10, true});
                         auto ref = ShardStream::open(set, o);
                         auto direct = GpuDirectBatches::open(set, o, host_device_io(), host_memory());
                         if (!direct.ok() || !ref.ok() || !(*direct)->seek(0, 0).ok() || !(*ref)->seek(0, 0).ok())
                           return std::string("open failed");
                         int64_t rows = 0;
                         for (int64_t s = 0; s < 2 * (*direct)->steps_per_epoch(); ++s) {
                           Batch want, got;
                           if (!(*ref)->next(want).ok()) return std::string("the stream failed");
                           absl::Status st = (*direct)->next(got);
                           if (!st.ok()) return std::string(st.message());
                           if (std::string d = differs(want, got, "step " + std::to_string(s)); !d.empty()) return d;
                           rows += got.rows();
                         }
                         if ((*direct)->skipped_records() != 2) return "skipped " + std::to_string((*direct)->skipped_records());
                         return std::string(rows == 2 * 300 - 2 ? "" : "rows " + std::to_string(rows));
                       }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(DirectBatchesTest, ALabelOutOfBoundsIsNamedAsTheHostNamesIt) {
  paths_ = write_image_shards(path("d"), 200, kFeatures, 7);  // labels up to 6
  EXPECT_EXIT(in_child("live",
                       [&] {
                         auto direct = GpuDirectBatches::open(open_set(ShardSetOptions{5, false}), options(0, 1),
                                                              host_device_io(), host_memory());
                         if (!direct.ok() || !(*direct)->seek(0, 0).ok()) return std::string("open failed");
                         Batch b;
                         absl::Status st = (*direct)->next(b);
                         return std::string(st.ok() ? "no error" : st.message());
                       }),
              ::testing::ExitedWithCode(1), "label [56] of record [0-9]+ \\(byte offset [0-9]+\\) outside \\[0, 5\\)");
}

TEST_F(DirectBatchesTest, WithoutALiveDirectPathOpenSaysWhy) {
  paths_ = write_image_shards(path("d"), 50, kFeatures, 10);
  EXPECT_EXIT(in_child("register_fails",
                       [&] {
                         auto direct = GpuDirectBatches::open(open_set(), options(0, 1), host_device_io(),
                                                              host_memory());
                         return std::string(direct.ok() ? "opened" : direct.status().message());
                       }),
              ::testing::ExitedWithCode(1), "cuFileHandleRegister");
}

}  // namespace
}  // namespace ty
