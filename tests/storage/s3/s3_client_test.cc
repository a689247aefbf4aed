// S3Client against a real S3-compatible store (Swift with s3api on loopback).
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_streaming_upload.h"

#include <random>

#include "gtest/gtest.h"
#include "tests/support/s3_store.h"

namespace ty {
namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(s3_test_endpoint().empty()) << "the test S3 store did not start";
    client_ = std::make_unique<S3Client>(s3_test_config());
    bucket_ = s3_test_bucket(*client_);
  }
  S3Url url(const std::string& key) const { return S3Url{bucket_, key}; }
  std::unique_ptr<S3Client> client_;
  std::string bucket_;
};

TEST(S3Url, ParsesBucketAndKey) {
  auto u = parse_s3_url("s3://my-bucket/runs/a/b.tyshard");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->key, "runs/a/b.tyshard");
  EXPECT_EQ(u->str(), "s3://my-bucket/runs/a/b.tyshard");
  EXPECT_EQ(u->child("x").str(), "s3://my-bucket/runs/a/b.tyshard/x");
  EXPECT_FALSE(parse_s3_url("s3://Bad_Bucket/x").ok());
  EXPECT_FALSE(parse_s3_url("/local/file").ok());
  EXPECT_TRUE(is_s3_url("s3://b/k"));
  EXPECT_FALSE(is_s3_url("s3:/b/k"));
}

TEST_F(S3ClientTest, PutHeadGetAndRangedRead) {
  const std::string data = random_bytes(100000, 1);
  ASSERT_TRUE(client_->put(url("dir/a b.bin"), data).ok());
  auto info = client_->head(url("dir/a b.bin"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 100000);
  EXPECT_FALSE(info->etag.empty());
  auto whole = client_->get(url("dir/a b.bin"));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, data);
  std::string part(5000, '\0');
  ASSERT_TRUE(client_->read(url("dir/a b.bin"), 4096, 5000, info->etag, part.data()).ok());
  EXPECT_EQ(part, data.substr(4096, 5000));
}

TEST_F(S3ClientTest, AReplacedObjectFailsAReadPinnedToItsOldEtag) {
  ASSERT_TRUE(client_->put(url("shard"), random_bytes(8192, 1)).ok());
  auto info = client_->head(url("shard"));
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(client_->put(url("shard"), random_bytes(8192, 2)).ok());
  std::string buf(100, '\0');
  absl::Status st = client_->read(url("shard"), 0, 100, info->etag, buf.data());
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("s3://" + bucket_ + "/shard"), std::string::npos) << st;
  EXPECT_NE(st.message().find("replaced"), std::string::npos) << st;
}

TEST_F(S3ClientTest, MultipartUploadOfManyPartsReadsBackWhole) {
  const std::string data = random_bytes((size_t{13} << 20) + 12345, 3);  // 3 parts of 5 MiB, the last short
  const int64_t before = client_->stats().requests;
  ASSERT_TRUE(client_->upload(url("big"), data.data(), static_cast<int64_t>(data.size()), int64_t{5} << 20, 3).ok());
  EXPECT_EQ(client_->stats().requests - before, 5);  // initiate, 3 parts, complete
  auto whole = client_->get(url("big"));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(*whole == data) << whole->size() << " bytes back of " << data.size();
}

TEST_F(S3ClientTest, AStreamingUploadSendsPartsAsTheyFillAndNothingUntilFinished) {
  auto shared = std::make_shared<S3Client>(s3_test_config());
  const std::string data = random_bytes((size_t{12} << 20) + 333, 5);  // 3 parts of 5 MiB, the last short
  {
    S3StreamingUpload up(shared, url("streamed"), int64_t{5} << 20, 2);
    for (size_t at = 0; at < data.size(); at += 777777)
      ASSERT_TRUE(up.write(data.data() + at, std::min<size_t>(777777, data.size() - at)).ok());
    EXPECT_EQ(client_->head(url("streamed")).status().code(), absl::StatusCode::kNotFound);  // not yet
    ASSERT_TRUE(up.finish().ok());
  }
  auto back = client_->get(url("streamed"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
  {  // small: one PUT
    S3StreamingUpload up(shared, url("small"), int64_t{5} << 20, 2);
    ASSERT_TRUE(up.write("hello", 5).ok());
    ASSERT_TRUE(up.finish().ok());
  }
  EXPECT_EQ(*client_->get(url("small")), "hello");
  {  // abandoned before finish(): aborted, no object
    S3StreamingUpload up(shared, url("abandoned"), int64_t{5} << 20, 2);
    ASSERT_TRUE(up.write(data.data(), data.size()).ok());
  }
  EXPECT_EQ(client_->head(url("abandoned")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(S3ClientTest, AnObjectOverAnyBufferCapReadsBackWhole) {
  const std::string data = random_bytes((size_t{70} << 20) + 7, 4);  // 70 MiB: several ranged GETs
  ASSERT_TRUE(client_->upload(url("huge"), data.data(), static_cast<int64_t>(data.size())).ok());
  auto whole = client_->get(url("huge"));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->size(), data.size());
  EXPECT_TRUE(*whole == data);
}

TEST_F(S3ClientTest, KeysWithCharactersThatNeedEncodingAreSignedAsTheStoreChecks) {
  // The store verifies each signature: a wrong canonical URI or query is a 403.
  for (const std::string key : {"odd/a+b=c&d%e~f g", "odd/(x),[y];z'@$!*", "odd/ünï-cödé"}) {
    ASSERT_TRUE(client_->put(url(key), key).ok()) << key;
    auto back = client_->get(url(key));
    ASSERT_TRUE(back.ok()) << key << ": " << back.status();
    EXPECT_EQ(*back, key);
  }
  auto listed = client_->list(url("odd/a+b"));  // the prefix in the query, encoded
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "odd/a+b=c&d%e~f g");
}

TEST_F(S3ClientTest, ListsByPrefixInKeyOrderAcrossPages) {
  for (int i = 11; i >= 0; --i) ASSERT_TRUE(client_->put(url("p/obj-" + std::to_string(100 + i)), "x").ok());
  ASSERT_TRUE(client_->put(url("q/other"), "y").ok());
  auto all = client_->list(url("p/"), 5);  // three pages
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ((*all)[i].key, "p/obj-" + std::to_string(100 + i));
  EXPECT_EQ((*all)[0].size, 1);
}

TEST_F(S3ClientTest, RemoveAndMissingObjects) {
  ASSERT_TRUE(client_->put(url("gone"), "x").ok());
  ASSERT_TRUE(client_->remove(url("gone")).ok());
  EXPECT_TRUE(client_->remove(url("gone")).ok());  // already absent
  auto h = client_->head(url("gone"));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound);
  auto g = client_->get(url("never"));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("s3://" + bucket_ + "/never"), std::string::npos) << g.status();
}

TEST_F(S3ClientTest, ConditionalCreateIsRefusedOrUnsupportedNeverOverwrites) {
  ASSERT_TRUE(client_->put(url("lock"), "first").ok());
  absl::Status st = client_->put(url("lock"), "second", /*if_absent=*/true);
  // AWS answers 412 (kAlreadyExists); Swift's s3api does not implement conditional PUTs (501).
  EXPECT_TRUE(st.code() == absl::StatusCode::kAlreadyExists || st.code() == absl::StatusCode::kUnimplemented) << st;
  auto back = client_->get(url("lock"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "first");
}

TEST_F(S3ClientTest, AWrongSecretIsDeniedAndNeverShown) {
  S3Config c = s3_test_config();
  c.credentials.secret_key = "not-the-secret-4711";
  S3Client wrong(c);
  auto h = wrong.get(url("x"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kPermissionDenied) << h.status();
  EXPECT_EQ(h.status().message().find("4711"), std::string::npos) << h.status();
  EXPECT_NE(h.status().message().find("credentials"), std::string::npos) << h.status();
}

TEST_F(S3ClientTest, AnUnreachableStoreIsRetriedThenUnavailable) {
  S3Config c = s3_test_config();
  c.endpoint = "http://127.0.0.1:1";  // nothing listens
  c.max_attempts = 3;
  c.backoff_base = std::chrono::milliseconds(5);
  S3Client down(c);
  auto h = down.head(url("x"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kUnavailable) << h.status();
  EXPECT_NE(h.status().message().find("failed 3 times"), std::string::npos) << h.status();
  EXPECT_EQ(down.stats().retries, 2);
  EXPECT_EQ(down.stats().requests, 3);
}

}  // namespace
}  // namespace ty
