// HttpStore against a real `trainyard coordinator`: the test plays the worker (registers,
// takes the start orders with the attempt's token), then ranks' stores set and get through
// the coordinator, across a SIGKILL and restart of it.
#include "comm/rendezvous/http_store.h"

#include <httplib.h>

#include <future>

#include "comm/rendezvous/open_store.h"
#include "tests/support/daemons.h"

namespace ty::rendezvous {
namespace {

using nlohmann::json;
using Clock = Store::Clock;

class HttpStoreTest : public DaemonsTest {
 protected:
  // Submits a 2-rank job and plays its worker until attempt 1 runs: the job id and the
  // attempt's token from the start order.
  void start_job() {
    start_coordinator();
    ShellResult sub = cli("submit " + std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml --ranks 2");
    ASSERT_EQ(sub.code, 0) << sub.output;
    job_ = std::stoll(sub.output.substr(sub.output.find_last_of('\n', sub.output.size() - 2) + 1));
    httplib::Client c = admin();
    ASSERT_EQ(c.Post("/api/v1/workers/register", R"({"name": "w", "slots": 2})", "application/json")->status, 200);
    for (int i = 0; i < 20 && token_.empty(); ++i) {  // bounded: 20 heartbeats
      auto r = c.Post("/api/v1/workers/heartbeat", R"({"name": "w", "reports": []})", "application/json");
      ASSERT_TRUE(r && r->status == 200);
      const json orders = json::parse(r->body);
      for (const json& o : orders["start"]) token_ = o["rendezvous_token"].get<std::string>();
    }
    ASSERT_EQ(token_.size(), 64u);
  }
  // Reports both ranks running, so the coordinator keeps (and after a restart adopts) the attempt.
  void heartbeat() {
    json reports = json::array();
    for (int r = 0; r < 2; ++r) reports.push_back({{"job", job_}, {"attempt", 1}, {"rank", r}, {"running", true}});
    admin().Post("/api/v1/workers/register", R"({"name": "w", "slots": 2})", "application/json");
    admin().Post("/api/v1/workers/heartbeat", json{{"name", "w"}, {"reports", reports}}.dump(), "application/json");
  }
  httplib::Client admin() const {
    httplib::Client c(url_);
    c.set_read_timeout(10);
    std::ifstream in(path("state/token"));
    std::string token;
    std::getline(in, token);
    c.set_default_headers({{"Authorization", "Bearer " + token}});
    return c;
  }
  absl::StatusOr<std::shared_ptr<Store>> open(const std::string& token, int attempt = 1) {
    return open_store({url_, token, std::to_string(job_), attempt}, 0, Clock::now() + std::chrono::seconds(10));
  }
  int64_t job_ = 0;
  std::string token_;
};

TEST_F(HttpStoreTest, RanksMeetThroughTheCoordinatorWithTheirAttemptsToken) {
  start_job();
  auto a = open(token_);
  auto b = open(token_);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->describe().find("/api/v1/rendezvous/" + std::to_string(job_) + "/1"), std::string::npos);
  // b waits for a key a sets later; binary values come back whole.
  std::future<absl::StatusOr<std::string>> later =
      std::async(std::launch::async, [&] { return (*b)->get("ucx/0", Clock::now() + std::chrono::seconds(10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string bytes("\0\x01\xff\n address", 12);
  ASSERT_TRUE((*a)->set("ucx/0", bytes).ok());
  absl::StatusOr<std::string> got = later.get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  ASSERT_TRUE((*b)->set("ucx/1", "x").ok());
  EXPECT_TRUE((*a)->wait({"ucx/0", "ucx/1"}, Clock::now() + std::chrono::seconds(5)).ok());
  // A key nobody sets: the deadline, naming it.
  absl::Status missing = (*a)->wait({"ucx/7"}, Clock::now() + std::chrono::milliseconds(300));
  EXPECT_EQ(missing.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(missing.message().find("ucx/7"), std::string::npos) << missing;
  // A key the coordinator would refuse is refused here, naming it.
  EXPECT_EQ((*a)->set("a b", "x").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpStoreTest, AWrongTokenAndAnotherAttemptAreRefusedNamingWhy) {
  start_job();
  absl::StatusOr<std::shared_ptr<Store>> wrong = open(std::string(64, '0'));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied) << wrong.status();
  EXPECT_NE(wrong.status().message().find("TRAINYARD_RENDEZVOUS_TOKEN"), std::string::npos);
  // The token of attempt 1 does not open attempt 2, and attempt 2 does not run.
  EXPECT_EQ(open(token_, 2).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(open_store({url_, token_, "job", 1}, 0, Clock::now() + std::chrono::seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);  // TRAINYARD_JOB_ID must be the job's number
}

TEST_F(HttpStoreTest, KeysSurviveACoordinatorRestartAndRanksWaitForIt) {
  start_job();
  auto a = open(token_);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->set("ucx/0", "zero").ok());
  kill("coordinator");
  // The other rank comes while the coordinator is away; it waits for it, then finds the key.
  std::future<absl::StatusOr<std::string>> waiting = std::async(std::launch::async, [&] {
    auto b = open(token_);
    if (!b.ok()) return absl::StatusOr<std::string>(b.status());
    return (*b)->get("ucx/0", Clock::now() + std::chrono::seconds(10));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start_coordinator();
  heartbeat();  // the worker comes back and reports the attempt's ranks
  absl::StatusOr<std::string> got = waiting.get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "zero");
}

}  // namespace
}  // namespace ty::rendezvous
