#include "storage/s3/s3_config.h"

#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// Clears every variable the configuration reads, and restores them after the test.
class S3ConfigTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    for (const char* v : kVars) {
      const char* old = std::getenv(v);
      saved_.emplace_back(v, old == nullptr ? nullptr : new std::string(old));
      ::unsetenv(v);
    }
    ::setenv("HOME", dir_.c_str(), 1);
  }
  void TearDown() override {
    for (auto& [name, value] : saved_) {
      if (value != nullptr) {
        ::setenv(name, value->c_str(), 1);
        delete value;
      } else {
        ::unsetenv(name);
      }
    }
    TempDirTest::TearDown();
  }
  static constexpr const char* kVars[] = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION",
                                          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                          "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "HOME",
                                          "TRAINYARD_S3_MAX_ATTEMPTS"};
  std::vector<std::pair<const char*, std::string*>> saved_;
};

TEST_F(S3ConfigTest, ReadsTheStandardVariables) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value", 1);
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
  ::setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
  ::setenv("TRAINYARD_S3_MAX_ATTEMPTS", "3", 1);
  auto c = s3_config_from_environment();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c->region, "eu-central-1");
  EXPECT_EQ(c->credentials.access_key, "AKID");
  EXPECT_EQ(c->credentials.secret_key, "s3cr3t-value");
  EXPECT_EQ(c->max_attempts, 3);
  EXPECT_EQ(c->describe().find("s3cr3t"), std::string::npos) << c->describe();
}

TEST_F(S3ConfigTest, TheSpecsEndpointWinsOverTheVariable) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
  ::setenv("AWS_ENDPOINT_URL", "http://a:1", 1);
  auto c = s3_config_from_environment("http://b:2");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->endpoint, "http://b:2");
  EXPECT_EQ(c->region, "us-east-1");
}

TEST_F(S3ConfigTest, ReadsTheNamedProfileOfTheCredentialsFile) {
  std::filesystem::create_directories(dir_ / ".aws");
  write(".aws/credentials",
        "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n"
        "# a comment\n[train]\naws_access_key_id=TRAIN\naws_secret_access_key = trainsecret\n");
  write(".aws/config", "[profile train]\nregion = ap-south-1\n");
  auto c = s3_config_from_environment();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->credentials.access_key, "DEF");
  ::setenv("AWS_PROFILE", "train", 1);
  c = s3_config_from_environment();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->credentials.access_key, "TRAIN");
  EXPECT_EQ(c->credentials.secret_key, "trainsecret");
  EXPECT_EQ(c->region, "ap-south-1");
}

TEST_F(S3ConfigTest, NoCredentialsIsAnErrorSayingWhereItLooked) {
  auto c = s3_config_from_environment();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find(".aws/credentials"), std::string::npos) << c.status();
}

TEST_F(S3ConfigTest, AnEndpointWithoutSchemeIsRefused) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
  auto c = s3_config_from_environment("127.0.0.1:9000");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("storage.s3.endpoint"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace ty
