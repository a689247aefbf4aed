// The run lock on an object store (worker/trainer/object_run_lock.h), against the test store
// with a 2 s lease: held while its thread renews it (a second run waits out a lease, then is
// refused naming the holder); taken over, the holder finds out at its next renewal and
// stops before its next save; released, it is gone, and a lock that is no longer ours is
// left alone. (run_lock_lost() is sticky: ctest runs each test in a process of its own.)
#include "worker/trainer/object_run_lock.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "storage/object_path.h"
#include "tests/support/s3_store.h"

namespace ty {
namespace {

class ObjectRunLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(s3_test_endpoint().empty()) << "the test S3 store did not start";
    ::setenv("TRAINYARD_S3_LOCK_LEASE_S", "2", 1);
    auto c = shared_s3_client();
    ASSERT_TRUE(c.ok()) << c.status();
    dir_ = "s3://" + s3_test_bucket(**c) + "/lock-" + std::to_string(std::random_device{}());
  }
  std::string dir_;
};

TEST_F(ObjectRunLockTest, HeldWhileRenewedTakenOverFoundOutReleasedOnlyIfOurs) {
  auto first = ObjectRunLock::acquire(dir_, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // renewed at least once
  const auto t0 = std::chrono::steady_clock::now();
  auto second = ObjectRunLock::acquire(dir_, 2);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  EXPECT_NE(second.status().message().find("is in use by pid " + std::to_string(::getpid())), std::string::npos)
      << second.status();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << "it waited for the lease";
  EXPECT_FALSE(run_lock_lost());
  // Another run takes the lock over.
  ASSERT_TRUE(write_whole(dir_ + "/.lock", "token 0123456789abcdef\nholder another run\nrenewed 0\n").ok());
  for (int i = 0; i < 50 && !run_lock_lost(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(run_lock_lost()) << "the holder did not find out within 5 s";
  first->reset();
  auto left = read_whole(dir_ + "/.lock");
  ASSERT_TRUE(left.ok()) << "the other run's lock was deleted: " << left.status();
  EXPECT_NE(left->find("another run"), std::string::npos);
  ASSERT_TRUE(remove_path(dir_ + "/.lock").ok());
}

TEST_F(ObjectRunLockTest, ReleasedItIsGoneAndTheNextRunTakesItAtOnce) {
  {
    auto first = ObjectRunLock::acquire(dir_, 1);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(path_exists(dir_ + "/.lock"));
  }
  EXPECT_FALSE(path_exists(dir_ + "/.lock"));
  const auto t0 = std::chrono::steady_clock::now();
  auto again = ObjectRunLock::acquire(dir_, 2);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace ty
