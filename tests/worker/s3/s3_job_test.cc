// Training from an S3 store with the real binary: shards read by ranged GETs from a real
// S3-compatible server (Swift with s3api on loopback) give the losses local files give, a
// killed run resumes exactly, faults in the network (503s, resets, truncated bodies, flipped
// bits, slow answers) change nothing, a shard replaced mid-run stops the run naming it, and
// no credential shows in anything a run writes.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/s3_fault_proxy.h"
#include "tests/support/s3_store.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of "name":N in the last record of `kind` in a metrics.jsonl, or -1.
int64_t last_figure(const std::string& metrics_path, const std::string& kind, const std::string& name) {
  std::ifstream in(metrics_path);
  int64_t v = -1;
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (l.find("\"kind\":\"" + kind + "\"") != std::string::npos &&
        std::regex_search(l, m, std::regex("\"" + name + "\":([0-9]+)")))
      v = std::stoll(m[1]);
  return v;
}

class S3Job : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_FALSE(s3_test_endpoint().empty()) << "the test S3 store did not start";
    auto c = shared_s3_client();
    ASSERT_TRUE(c.ok()) << c.status();
    bucket_ = s3_test_bucket(**c);
    // Fashion-MNIST's 10,000 test images as shards of 1 MiB, here and in the store.
    ShellResult local = import_fashion_mnist(TRAINYARD_BINARY, "t10k", path("fm"), 1);
    ASSERT_EQ(local.code, 0) << local.output;
    ShellResult remote = import_fashion_mnist(TRAINYARD_BINARY, "t10k", "s3://" + bucket_ + "/data/fm", 1);
    ASSERT_EQ(remote.code, 0) << remote.output;
    ASSERT_NE(remote.output.find("uploaded s3://" + bucket_ + "/data/fm-00000.tyshard"), std::string::npos)
        << remote.output;
  }
  // The CNN example on `train` (a glob), streamed in 1 MiB windows, 2 threads.
  std::string job(const std::string& train, int max_steps) const {
    return std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
           "/examples/fashion_mnist_cnn.yaml --set 'data.train=" + train +
           "' --set data.test= --set validation.fraction=0 --set storage.loader=stream --set data.num_classes=10 "
           "--set storage.shuffle_window_mb=1 --set storage.prefetch_mb=4 --set runtime.threads=2 "
           "--set log.every_steps=1 --set checkpoint.every_steps=10 --set train.max_steps=" +
           std::to_string(max_steps) + " ";
  }
  std::string remote_glob() const { return "s3://" + bucket_ + "/data/fm-*"; }
  std::string bucket_;
};

TEST_F(S3Job, StreamsTheSameLossesAsLocalFilesAndResumesExactlyAfterSigkill) {
  ShellResult local = run_shell(job(path("fm") + "-*", 40) + "--run-dir " + path("local"), 300);
  ASSERT_EQ(local.code, 0) << local.output;
  const auto want = losses_by_step(path("local") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 40u);
  // A user with a secret no output could hold by chance.
  const std::string creds = "AWS_ACCESS_KEY_ID=test:secure AWS_SECRET_ACCESS_KEY=Sup3r-S3cret-Value-9f2e ";
  ShellResult killed = run_shell("env " + creds + "TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=25 " +
                                     job(remote_glob(), 40) + "--run-dir " + path("remote"),
                                 300);
  ASSERT_EQ(killed.code, 137) << killed.output;  // SIGKILL
  ShellResult resumed = run_shell("env " + creds + job(remote_glob(), 40) + "--run-dir " + path("remote"), 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find(remote_glob().substr(0, remote_glob().size() - 1)), std::string::npos)
      << resumed.output;
  EXPECT_EQ(losses_by_step(path("remote") + "/metrics.jsonl"), want);  // to the last bit
  // Neither part of the credentials shows in the output or in any file of the run.
  for (const std::string& text : {killed.output, resumed.output}) {
    EXPECT_EQ(text.find("Sup3r-S3cret"), std::string::npos) << text;
    EXPECT_EQ(text.find("test:secure"), std::string::npos) << text;
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(path("remote"))) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = slurp(e.path());
    EXPECT_EQ(bytes.find("Sup3r-S3cret"), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find("test:secure"), std::string::npos) << e.path();
  }
}

TEST_F(S3Job, AWrongSecretIsRefusedBeforeTrainingWithoutShowingIt) {
  ShellResult r = run_shell("env AWS_ACCESS_KEY_ID=test:secure AWS_SECRET_ACCESS_KEY=Wrong-S3cret-Value-1234 " +
                                job(remote_glob(), 5) + "--run-dir " + path("denied"),
                            120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("data.train"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("access denied"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Wrong-S3cret"), std::string::npos) << r.output;
}

TEST_F(S3Job, FaultsOnTheWayChangeNothingAndEveryFlippedBitIsCaught) {
  ShellResult local = run_shell(job(path("fm") + "-*", 100) + "--run-dir " + path("local"), 300);
  ASSERT_EQ(local.code, 0) << local.output;
  // Every 5th ranged GET (prime to the 3 GETs that open a shard: a reread is never hit again).
  S3FaultProxy proxy(dir_.string(), "503:3,reset:3,truncate:3,flip:4,slow:1", 5);
  ASSERT_FALSE(proxy.endpoint().empty()) << "the fault proxy did not start";
  ShellResult r = run_shell("env AWS_ENDPOINT_URL=" + proxy.endpoint() + " " + job(remote_glob(), 100) +
                                "--set storage.s3.requests_in_flight=3 --run-dir " + path("faulty"),
                            300);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto injected = proxy.stats();
  for (const char* kind : {"503", "reset", "truncate", "flip", "slow"})
    EXPECT_GE(injected.at(kind), 1) << kind << " never injected in " << injected.at("requests") << " requests";
  // No record lost, duplicated or changed: every step's loss is the local run's.
  EXPECT_EQ(losses_by_step(path("faulty") + "/metrics.jsonl"), losses_by_step(path("local") + "/metrics.jsonl"));
  // Each 503 and cut body cost one retry, and each reset one unless libcurl retried it itself
  // (a kept-alive connection that dies before answering is retried on a fresh one); each
  // flipped bit cost one more read.
  const std::string metrics = path("faulty") + "/metrics.jsonl";
  const int64_t retries = last_figure(metrics, "epoch", "s3_retries");
  EXPECT_GE(retries, injected.at("503") + injected.at("truncate")) << r.output;
  EXPECT_LE(retries, injected.at("503") + injected.at("truncate") + injected.at("reset")) << r.output;
  int64_t reread_logged = 0;
  for (size_t at = 0; (at = r.output.find("again", at)) != std::string::npos; ++at) ++reread_logged;
  EXPECT_EQ(reread_logged, injected.at("flip")) << r.output;
  EXPECT_GE(last_figure(metrics, "epoch", "refetched_ranges"), 1) << r.output;
}

TEST_F(S3Job, AShardReplacedDuringTheRunStopsItNamingTheShard) {
  std::vector<std::string> shards;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    if (e.path().filename().string().rfind("fm-", 0) == 0) shards.push_back(e.path().filename().string());
  ASSERT_GE(shards.size(), 5u);
  ShellResult r{};
  std::thread run([&] { r = run_shell(job(remote_glob(), 400) + "--run-dir " + path("replaced"), 300); });
  // Once training is under way, every shard object gets other bytes (a new version).
  auto client = shared_s3_client();
  ASSERT_TRUE(client.ok());
  bool started = false;
  for (int i = 0; i < 600 && !started; ++i) {  // at most 60 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    started = last_figure(path("replaced") + "/metrics.jsonl", "train", "step") >= 3;
  }
  EXPECT_TRUE(started);
  for (const std::string& s : shards) {
    std::string bytes = slurp(path(s));
    bytes[bytes.size() / 2] ^= 1;
    EXPECT_TRUE((*client)->put(S3Url{bucket_, "data/" + s}, bytes).ok());
  }
  run.join();
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("s3://" + bucket_ + "/data/fm-"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("was replaced while this run reads it"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
