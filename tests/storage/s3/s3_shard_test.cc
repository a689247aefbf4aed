// Shards read from an S3 store (Swift with s3api on loopback) give what the same files give.
#include <cstring>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "storage/object_path.h"
#include "storage/s3/s3_object.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_reader.h"
#include "storage/shard/shard_writer.h"
#include "storage/stream/shard_stream.h"
#include "tests/support/s3_store.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class S3ShardTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_FALSE(s3_test_endpoint().empty()) << "the test S3 store did not start";
    auto c = shared_s3_client();
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *c;
    bucket_ = s3_test_bucket(*client_);
  }
  // `n` records x = (id, id / 2) f32, y = id % 7, in shards of about `shard_bytes`, written
  // locally and uploaded under s3://bucket/data/; returns the local paths.
  // `base` is added to every id (other data of the same layout).
  std::vector<std::string> write_shards(int n, int64_t shard_bytes, int base = 0, const std::string& dir = "d") {
    ShardSchema s;
    s.fields.push_back({"x", DType::kF32, {2}});
    s.fields.push_back({"y", DType::kI32, {}});
    ShardWriterOptions o;
    o.shard_bytes = shard_bytes;
    o.chunk_bytes = 5000;
    ShardWriter w(path(dir), s, o);
    for (int i = base; i < base + n; ++i) {
      char rec[12];
      const float x[2] = {static_cast<float>(i), i * 0.5f};
      const int32_t y = i % 7;
      std::memcpy(rec, x, 8);
      std::memcpy(rec + 8, &y, 4);
      EXPECT_TRUE(w.add(rec).ok());
    }
    auto paths = w.finish();
    EXPECT_TRUE(paths.ok()) << paths.status();
    for (const std::string& p : *paths) {
      const std::string bytes = *read_whole(p);
      EXPECT_TRUE(client_->put(remote(p), bytes).ok());
    }
    return *paths;
  }
  S3Url remote(const std::string& local) const {
    std::string name = std::filesystem::path(local).filename().string();
    if (name.rfind("e-", 0) == 0) name[0] = 'd';  // the other data replaces the first
    return S3Url{bucket_, "data/" + name};
  }
  std::vector<std::vector<float>> stream_all(const std::vector<std::string>& paths, StreamOptions o) {
    auto set = ShardSet::open(paths);
    EXPECT_TRUE(set.ok()) << set.status();
    auto s = ShardStream::open(*set, o);
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->seek(0, 0).ok());
    std::vector<std::vector<float>> out;
    for (int64_t b = 0; b < o.epochs * (*s)->steps_per_epoch(); ++b) {
      Batch batch;
      absl::Status st = (*s)->next(batch);
      EXPECT_TRUE(st.ok()) << st;
      if (!st.ok()) break;
      const Tensor& x = batch["x"];
      out.emplace_back(x.data<float>(), x.data<float>() + x.numel());
    }
    return out;
  }
  std::shared_ptr<S3Client> client_;
  std::string bucket_;
};

TEST_F(S3ShardTest, ReaderGivesTheRecordsOfTheFile) {
  const auto local = write_shards(3000, 20000);
  ASSERT_GE(local.size(), 2u);
  auto a = ShardReader::open(local[1]);
  auto b = ShardReader::open(remote(local[1]).str());
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_EQ(b->records(), a->records());
  EXPECT_EQ(b->file_bytes(), a->file_bytes());
  EXPECT_TRUE(b->verify().ok());
  std::vector<char> x(static_cast<size_t>(a->records() * 12)), y(x.size());
  ASSERT_TRUE(a->read(0, a->records(), x.data()).ok());
  ASSERT_TRUE(b->read(0, b->records(), y.data()).ok());
  EXPECT_TRUE(x == y);
}

TEST_F(S3ShardTest, GlobListsTheMatchingObjectsInOrder) {
  const auto local = write_shards(3000, 20000);
  ASSERT_TRUE(client_->put(S3Url{bucket_, "data/other.txt"}, "x").ok());
  auto found = expand_glob("s3://" + bucket_ + "/data/d-*");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), local.size());
  for (size_t i = 0; i < local.size(); ++i) EXPECT_EQ((*found)[i], remote(local[i]).str());
  auto none = expand_glob("s3://" + bucket_ + "/data/nothing-*");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("nothing-*"), std::string::npos) << none.status();
}

TEST_F(S3ShardTest, StreamGivesTheSameBatchesAsLocalFilesOnEveryRank) {
  // Records of 16 bytes: 40,000 records, 640 KB in shards of ~160 KB; a 64 KiB window.
  const auto local = write_shards(40000, 160000);
  std::vector<std::string> remote_paths;
  for (const auto& p : local) remote_paths.push_back(remote(p).str());
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions o;
    o.seed = 7;
    o.rank = rank;
    o.world = 2;
    o.global_batch = 100;
    o.epochs = 2;
    o.shuffle_window_bytes = 64 << 10;
    o.prefetch_bytes = 256 << 10;
    o.remote_requests = 4;
    const auto want = stream_all(local, o);
    const auto got = stream_all(remote_paths, o);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "rank " << rank;
  }
}

TEST_F(S3ShardTest, AShardReplacedDuringTheRunStopsItNamingTheShard) {
  const auto local = write_shards(40000, 160000);
  std::vector<std::string> remote_paths;
  for (const auto& p : local) remote_paths.push_back(remote(p).str());
  auto set = ShardSet::open(remote_paths);
  ASSERT_TRUE(set.ok()) << set.status();
  StreamOptions o;
  o.global_batch = 100;
  o.shuffle_window_bytes = 16 << 10;
  o.prefetch_bytes = 32 << 10;  // little read ahead: most reads happen after the overwrite
  auto s = ShardStream::open(*set, o);
  ASSERT_TRUE(s.ok()) << s.status();
  // Every shard is replaced by one of the same size and layout but other records.
  const auto other = write_shards(40000, 160000, 1, "e");
  ASSERT_EQ(other.size(), local.size());
  ASSERT_TRUE((*s)->seek(0, 0).ok());
  absl::Status st;
  for (int64_t b = 0; b < (*s)->steps_per_epoch() && st.ok(); ++b) {
    Batch batch;
    st = (*s)->next(batch);
  }
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("s3://" + bucket_ + "/data/d-"), std::string::npos) << st;
  EXPECT_NE(st.message().find("replaced"), std::string::npos) << st;
}

}  // namespace
}  // namespace ty
