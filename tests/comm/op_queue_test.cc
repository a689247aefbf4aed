// The op queue: order, timeouts, inline execution and the watch over stuck inline ops.
#include "comm/op_queue.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ty {
namespace {

using namespace std::chrono_literals;

TEST(OpQueue, RunsOpsInSubmissionOrder) {
  OpQueue q("world (rank 0 of 1)", 5s);
  std::vector<int> order;
  std::vector<CommHandlePtr> handles;
  for (int i = 0; i < 20; ++i)
    handles.push_back(q.submit("op", [&order, i](OpQueue::Clock::time_point) {
      order.push_back(i);
      return absl::OkStatus();
    }));
  for (auto& h : handles) ASSERT_TRUE(h->wait().ok());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
}

TEST(OpQueue, APollingOpPastItsDeadlineFailsAndBreaksTheQueue) {
  OpQueue q("world (rank 0 of 2, test)", 200ms);
  absl::Status st = q.submit("allreduce", [](OpQueue::Clock::time_point) { return OpQueue::again(); })->wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
  EXPECT_NE(st.message().find("allreduce on world (rank 0 of 2, test) did not complete after"), std::string::npos)
      << st;
  EXPECT_TRUE(q.broken());
  EXPECT_FALSE(q.run_now("barrier", [](OpQueue::Clock::time_point) { return absl::OkStatus(); }).ok());
}

TEST(OpQueue, RunNowUsesTheCallersThread) {
  OpQueue q("world", 5s);
  std::thread::id ran_on;
  ASSERT_TRUE(q.run_now("op", [&](OpQueue::Clock::time_point) {
                 ran_on = std::this_thread::get_id();
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(OpQueue, AStuckInlineOpIsReportedByTheQueueThread) {
  OpQueue q("world (rank 1 of 2)", 200ms);
  std::atomic<bool> reported{false};
  std::string message;
  q.set_on_stuck([&](const std::string& m) {
    message = m;
    reported = true;
  });
  const auto start = std::chrono::steady_clock::now();
  // A blocking call that outlives the deadline (it cannot report itself while blocked).
  absl::Status st = q.run_now("broadcast", [&](OpQueue::Clock::time_point) {
    while (!reported && std::chrono::steady_clock::now() - start < 5s) std::this_thread::sleep_for(5ms);
    return absl::OkStatus();
  });
  EXPECT_TRUE(reported.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(message.find("broadcast on world (rank 1 of 2) did not complete after"), std::string::npos) << message;
  EXPECT_TRUE(q.broken());
}

}  // namespace
}  // namespace ty
