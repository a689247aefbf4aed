// The API on loopback: a real httplib server on a free port, a real client.
#include "coordinator/api.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "coordinator/token.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty::coordinator {
namespace {

using nlohmann::json;

const std::string kToken(64, 'c');
const std::string kSpec = "data: {train: x-images-idx3-ubyte}\nmodel: {kind: mlp, hidden: [16]}\n";

class ApiTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto store = JobStore::open(path("state.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ApiOptions o;
    o.token = kToken;
    o.max_body_bytes = 64 << 10;
    cluster_ = std::make_unique<Cluster>(*store_, Cluster::Options{});
    auto rendezvous = Rendezvous::load(*store_);
    ASSERT_TRUE(rendezvous.ok()) << rendezvous.status();
    rendezvous_ = std::move(*rendezvous);
    install_api(server_, *store_, *cluster_, *rendezvous_, o);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i)  // bounded: 5 s
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(server_.is_running());
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
    TempDirTest::TearDown();
  }
  httplib::Client client(const std::string& token = kToken) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    if (!token.empty()) c.set_default_headers({{"Authorization", "Bearer " + token}});
    return c;
  }
  int64_t submit(const json& body) {
    auto r = client().Post("/api/v1/jobs", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
    return r && r->status == 201 ? json::parse(r->body)["id"].get<int64_t>() : 0;
  }
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Rendezvous> rendezvous_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ApiTest, EveryEndpointButHealthzWantsTheToken) {
  const int64_t id = submit({{"spec", kSpec}});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(store_->set_attempt(id, 1, 0).ok());
  ASSERT_TRUE(store_->transition(id, kRunning, "test").ok());
  const std::string job = std::to_string(id);
  // Missing, wrong, near misses (one digit off, one short, one long, another attempt's token).
  for (const std::string& token : {std::string(), std::string(63, 'c'), std::string(63, 'c') + "d", kToken + "c",
                                   attempt_token(kToken, id, 2), attempt_token(kToken + "x", id, 1)}) {
    httplib::Client c = client(token);
    SCOPED_TRACE("token '" + token + "'");
    for (const std::string& path : std::vector<std::string>{
             "/api/v1/jobs", "/api/v1/jobs/" + job, "/api/v1/jobs/" + job + "/logs", "/api/v1/workers", "/metrics",
             "/api/v1/rendezvous/" + job + "/1", "/api/v1/rendezvous/" + job + "/1/ucx/0", "/no/such/route"}) {
      auto r = c.Get(path);  // before routing: not even whether a route exists is revealed
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 401) << path;
    }
    for (const std::string& path : std::vector<std::string>{"/api/v1/jobs", "/api/v1/jobs/" + job + "/cancel",
                                                            "/api/v1/workers/register", "/api/v1/workers/heartbeat"})
      EXPECT_EQ(c.Post(path, "{}", "application/json")->status, 401) << path;
    EXPECT_EQ(c.Put("/api/v1/rendezvous/" + job + "/1/k", "v", "application/octet-stream")->status, 401);
    EXPECT_EQ(c.Get("/healthz")->status, 200);
  }
  EXPECT_EQ(client().Get("/api/v1/jobs")->status, 200);
  // The coordinator's token opens the rendezvous keys too; an attempt's opens only them.
  EXPECT_EQ(client().Get("/api/v1/rendezvous/" + job + "/1")->status, 200);
  httplib::Client rank = client(attempt_token(kToken, id, 1));
  EXPECT_EQ(rank.Get("/api/v1/rendezvous/" + job + "/1")->status, 200);
  EXPECT_EQ(rank.Get("/api/v1/jobs")->status, 401);
  EXPECT_EQ(rank.Post("/api/v1/jobs/" + job + "/cancel", "", "text/plain")->status, 401);
}

TEST_F(ApiTest, RendezvousKeysBelongToTheRunningAttempt) {
  const int64_t id = submit({{"spec", kSpec}});
  ASSERT_GT(id, 0);
  const std::string base = "/api/v1/rendezvous/" + std::to_string(id);
  httplib::Client rank = client(attempt_token(kToken, id, 1));
  EXPECT_EQ(rank.Get(base + "/1")->status, 409);  // queued: no attempt runs yet
  ASSERT_TRUE(store_->set_attempt(id, 1, 0).ok());
  ASSERT_TRUE(store_->transition(id, kRunning, "test").ok());
  EXPECT_EQ(rank.Get(base + "/1/ucx/0")->status, 404);  // not set yet
  const std::string bytes("\0\x01\xff address", 12);
  ASSERT_EQ(rank.Put(base + "/1/ucx/0", bytes, "application/octet-stream")->status, 200);
  auto got = rank.Get(base + "/1/ucx/0");
  ASSERT_TRUE(got && got->status == 200);
  EXPECT_EQ(got->body, bytes);
  EXPECT_EQ(json::parse(rank.Get(base + "/1")->body)["keys"], 1);
  for (const char* key : {"..", "a/../b", "%2e%2e", "a%00b", "sp%20ace", "q%3Fx"}) {
    auto r = rank.Put(base + "/1/" + key, "v", "application/octet-stream");
    ASSERT_TRUE(r) << key;
    EXPECT_EQ(r->status, 400) << key << ": " << r->body;
  }
  EXPECT_EQ(rank.Put(base + "/1/" + std::string(257, 'k'), "v", "application/octet-stream")->status, 400);
  // A reloaded store (a restarted coordinator) still has the key.
  auto reloaded = Rendezvous::load(*store_);
  ASSERT_TRUE(reloaded.ok());
  absl::StatusOr<std::optional<std::string>> again = (*reloaded)->get(id, 1, "ucx/0");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(**again, bytes);
  // The next attempt: the old one's keys are refused, and gone from a reload.
  ASSERT_TRUE(store_->set_attempt(id, 2, 1).ok());
  EXPECT_EQ(rank.Get(base + "/1/ucx/0")->status, 409);
  EXPECT_EQ(rank.Put(base + "/1/ucx/1", "v", "application/octet-stream")->status, 409);
  auto after = Rendezvous::load(*store_);
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(store_->set_attempt(id, 1, 1).ok());
  EXPECT_FALSE((*after)->get(id, 1, "ucx/0")->has_value());
}

TEST_F(ApiTest, SubmitListShowCancel) {
  const int64_t id = submit({{"spec", kSpec}, {"overrides", {"train.epochs=2"}}, {"name", "tiny"}, {"ranks", 2}});
  ASSERT_GT(id, 0);
  auto listed = client().Get("/api/v1/jobs");
  ASSERT_TRUE(listed && listed->status == 200);
  const json jobs = json::parse(listed->body)["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["name"], "tiny");
  EXPECT_EQ(jobs[0]["state"], "queued");
  EXPECT_EQ(jobs[0]["ranks"], 2);
  EXPECT_FALSE(jobs[0].contains("spec"));  // never returned: its env may hold credentials
  auto shown = client().Get("/api/v1/jobs/" + std::to_string(id));
  ASSERT_TRUE(shown && shown->status == 200);
  EXPECT_EQ(json::parse(shown->body)["history"][0]["cause"], "submitted");
  auto canceled = client().Post("/api/v1/jobs/" + std::to_string(id) + "/cancel", "", "text/plain");
  ASSERT_TRUE(canceled && canceled->status == 200) << canceled->body;
  EXPECT_EQ(json::parse(canceled->body)["state"], "canceled");
  EXPECT_EQ(client().Post("/api/v1/jobs/" + std::to_string(id) + "/cancel", "", "text/plain")->status, 409);
  EXPECT_EQ(client().Get("/api/v1/jobs/99999")->status, 404);
}

TEST_F(ApiTest, ABadSpecIsRefusedNamingTheKey) {
  auto r = client().Post("/api/v1/jobs", json{{"spec", kSpec}, {"overrides", {"train.epochz=2"}}}.dump(),
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("train.epochz"), std::string::npos) << r->body;
  for (const std::string& body :
       {std::string("not json"), std::string("{\"spec\": 3}"), std::string("[]"),
        json{{"spec", kSpec}, {"ranks", 0}}.dump(), json{{"spec", kSpec}, {"name", "../x"}}.dump()})
    EXPECT_EQ(client().Post("/api/v1/jobs", body, "application/json")->status, 400) << body;
  auto odd = client().Post("/api/v1/jobs",
                           json{{"spec", kSpec}, {"ranks", 3}, {"overrides", {"parallel.pipeline.stages=2"}}}.dump(),
                           "application/json");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->status, 400);
  EXPECT_NE(odd->body.find("ranks 3 is not a multiple of parallel.pipeline.stages 2"), std::string::npos) << odd->body;
  EXPECT_EQ(json::parse(client().Get("/api/v1/jobs")->body)["jobs"].size(), 0u);
}

TEST_F(ApiTest, HostileIdsAndOversizedBodiesAreRefusedAndTheServerKeepsServing) {
  for (const char* id :
       {"..", "%2e%2e", "abc", "-1", "0", "1%00", "99999999999999999999999", "%2fetc%2fpasswd", "..%2f..%2fetc"}) {
    for (const std::string& path :
         {std::string("/api/v1/jobs/") + id, std::string("/api/v1/jobs/") + id + "/logs",
          std::string("/api/v1/rendezvous/") + id + "/1/k", std::string("/api/v1/rendezvous/1/") + id + "/k"}) {
      auto r = client().Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    }
    auto c = client().Post(std::string("/api/v1/jobs/") + id + "/cancel", "", "text/plain");
    ASSERT_TRUE(c) << id;
    EXPECT_EQ(c->status, 400) << id;
  }
  for (const char* name : {"../x", "/etc/passwd", "a/b", ".hidden", ""}) {
    auto r = client().Post("/api/v1/workers/register", json{{"name", name}, {"slots", 1}}.dump(), "application/json");
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->status, 400) << name;
  }
  {
    auto r = client().Post("/api/v1/workers/register", std::string("{\"name\": \"a\u0000b\", \"slots\": 1}"),
                           "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  for (const char* path : {"/api/v1/jobs", "/api/v1/workers/heartbeat", "/api/v1/workers/register"}) {
    auto big = client().Post(path, std::string(65 << 10, 'x'), "application/json");
    ASSERT_TRUE(big) << path;
    EXPECT_EQ(big->status, 413) << path;
  }
  auto big = client().Put("/api/v1/rendezvous/1/1/k", std::string(65 << 10, 'x'), "application/octet-stream");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(client().Get("/healthz")->status, 200);
  EXPECT_GT(submit({{"spec", kSpec}}), 0);
}

}  // namespace
}  // namespace ty::coordinator
