#include "coordinator/job_store.h"

#include <sqlite3.h>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty::coordinator {
namespace {

using JobStoreTest = TempDirTest;

TEST_F(JobStoreTest, JobsAndTheirHistorySurviveReopeningAndIdsAreNeverReused) {
  int64_t a = 0, b = 0;
  {
    auto store = JobStore::open(path("state.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    auto id = (*store)->submit({"mlp", "model: {kind: mlp}\n", {"train.epochs=1", "data.batch_size=64"}, 2, 5},
                               "needs 2 slots, 0 free");
    ASSERT_TRUE(id.ok()) << id.status();
    a = *id;
    b = *(*store)->submit({"cnn", "x: 1\n", {}, 1, 0}, "");
    EXPECT_GT(b, a);
    ASSERT_TRUE((*store)->transition(a, kRunning, "placed on w1").ok());
  }
  auto store = JobStore::open(path("state.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto job = (*store)->get(a);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->job.name, "mlp");
  EXPECT_EQ((*job)->job.overrides, (std::vector<std::string>{"train.epochs=1", "data.batch_size=64"}));
  EXPECT_EQ((*job)->job.ranks, 2);
  EXPECT_EQ((*job)->job.priority, 5);
  EXPECT_EQ((*job)->state, kRunning);
  auto history = (*store)->history(a);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].state, kQueued);
  EXPECT_EQ((*history)[1].cause, "placed on w1");
  auto listed = (*store)->list(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, b);  // newest first
  // The newest job deleted by hand would not free its id: AUTOINCREMENT.
  auto c = (*store)->submit({"c", "", {}, 1, 0}, "");
  ASSERT_TRUE(c.ok());
  EXPECT_GT(*c, b);
  EXPECT_FALSE((*store)->get(9999)->has_value());
}

TEST_F(JobStoreTest, AnEndedJobMovesNoMore) {
  auto store = JobStore::open(path("state.db"));
  ASSERT_TRUE(store.ok());
  const int64_t id = *(*store)->submit({"j", "", {}, 1, 0}, "");
  ASSERT_TRUE((*store)->transition(id, kCanceled, "by a user").ok());
  absl::Status again = (*store)->transition(id, kRunning, "placed");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("been canceled"), std::string::npos) << again;
  EXPECT_EQ((*store)->transition(12345, kRunning, "x").code(), absl::StatusCode::kNotFound);
}

TEST_F(JobStoreTest, ADatabaseOfTheFirstReleaseGainsTheNewColumns) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path("old.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, spec TEXT NOT "
                         "NULL, overrides TEXT NOT NULL, ranks INTEGER NOT NULL, priority INTEGER NOT NULL, state TEXT "
                         "NOT NULL, reason TEXT NOT NULL, submitted_ms INTEGER NOT NULL, attempt INTEGER NOT NULL "
                         "DEFAULT 0, restarts INTEGER NOT NULL DEFAULT 0);"
                         "INSERT INTO jobs(name, spec, overrides, ranks, priority, state, reason, submitted_ms) "
                         "VALUES('old', 'x: 1', '', 2, 0, 'queued', '', 1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = JobStore::open(path("old.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto job = (*store)->get(1);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(job->has_value());
  EXPECT_EQ((*job)->job.name, "old");
  EXPECT_EQ((*job)->job.max_restarts, 3);
  EXPECT_EQ((*job)->job.gpus_per_rank, 0);
  EXPECT_TRUE((*store)->submit({"new", "x: 2", {}, 1, 0}, "").ok());
}

TEST_F(JobStoreTest, ADatabaseThatCannotBeOpenedIsNamed) {
  auto store = JobStore::open(path("missing-dir/state.db"));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("missing-dir/state.db"), std::string::npos) << store.status();
}

}  // namespace
}  // namespace ty::coordinator
