// The S3 store for tests: a one-node Swift with s3api on loopback (tests/support/swift_s3.sh).
// Under ctest the swift_s3 fixture starts it once and passes TRAINYARD_TEST_S3_ENDPOINT; a
// test binary run by hand starts its own on a free port and stops it at exit. Either way
// the process's AWS_* variables point at it, so the shared S3 client and any trainyard
// child process use it.
#pragma once

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/s3/s3_client.h"

namespace ty {

constexpr const char* kTestS3AccessKey = "test:tester";
constexpr const char* kTestS3Secret = "testing";

namespace s3_store_detail {

inline bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

inline std::string& own_dir() {
  static std::string dir;
  return dir;
}

inline void stop_own() {
  if (!own_dir().empty())
    (void)std::system(("bash " TRAINYARD_SOURCE_DIR "/tests/support/swift_s3.sh down " + own_dir()).c_str());
}

inline std::string start_own() {
  for (int port = 20000 + ::getpid() % 20000, tries = 0; tries < 50; ++tries, port += 17) {
    bool free = true;
    for (int p : {port, port + 10, port + 11, port + 12, port + 13}) free = free && port_free(p);
    if (!free) continue;
    own_dir() = (std::filesystem::temp_directory_path() / ("trainyard_swift_" + std::to_string(::getpid()))).string();
    const std::string cmd = "bash " TRAINYARD_SOURCE_DIR "/tests/support/swift_s3.sh up " + own_dir() + " " +
                            std::to_string(port) + " > /dev/null";
    std::atexit(stop_own);
    if (std::system(cmd.c_str()) != 0) return "";
    return "http://127.0.0.1:" + std::to_string(port);
  }
  return "";
}

}  // namespace s3_store_detail

// The store's endpoint ("" when it could not start: the caller fails).
inline const std::string& s3_test_endpoint() {
  static const std::string endpoint = [] {
    const char* e = std::getenv("TRAINYARD_TEST_S3_ENDPOINT");
    std::string url = e != nullptr && *e != '\0' ? std::string(e) : s3_store_detail::start_own();
    ::setenv("AWS_ENDPOINT_URL", url.c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", kTestS3AccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kTestS3Secret, 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    return url;
  }();
  return endpoint;
}

inline S3Config s3_test_config() {
  S3Config c;
  c.endpoint = s3_test_endpoint();
  c.credentials = {kTestS3AccessKey, kTestS3Secret, ""};
  c.credentials_from = "the test store";
  return c;
}

// A fresh bucket for the current test: its name comes from the test's name and the pid.
inline std::string s3_test_bucket(S3Client& client) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "ty-";
  for (char c : std::string(info->test_suite_name()) + "-" + info->name())
    name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  name = name.substr(0, 50) + "-" + std::to_string(::getpid());
  const absl::Status st = client.create_bucket(name);
  EXPECT_TRUE(st.ok()) << st;
  return name;
}

}  // namespace ty
