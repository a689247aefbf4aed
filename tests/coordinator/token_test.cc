#include "coordinator/token.h"

#include <sys/stat.h>

#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty::coordinator {
namespace {

using TokenTest = TempDirTest;

TEST_F(TokenTest, MadeOnceMode0600ThenReadBack) {
  auto first = load_or_create_token(path(""));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->value.size(), 64u);
  struct stat st{};
  ASSERT_EQ(stat(first->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_token(path(""));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->value, first->value);
  auto other = load_or_create_token(path("elsewhere"));
  std::filesystem::create_directories(path("elsewhere"));
  other = load_or_create_token(path("elsewhere"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->value, first->value);
}

TEST_F(TokenTest, AReadableOrMalformedTokenFileIsRefusedNamingIt) {
  write("token", std::string(64, 'a') + "\n");
  chmod(path("token").c_str(), 0644);
  auto open = load_or_create_token(path(""));
  EXPECT_EQ(open.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(open.status().message().find(path("token")), std::string::npos) << open.status();
  chmod(path("token").c_str(), 0600);
  write("token", "not a token\n");
  chmod(path("token").c_str(), 0600);
  EXPECT_EQ(load_or_create_token(path("")).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenMatch, OnlyTheExactToken) {
  EXPECT_TRUE(token_matches("Bearer abc", "Bearer abc"));
  EXPECT_FALSE(token_matches("Bearer abc", "Bearer abd"));
  EXPECT_FALSE(token_matches("Bearer abc", "Bearer ab"));
  EXPECT_FALSE(token_matches("Bearer abc", "Bearer abcd"));
  EXPECT_FALSE(token_matches("Bearer abc", ""));
}

}  // namespace
}  // namespace ty::coordinator
