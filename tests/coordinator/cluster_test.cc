// The cluster's decisions without processes: the test plays the workers through
// heartbeat() and drives the clock through tick(). GPUs per rank, preemption by priority,
// and the run-time limit.
#include "coordinator/cluster.h"

#include <thread>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty::coordinator {
namespace {

class ClusterTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto store = JobStore::open(path("state.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    Cluster::Options o;
    o.runs_dir = path("runs");
    o.token = std::string(64, 'a');
    cluster_ = std::make_unique<Cluster>(*store_, o);
  }
  int64_t submit(int ranks, int priority = 0, int gpus_per_rank = 0, double max_runtime_s = 0, int per_worker = 0) {
    NewJob j;
    j.ranks_per_worker = per_worker;
    j.name = "j";
    j.spec = "x: 1\n";
    j.ranks = ranks;
    j.priority = priority;
    j.gpus_per_rank = gpus_per_rank;
    j.max_runtime_s = max_runtime_s;
    return *store_->submit(j, "waiting for the scheduler");
  }
  JobRecord job(int64_t id) { return **store_->get(id); }
  // One heartbeat of `worker` with `reports`: its orders.
  Orders beat(const std::string& worker, const std::vector<RankReport>& reports = {}) {
    cluster_->tick();
    absl::StatusOr<Orders> o = cluster_->heartbeat(worker, reports, std::chrono::milliseconds(0));
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : Orders{};
  }
  static std::vector<RankReport> running(const Orders& o) {
    std::vector<RankReport> out;
    for (const RankOrder& s : o.start) out.push_back({s.job, s.attempt, s.rank, true, -1, 0, "", s.gpu});
    return out;
  }
  static RankReport ended(const RankOrder& s, int code) { return {s.job, s.attempt, s.rank, false, code, 0, "", s.gpu}; }
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ClusterTest, GpuRanksTakeGpusAndCpuRanksTakeSlots) {
  cluster_->register_worker("g", 2, {"0", "1"});
  const int64_t gpu_job = submit(2, 0, 1), cpu_job = submit(2), third = submit(1, 0, 1), huge = submit(3, 0, 1);
  Orders o = beat("g");
  ASSERT_EQ(o.start.size(), 4u);  // both jobs at once: GPUs and slots are different things
  std::map<int64_t, std::vector<std::string>> gpus;
  for (const RankOrder& s : o.start) gpus[s.job].push_back(s.gpu);
  EXPECT_EQ(gpus[gpu_job], (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(gpus[cpu_job], (std::vector<std::string>{"", ""}));
  EXPECT_EQ(job(huge).reason, "can never fit: needs 3 GPUs, the registered workers have 2");
  EXPECT_EQ(job(third).state, kQueued);
  EXPECT_EQ(job(third).reason, "needs 1 GPUs, 0 free");
  // The GPU job ends: the next one gets GPU 0; the CPU job runs on.
  std::vector<RankReport> reports = running(o);
  for (RankReport& r : reports)
    if (r.job == gpu_job) r = {r.job, r.attempt, r.rank, false, 0, 0, "", r.gpu};
  Orders next = beat("g", reports);
  ASSERT_EQ(next.start.size(), 1u);
  EXPECT_EQ(next.start[0].job, third);
  EXPECT_EQ(next.start[0].gpu, "0");
  EXPECT_EQ(cluster_->workers()[0].busy_gpus, 1);
}

TEST_F(ClusterTest, AHigherPriorityJobPreemptsTheLowestAndNewestWhichRequeueUncounted) {
  cluster_->register_worker("w", 2);
  const int64_t low = submit(1, 0), newer_low = submit(1, 0);
  Orders first = beat("w");
  ASSERT_EQ(first.start.size(), 2u);
  const int64_t high = submit(1, 5), same = submit(2, 0);
  Orders o = beat("w", running(first));
  // Only the newest of the lowest priority is stopped: one slot is enough.
  ASSERT_EQ(o.kill.size(), 1u);
  EXPECT_EQ(o.kill[0].job, newer_low);
  EXPECT_EQ(job(newer_low).state, kQueued);
  EXPECT_EQ((*store_->history(newer_low)).back().cause, "preempted by job " + std::to_string(high) + " (priority 5)");
  EXPECT_EQ(job(low).state, kRunning);
  EXPECT_NE(job(high).reason.find("preempted lower-priority job " + std::to_string(newer_low)), std::string::npos)
      << job(high).reason;
  // Nothing more is preempted while the victim checkpoints (it is told again, alone).
  std::vector<RankReport> still = running(first);
  for (const KillOrder& k : beat("w", still).kill) EXPECT_EQ(k.job, newer_low);
  EXPECT_EQ(job(low).state, kRunning);
  // The victim exits 143 after its checkpoint: the high job starts in its slot; the victim
  // waits, uncounted, and an equal priority never preempts.
  for (RankReport& r : still)
    if (r.job == newer_low) r = {r.job, r.attempt, r.rank, false, 143, 0, "", ""};
  Orders after = beat("w", still);
  ASSERT_EQ(after.start.size(), 1u);
  EXPECT_EQ(after.start[0].job, high);
  EXPECT_EQ(job(newer_low).restarts, 0);
  EXPECT_EQ(job(newer_low).state, kQueued);
  EXPECT_EQ(job(same).state, kQueued);
  EXPECT_TRUE(beat("w", {running(first)[0], running(after)[0]}).kill.empty());
}

TEST_F(ClusterTest, PreemptionStopsOnlyJobsWhoseSlotsTheWaitingJobCanUse) {
  cluster_->register_worker("a", 4);
  cluster_->register_worker("b", 4);
  beat("a");
  beat("b");
  const int64_t low = submit(2, 0);  // on a: 2 of its slots
  Orders on_a = beat("a");
  ASSERT_EQ(on_a.start.size(), 2u);
  const int64_t mid = submit(4, 1);  // all of b
  Orders on_b = beat("b");
  ASSERT_EQ(on_b.start.size(), 4u);
  // 4 ranks, at most 2 per worker: a's 2 free slots serve, stopping `low` would add none.
  const int64_t high = submit(4, 5, 0, 0, 2);
  beat("a", running(on_a));
  beat("b", running(on_b));
  EXPECT_EQ(job(low).state, kRunning) << "preempted without making usable room";
  EXPECT_EQ(job(mid).state, kQueued);
  EXPECT_NE(job(high).reason.find("preempted lower-priority job " + std::to_string(mid) + ","), std::string::npos)
      << job(high).reason;
}

TEST_F(ClusterTest, AfterARestartAWorkersSlotsAreOfferedOnlyOnceItHasReportedItsRanks) {
  cluster_->register_worker("w", 1);
  beat("w");
  const int64_t first = submit(1);
  Orders o = beat("w");
  ASSERT_EQ(o.start.size(), 1u);
  const int64_t second = submit(1);
  // The coordinator restarts: a new cluster over the same store; the worker registers again.
  Cluster::Options options;
  options.runs_dir = path("runs");
  cluster_ = std::make_unique<Cluster>(*store_, options);
  cluster_->register_worker("w", 1);
  cluster_->tick();
  EXPECT_EQ(job(second).state, kQueued) << "placed on a slot the running rank still holds";
  Orders after = beat("w", running(o));  // its report adopts the running rank
  EXPECT_TRUE(after.start.empty());
  EXPECT_EQ(job(first).state, kRunning);
  EXPECT_EQ(job(second).state, kQueued);
  // A canceled running job's clock stops with it.
  ASSERT_TRUE(cluster_->cancel(first).ok());
  const int64_t ran = job(first).ran_ms;
  EXPECT_EQ(job(first).attempt_started_ms, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(job(first).run_ms(unix_ms()), ran);
}

TEST_F(ClusterTest, AJobPastItsRunTimeIsStoppedAndFails) {
  cluster_->register_worker("w", 1);
  const int64_t id = submit(1, 0, 0, 0.3);
  Orders o = beat("w");
  ASSERT_EQ(o.start.size(), 1u);
  EXPECT_EQ(job(id).state, kRunning);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  Orders stop = beat("w", running(o));
  ASSERT_EQ(stop.kill.size(), 1u);  // SIGTERM: its ranks checkpoint
  EXPECT_EQ(job(id).state, kFailed);
  EXPECT_NE((*store_->history(id)).back().cause.find("ran past resources.max_runtime_minutes"), std::string::npos);
  EXPECT_GE(job(id).ran_ms, 300);
  EXPECT_EQ(job(id).attempt_started_ms, 0);
}

}  // namespace
}  // namespace ty::coordinator
