// ShardStream: every record exactly once per epoch across ranks, the same global batches
// for any number of ranks, an order fixed by the seed, exact restarts at any position, and
// corrupt records reported (file, record, offset) or skipped and counted.
#include "storage/stream/shard_stream.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "storage/shard/shard_writer.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// The next batch's fields x and y (y undefined for raw records).
absl::Status next_xy(BatchSource& source, Tensor& x, Tensor& y) {
  Batch b;
  absl::Status st = source.next(b);
  if (!st.ok()) return st;
  x = b["x"];
  y = b.has("y") ? b["y"] : Tensor();
  return st;
}

constexpr int64_t kRecordBytes = 2 * 4 + 4 + 4;  // x: f32 (2), y: i32, CRC

class ShardStreamTest : public TempDirTest {
 protected:
  // Records x = (id, id / 2), y = id % 5, in shards of about `shard_bytes`.
  std::vector<std::string> write_shards(int n, int64_t shard_bytes = 3 * 4096) {
    ShardSchema s;
    s.fields.push_back({"x", DType::kF32, {2}});
    s.fields.push_back({"y", DType::kI32, {}});
    ShardWriterOptions o;
    o.shard_bytes = shard_bytes;
    o.chunk_bytes = 1000;  // many chunks: records of one range cross chunk padding
    ShardWriter w(path("d"), s, o);
    for (int i = 0; i < n; ++i) {
      char rec[12];
      const float x[2] = {static_cast<float>(i), i * 0.5f};
      const int32_t y = i % 5;
      std::memcpy(rec, x, 8);
      std::memcpy(rec + 8, &y, 4);
      EXPECT_TRUE(w.add(rec).ok());
    }
    auto paths = w.finish();
    EXPECT_TRUE(paths.ok()) << paths.status();
    return *paths;
  }
  std::shared_ptr<ShardSet> open_set(const std::vector<std::string>& paths, ShardSetOptions o = {}) {
    auto set = ShardSet::open(paths, o);
    EXPECT_TRUE(set.ok()) << set.status();
    return *set;
  }
  // The ids of every batch from (epoch, step) to the end of the stream.
  std::vector<std::vector<int>> collect(std::shared_ptr<ShardSet> set, StreamOptions o, int64_t epoch = 0,
                                        int64_t step = 0) {
    auto s = ShardStream::open(set, o);
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->seek(epoch, step).ok());
    std::vector<std::vector<int>> out;
    const int64_t batches = (o.epochs - epoch) * (*s)->steps_per_epoch() - step;
    for (int64_t b = 0; b < batches; ++b) {
      Tensor x, y;
      absl::Status st = next_xy(**s, x, y);
      EXPECT_TRUE(st.ok()) << st;
      if (!st.ok()) break;
      std::vector<int> ids;
      for (int64_t i = 0; i < x.shape()[0]; ++i) {
        const int id = static_cast<int>(x.data<float>()[2 * i]);
        EXPECT_EQ(x.data<float>()[2 * i + 1], id * 0.5f);
        EXPECT_EQ(y.data<int32_t>()[i], id % 5);
        ids.push_back(id);
      }
      out.push_back(ids);
    }
    Tensor x, y;
    EXPECT_EQ(next_xy(**s, x, y).code(), absl::StatusCode::kOutOfRange);  // the stream ends with the epochs
    return out;
  }
  StreamOptions options(int rank, int world, Remainder rem = Remainder::kPartial) {
    StreamOptions o;
    o.seed = 9;
    o.rank = rank;
    o.world = world;
    o.global_batch = 60;
    o.remainder = rem;
    o.epochs = 2;
    o.shuffle_window_bytes = 37 * kRecordBytes;  // windows of 37 records
    return o;
  }
};

TEST_F(ShardStreamTest, EveryRecordOncePerEpochAndTheSameGlobalBatchesForAnyWorld) {
  const int n = 1000;
  auto set = open_set(write_shards(n));
  ASSERT_GT(set->shards(), 3);
  for (Remainder rem : {Remainder::kPartial, Remainder::kDrop, Remainder::kPad}) {
    const auto one = collect(set, options(0, 1, rem));
    for (int world : {1, 2, 3, 4, 6}) {
      std::vector<std::vector<std::vector<int>>> ranks;
      for (int r = 0; r < world; ++r) ranks.push_back(collect(set, options(r, world, rem)));
      const size_t steps = one.size() / 2;
      for (int epoch = 0; epoch < 2; ++epoch) {
        std::multiset<int> seen;
        for (size_t s = epoch * steps; s < (epoch + 1) * steps; ++s) {
          std::vector<int> global;
          for (int r = 0; r < world; ++r) global.insert(global.end(), ranks[r][s].begin(), ranks[r][s].end());
          // The same global batch as one rank (the partial tail cut to a multiple of world).
          ASSERT_LE(global.size(), one[s].size());
          EXPECT_EQ(global, std::vector<int>(one[s].begin(), one[s].begin() + global.size()))
              << "world " << world << " step " << s;
          seen.insert(global.begin(), global.end());
        }
        const int expect = rem == Remainder::kDrop ? 960 : rem == Remainder::kPad ? 1020 : 1000 - 40 % world;
        EXPECT_EQ(static_cast<int>(seen.size()), expect) << "world " << world;
        std::set<int> distinct(seen.begin(), seen.end());
        EXPECT_EQ(static_cast<int>(distinct.size()), std::min(expect, n)) << "world " << world;
      }
    }
  }
}

TEST_F(ShardStreamTest, OrderIsFixedBySeedAndShuffledAcrossShards) {
  auto set = open_set(write_shards(500));
  const auto a = collect(set, options(0, 1)), b = collect(set, options(0, 1));
  EXPECT_EQ(a, b);
  StreamOptions other = options(0, 1);
  other.seed = 10;
  EXPECT_NE(collect(set, other), a);
  EXPECT_NE(a[0], a[a.size() / 2]);  // epochs differ
  // Records from more than one shard early on: shard order and windows shuffle.
  std::set<int> first(a[0].begin(), a[0].end());
  EXPECT_GT(*first.rbegin() - *first.begin(), 37);
}

TEST_F(ShardStreamTest, SeekRestartsExactlyAtAnyPosition) {
  auto set = open_set(write_shards(700));
  for (int world : {1, 3}) {
    for (int rank = 0; rank < world; ++rank) {
      const auto all = collect(set, options(rank, world));
      const int64_t steps = static_cast<int64_t>(all.size()) / 2;
      for (int64_t at : {int64_t{1}, int64_t{5}, steps - 1, steps, steps + 3}) {
        const auto tail = collect(set, options(rank, world), at / steps, at % steps);
        EXPECT_EQ(tail, std::vector<std::vector<int>>(all.begin() + at, all.end())) << "rank " << rank << " at " << at;
      }
    }
  }
}

TEST_F(ShardStreamTest, PrefetchBudgetThreadsAndDirectIoDoNotChangeTheData) {
  auto set = open_set(write_shards(800));
  const auto base = collect(set, options(1, 2));
  StreamOptions tiny = options(1, 2);
  tiny.io = FileIo::kPread;
  tiny.prefetch_bytes = 1;  // below one window: the loader still makes progress
  tiny.reader_threads = 4;
  tiny.queue_batches = 1;
  EXPECT_EQ(collect(set, tiny), base);
  StreamOptions mapped = options(1, 2);
  mapped.io = FileIo::kMmap;
  EXPECT_EQ(collect(set, mapped), base);
  StreamOptions direct = options(1, 2);
  direct.direct_io = true;
  if (!ReadFile::open(set->reader(0).path(), true).ok()) GTEST_SKIP() << "O_DIRECT unsupported on " << dir_;
  EXPECT_EQ(collect(set, direct), base);
}

TEST_F(ShardStreamTest, CorruptRecordFailsNamingItOrIsSkippedAndCounted) {
  const auto paths = write_shards(300, 1 << 20);
  ASSERT_EQ(paths.size(), 1u);
  auto set = open_set(paths, ShardSetOptions{5, false});
  {
    std::fstream f(paths[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + kRecordBytes * 17 + 3);
    f.put('\x55');
  }
  const int64_t offset = set->reader(0).record_offset(17);
  StreamOptions o = options(0, 1);
  auto s = ShardStream::open(set, o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->seek(0, 0).ok());
  absl::Status st;
  for (int i = 0; i < 10 && st.ok(); ++i) {
    Tensor x, y;
    st = next_xy(**s, x, y);
  }
  ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find(paths[0] + ": record 17 at byte offset " + std::to_string(offset)), std::string::npos)
      << st;
  Tensor x, y;
  EXPECT_EQ(next_xy(**s, x, y).code(), absl::StatusCode::kDataLoss);  // stays failed

  o.skip_corrupt = true;
  o.epochs = 1;
  auto k = ShardStream::open(set, o);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE((*k)->seek(0, 0).ok());
  std::set<int> seen;
  for (int64_t i = 0; i < (*k)->steps_per_epoch(); ++i) {
    ASSERT_TRUE(next_xy(**k, x, y).ok());
    for (int64_t r = 0; r < x.shape()[0]; ++r) seen.insert(static_cast<int>(x.data<float>()[2 * r]));
  }
  EXPECT_EQ(seen.size(), 299u);
  EXPECT_EQ(seen.count(17), 0u);
  EXPECT_EQ((*k)->skipped_records(), 1);
}

// A mapped shard cut short during the run: reading it raises SIGBUS, which the stream
// turns into an error naming the file, instead of dying.
TEST_F(ShardStreamTest, MappedShardTruncatedDuringTheRunIsAnErrorNotACrash) {
  const auto paths = write_shards(3000, 1 << 20);
  ASSERT_EQ(paths.size(), 1u);
  auto set = open_set(paths, ShardSetOptions{5, false});
  StreamOptions o = options(0, 1);
  o.io = FileIo::kMmap;
  auto s = ShardStream::open(set, o);
  ASSERT_TRUE(s.ok()) << s.status();
  std::filesystem::resize_file(paths[0], 8192);  // after the mapping was made
  ASSERT_TRUE((*s)->seek(0, 0).ok());
  Tensor x, y;
  absl::Status st = next_xy(**s, x, y);
  ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find(paths[0] + ": shrank while mapped (SIGBUS"), std::string::npos) << st;
}

TEST_F(ShardStreamTest, LabelOutsideTheClassCountIsAnError) {
  auto set = open_set(write_shards(100), ShardSetOptions{3, false});  // labels go up to 4
  auto s = ShardStream::open(set, options(0, 1));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->seek(0, 0).ok());
  Tensor x, y;
  absl::Status st = next_xy(**s, x, y);
  ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("outside [0, 3)"), std::string::npos) << st;
  EXPECT_NE(st.message().find(path("d")), std::string::npos) << st;
}

TEST_F(ShardStreamTest, ClassCountFromTheLabelsAndRecordAt) {
  auto set = open_set(write_shards(100));
  EXPECT_EQ(set->num_classes(), 5);
  EXPECT_EQ(set->size(), 100);
  auto s = ShardStream::open(set, options(0, 1));
  ASSERT_TRUE(s.ok());
  const auto all = collect(set, options(0, 1));
  EXPECT_EQ((*s)->record_at(0, 1), all[1][0]);  // ids are global record numbers
  EXPECT_EQ((*s)->record_at(1, 0), all[(*s)->steps_per_epoch()][0]);
}

}  // namespace
}  // namespace ty
