// The API on loopback: a real httplib server on a free port, a real client.
#include "coordinator/api.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

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
    install_api(server_, *store_, *cluster_, o);
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
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ApiTest, EveryEndpointButHealthzWantsTheToken) {
  for (const std::string& token : {std::string(), std::string(63, 'c'), std::string(63, 'c') + "d", kToken + "c"}) {
    httplib::Client c = client(token);
    EXPECT_EQ(c.Get("/api/v1/jobs")->status, 401) << "token '" << token << "'";
    EXPECT_EQ(c.Get("/api/v1/jobs/1")->status, 401);
    EXPECT_EQ(c.Post("/api/v1/jobs", "{}", "application/json")->status, 401);
    EXPECT_EQ(c.Post("/api/v1/jobs/1/cancel", "", "text/plain")->status, 401);
    EXPECT_EQ(c.Get("/no/such/route")->status, 401);  // before routing: nothing is revealed
    EXPECT_EQ(c.Get("/healthz")->status, 200);
  }
  EXPECT_EQ(client().Get("/api/v1/jobs")->status, 200);
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
  for (const std::string& body : {std::string("not json"), std::string("{\"spec\": 3}"), std::string("[]"),
                                  json{{"spec", kSpec}, {"ranks", 0}}.dump(), json{{"spec", kSpec}, {"name", "../x"}}.dump()})
    EXPECT_EQ(client().Post("/api/v1/jobs", body, "application/json")->status, 400) << body;
  EXPECT_EQ(json::parse(client().Get("/api/v1/jobs")->body)["jobs"].size(), 0u);
}

TEST_F(ApiTest, HostileIdsAndOversizedBodiesAreRefusedAndTheServerKeepsServing) {
  for (const char* id : {"..", "%2e%2e", "abc", "-1", "0", "1%00", "99999999999999999999999"}) {
    auto r = client().Get(std::string("/api/v1/jobs/") + id);
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->status, 400) << id << ": " << r->body;
  }
  auto big = client().Post("/api/v1/jobs", std::string(65 << 10, 'x'), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(client().Get("/healthz")->status, 200);
  EXPECT_GT(submit({{"spec", kSpec}}), 0);
}

}  // namespace
}  // namespace ty::coordinator
