// Training from and into an S3 store with the real binary: shards read by ranged GETs from a
// real S3-compatible server (Swift with s3api on loopback) give the losses local files give;
// a run directory on the store resumes exactly after SIGKILL and writes nothing locally; a
// failed checkpoint upload fails the run and leaves the previous checkpoint; a locked run
// directory is refused; faults in the network (503s, resets, truncated bodies, flipped bits,
// slow answers) change nothing; a shard replaced mid-run stops the run naming it; and no
// credential shows in anything a run writes.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "storage/object_path.h"
#include "tests/support/s3_fault_proxy.h"
#include "tests/support/s3_store.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

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

TEST_F(S3Job, RunOnTheStoreResumesExactlyAfterSigkillAndWritesNothingLocally) {
  ShellResult local = run_shell(job(path("fm") + "-*", 40) + "--run-dir " + path("local"), 300);
  ASSERT_EQ(local.code, 0) << local.output;
  const auto want = losses_by_step(path("local") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 40u);
  const auto before = std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator());
  const std::string run = "s3://" + bucket_ + "/runs/cnn";
  // A user with a secret no output could hold by chance.
  const std::string creds = "AWS_ACCESS_KEY_ID=test:secure AWS_SECRET_ACCESS_KEY=Sup3r-S3cret-Value-9f2e ";
  ShellResult killed = run_shell("cd " + path("") + " && env " + creds +
                                     "TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=25 " + job(remote_glob(), 40) +
                                     "--run-dir " + run,
                                 300);
  ASSERT_EQ(killed.code, 137) << killed.output;  // SIGKILL
  ShellResult resumed = run_shell("cd " + path("") + " && env " + creds + job(remote_glob(), 40) + "--run-dir " + run, 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  // The dead holder's lock (same host, no such process) is taken over at once.
  EXPECT_NE(resumed.output.find("taking over the lock"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from " + run + "/checkpoints/step-0000000020"), std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find("weights: " + run + "/weights.bin"), std::string::npos) << resumed.output;
  // Nothing of the run on the local disk.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), before);
  // The run's objects: committed checkpoints (the newest 3), weights, job, metrics, no lock.
  auto client = shared_s3_client();
  ASSERT_TRUE(client.ok());
  auto objects = (*client)->list(S3Url{bucket_, "runs/cnn/"});
  ASSERT_TRUE(objects.ok()) << objects.status();
  std::set<std::string> keys;
  for (const auto& o : *objects) keys.insert(o.key.substr(std::string("runs/cnn/").size()));
  for (const char* k : {"job.yaml", "metrics.jsonl", "weights.bin", "checkpoints/step-0000000040/MANIFEST",
                        "checkpoints/step-0000000030/MANIFEST", "checkpoints/step-0000000020/MANIFEST"})
    EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_FALSE(keys.count(".lock"));
  EXPECT_FALSE(keys.count("checkpoints/step-0000000010/MANIFEST"));  // checkpoint.keep: 3
  // metrics.jsonl holds both launches: every step's loss is the local run's, to the last bit.
  auto metrics = (*client)->get(S3Url{bucket_, "runs/cnn/metrics.jsonl"});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  std::ofstream(path("metrics-copy.jsonl")) << *metrics;
  EXPECT_EQ(losses_by_step(path("metrics-copy.jsonl")), want);
  // Neither part of the credentials shows in the output or in any object of the run.
  for (const std::string& text : {killed.output, resumed.output}) {
    EXPECT_EQ(text.find("Sup3r-S3cret"), std::string::npos) << text;
    EXPECT_EQ(text.find("test:secure"), std::string::npos) << text;
  }
  for (const auto& o : *objects) {
    auto bytes = (*client)->get(S3Url{bucket_, o.key});
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(bytes->find("Sup3r-S3cret"), std::string::npos) << o.key;
    EXPECT_EQ(bytes->find("test:secure"), std::string::npos) << o.key;
  }
}

TEST_F(S3Job, AFailedCheckpointUploadFailsTheRunAndLeavesThePreviousOneUsable) {
  ShellResult local = run_shell(job(path("fm") + "-*", 40) + "--run-dir " + path("local"), 300);
  ASSERT_EQ(local.code, 0) << local.output;
  const std::string ckpt = "s3://" + bucket_ + "/ckpt";
  {
    // Every request for step 20's checkpoint answers 503; two attempts each.
    S3FaultProxy proxy(dir_.string(), "503:100000", 1, "any", "step-0000000020");
    ASSERT_FALSE(proxy.endpoint().empty()) << "the fault proxy did not start";
    ShellResult failed = run_shell("env TRAINYARD_S3_MAX_ATTEMPTS=2 AWS_ENDPOINT_URL=" + proxy.endpoint() + " " +
                                       job(remote_glob(), 40) + "--set checkpoint.dir=" + ckpt + " --run-dir " +
                                       path("run"),
                                   300);
    EXPECT_EQ(failed.code, 3) << failed.output;  // retryable: the store's fault
    EXPECT_NE(failed.output.find("step-0000000020/rank-00000.bin"), std::string::npos) << failed.output;
    EXPECT_NE(failed.output.find("failed 2 times"), std::string::npos) << failed.output;
  }
  ShellResult resumed =
      run_shell(job(remote_glob(), 40) + "--set checkpoint.dir=" + ckpt + " --run-dir " + path("run"), 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from " + ckpt + "/step-0000000010"), std::string::npos) << resumed.output;
  EXPECT_EQ(losses_by_step(path("run") + "/metrics.jsonl"), losses_by_step(path("local") + "/metrics.jsonl"));
}

TEST_F(S3Job, AStoreFailingWhileTheRunLooksForItsCheckpointsStopsItInsteadOfStartingOver) {
  const std::string ckpt = "s3://" + bucket_ + "/ckpt2";
  const std::string common = job(path("fm") + "-*", 40) + "--set checkpoint.dir=" + ckpt + " --run-dir " + path("run");
  ShellResult killed = run_shell("env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=25 " + common, 300);
  ASSERT_EQ(killed.code, 137) << killed.output;
  const size_t lines = losses_by_step(path("run") + "/metrics.jsonl").size();
  {
    // Every request for a MANIFEST answers 503; two attempts each.
    S3FaultProxy proxy(dir_.string(), "503:100000", 1, "any", "MANIFEST");
    ASSERT_FALSE(proxy.endpoint().empty()) << "the fault proxy did not start";
    ShellResult failed =
        run_shell("env TRAINYARD_S3_MAX_ATTEMPTS=2 AWS_ENDPOINT_URL=" + proxy.endpoint() + " " + common, 300);
    EXPECT_EQ(failed.code, 3) << failed.output;  // retryable, not a fresh start
    EXPECT_NE(failed.output.find("looking for checkpoints"), std::string::npos) << failed.output;
    EXPECT_EQ(failed.output.find("resuming from"), std::string::npos) << failed.output;
  }
  EXPECT_EQ(losses_by_step(path("run") + "/metrics.jsonl").size(), lines);  // no step trained again
  ShellResult resumed = run_shell(common, 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from " + ckpt + "/step-0000000020"), std::string::npos) << resumed.output;
}

TEST_F(S3Job, ASecondRunOnALockedRunDirectoryWaitsOutTheLeaseThenFailsNamingTheHolder) {
  const std::string run = "s3://" + bucket_ + "/runs/busy";
  const std::string lease = "TRAINYARD_S3_LOCK_LEASE_S=3 ";
  ShellResult first{};
  std::thread holder([&] { first = run_shell("env " + lease + job(remote_glob(), 2000) + "--run-dir " + run, 300); });
  auto client = shared_s3_client();
  EXPECT_TRUE(client.ok());  // (no ASSERT while the thread runs)
  bool locked = false;
  for (int i = 0; i < 300 && !locked; ++i) {  // at most 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    locked = client.ok() && (*client)->head(S3Url{bucket_, "runs/busy/job.yaml"}).ok();
  }
  EXPECT_TRUE(locked);
  ShellResult second = run_shell("env " + lease + job(remote_glob(), 5) + "--run-dir " + run, 120);
  run_shell("pkill -KILL -f 'run-dir " + run + "'", 10);
  holder.join();
  EXPECT_EQ(second.code, 2) << second.output;
  EXPECT_NE(second.output.find("waiting up to"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("is in use by pid"), std::string::npos) << second.output;
  EXPECT_NE(first.code, 0) << first.output;  // killed (with the shell that ran it)
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
  // (A flip in a chunk's padding, which no record covers, changes nothing and goes unseen.)
  int64_t reread_logged = 0;
  for (size_t at = 0; (at = r.output.find("again", at)) != std::string::npos; ++at) ++reread_logged;
  EXPECT_GE(reread_logged, 1) << r.output;
  EXPECT_LE(reread_logged, injected.at("flip")) << r.output;
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
  EXPECT_TRUE(client.ok());  // (no ASSERT while the thread runs)
  bool started = false;
  for (int i = 0; i < 600 && !started; ++i) {  // at most 60 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    started = last_figure(path("replaced") + "/metrics.jsonl", "train", "step") >= 3;
  }
  EXPECT_TRUE(started);
  for (const std::string& s : shards) {
    std::string bytes = *read_whole(path(s));
    bytes[bytes.size() / 2] ^= 1;
    EXPECT_TRUE(client.ok() && (*client)->put(S3Url{bucket_, "data/" + s}, bytes).ok());
  }
  run.join();
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("s3://" + bucket_ + "/data/fm-"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("was replaced while this run reads it"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
