#include "coordinator/job_store.h"

#include <sqlite3.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ty::coordinator {
namespace {

// A prepared statement, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Statement() { sqlite3_finalize(st_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  absl::Status prepared() const {
    return rc_ == SQLITE_OK ? absl::OkStatus() : absl::InternalError(absl::StrCat("sqlite: ", sqlite3_errmsg(db_)));
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW or SQLITE_DONE; anything else is an error.
  absl::StatusOr<bool> step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return absl::UnavailableError(absl::StrCat("sqlite: ", sqlite3_errmsg(db_)));
  }
  Statement& bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_real(int i, double v) {
    sqlite3_bind_double(st_, i, v);
    return *this;
  }
  int64_t integer(int col) const { return sqlite3_column_int64(st_, col); }
  double real(int col) const { return sqlite3_column_double(st_, col); }
  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  std::string blob(int col) const {
    const void* p = sqlite3_column_blob(st_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  overrides TEXT NOT NULL,
  ranks INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  ranks_per_worker INTEGER NOT NULL DEFAULT 0,
  max_restarts INTEGER NOT NULL DEFAULT 3,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  submitted_ms INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  restarts INTEGER NOT NULL DEFAULT 0,
  gpus_per_rank INTEGER NOT NULL DEFAULT 0,
  max_runtime_s REAL NOT NULL DEFAULT 0,
  ran_ms INTEGER NOT NULL DEFAULT 0,
  attempt_started_ms INTEGER NOT NULL DEFAULT 0,
  pipeline_stages INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE TABLE IF NOT EXISTS transitions(
  job INTEGER NOT NULL REFERENCES jobs(id),
  at_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  cause TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS transitions_by_job ON transitions(job);
CREATE TABLE IF NOT EXISTS rendezvous(
  job INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY(job, attempt, key));
)sql";

constexpr const char* kColumns =
    "id, name, spec, overrides, ranks, priority, state, reason, submitted_ms, attempt, restarts, ranks_per_worker, "
    "max_restarts, gpus_per_rank, max_runtime_s, ran_ms, attempt_started_ms, pipeline_stages";

// Columns added after the first release, for databases made before them.
constexpr std::pair<const char*, const char*> kAddedColumns[] = {
    {"ranks_per_worker", "INTEGER NOT NULL DEFAULT 0"}, {"max_restarts", "INTEGER NOT NULL DEFAULT 3"},
    {"gpus_per_rank", "INTEGER NOT NULL DEFAULT 0"},    {"max_runtime_s", "REAL NOT NULL DEFAULT 0"},
    {"ran_ms", "INTEGER NOT NULL DEFAULT 0"},           {"attempt_started_ms", "INTEGER NOT NULL DEFAULT 0"},
    {"pipeline_stages", "INTEGER NOT NULL DEFAULT 1"},
};

JobRecord record_of(const Statement& s) {
  JobRecord r;
  r.id = s.integer(0);
  r.job.name = s.text(1);
  r.job.spec = s.text(2);
  const std::string overrides = s.text(3);
  if (!overrides.empty()) r.job.overrides = absl::StrSplit(overrides, '\n');
  r.job.ranks = static_cast<int>(s.integer(4));
  r.job.priority = static_cast<int>(s.integer(5));
  r.state = s.text(6);
  r.reason = s.text(7);
  r.submitted_ms = s.integer(8);
  r.attempt = static_cast<int>(s.integer(9));
  r.restarts = static_cast<int>(s.integer(10));
  r.job.ranks_per_worker = static_cast<int>(s.integer(11));
  r.job.max_restarts = static_cast<int>(s.integer(12));
  r.job.gpus_per_rank = static_cast<int>(s.integer(13));
  r.job.max_runtime_s = s.real(14);
  r.ran_ms = s.integer(15);
  r.attempt_started_ms = s.integer(16);
  r.job.pipeline_stages = static_cast<int>(s.integer(17));
  return r;
}

}  // namespace

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::vector<JobRecord>> JobStore::select_jobs(const std::string& where, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_, absl::StrCat("SELECT ", kColumns, " FROM jobs ", where, " LIMIT ?").c_str());
  if (absl::Status st = q.prepared(); !st.ok()) return st;
  q.bind(1, limit);
  std::vector<JobRecord> out;
  for (;;) {
    absl::StatusOr<bool> row = q.step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(record_of(q));
  }
}

bool is_final_state(const std::string& state) { return state == kSucceeded || state == kFailed || state == kCanceled; }

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot open the coordinator's database: ", why));
  }
  std::unique_ptr<JobStore> store(new JobStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"})
    if (absl::Status st = store->exec(pragma); !st.ok()) return st;
  // CREATE TABLE IF NOT EXISTS leaves an older table as it was: its missing columns are added.
  for (const auto& [column, type] : kAddedColumns) {
    Statement q(db, "SELECT 1 FROM pragma_table_info('jobs') WHERE name = ?");
    if (absl::Status st = q.prepared(); !st.ok()) return st;
    absl::StatusOr<bool> has = q.bind(1, std::string(column)).step();
    if (!has.ok()) return has.status();
    Statement any(db, "SELECT 1 FROM sqlite_master WHERE name = 'jobs'");
    absl::StatusOr<bool> table = any.step();
    if (!table.ok()) return table.status();
    if (*table && !*has)
      if (absl::Status st = store->exec(absl::StrCat("ALTER TABLE jobs ADD COLUMN ", column, " ", type)); !st.ok())
        return absl::FailedPreconditionError(absl::StrCat(path, ": ", st.message()));
  }
  if (absl::Status st = store->exec(kSchema); !st.ok())
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", st.message()));
  return store;
}

JobStore::~JobStore() { sqlite3_close(db_); }

absl::Status JobStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return absl::UnavailableError(absl::StrCat("sqlite: ", why));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> JobStore::submit(const NewJob& job, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  const int64_t at = unix_ms();
  Statement ins(db_,
                "INSERT INTO jobs(name, spec, overrides, ranks, priority, state, reason, submitted_ms, "
                "ranks_per_worker, max_restarts, gpus_per_rank, max_runtime_s, pipeline_stages) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  absl::Status st = ins.prepared();
  if (st.ok()) {
    ins.bind(1, job.name)
        .bind(2, job.spec)
        .bind(3, absl::StrJoin(job.overrides, "\n"))
        .bind(4, int64_t{job.ranks})
        .bind(5, int64_t{job.priority})
        .bind(6, std::string(kQueued))
        .bind(7, reason)
        .bind(8, at)
        .bind(9, int64_t{job.ranks_per_worker})
        .bind(10, int64_t{job.max_restarts})
        .bind(11, int64_t{job.gpus_per_rank})
        .bind_real(12, job.max_runtime_s)
        .bind(13, int64_t{job.pipeline_stages});
    st = ins.step().status();
  }
  const int64_t id = sqlite3_last_insert_rowid(db_);
  if (st.ok()) {
    Statement tr(db_, "INSERT INTO transitions(job, at_ms, state, cause) VALUES(?, ?, ?, ?)");
    st = tr.prepared();
    if (st.ok())
      st = tr.bind(1, id).bind(2, at).bind(3, std::string(kQueued)).bind(4, std::string("submitted")).step().status();
  }
  if (!st.ok()) {
    exec("ROLLBACK").IgnoreError();
    return st;
  }
  if (absl::Status c = exec("COMMIT"); !c.ok()) return c;
  return id;
}

absl::StatusOr<std::vector<JobRecord>> JobStore::list(int limit) { return select_jobs("ORDER BY id DESC", limit); }

absl::StatusOr<std::optional<JobRecord>> JobStore::get(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_, absl::StrCat("SELECT ", kColumns, " FROM jobs WHERE id = ?").c_str());
  if (absl::Status st = q.prepared(); !st.ok()) return st;
  q.bind(1, id);
  absl::StatusOr<bool> row = q.step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<JobRecord>();
  return std::optional<JobRecord>(record_of(q));
}

absl::StatusOr<std::vector<Transition>> JobStore::history(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_, "SELECT at_ms, state, cause FROM transitions WHERE job = ? ORDER BY rowid");
  if (absl::Status st = q.prepared(); !st.ok()) return st;
  q.bind(1, id);
  std::vector<Transition> out;
  for (;;) {
    absl::StatusOr<bool> row = q.step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({q.integer(0), q.text(1), q.text(2)});
  }
}

absl::Status JobStore::transition(int64_t id, const std::string& state, const std::string& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  auto fail = [&](absl::Status st) {
    exec("ROLLBACK").IgnoreError();
    return st;
  };
  Statement q(db_, "SELECT state FROM jobs WHERE id = ?");
  if (absl::Status st = q.prepared(); !st.ok()) return fail(st);
  absl::StatusOr<bool> row = q.bind(1, id).step();
  if (!row.ok()) return fail(row.status());
  if (!*row) return fail(absl::NotFoundError(absl::StrCat("job ", id, ": no such job")));
  const std::string from = q.text(0);
  if (is_final_state(from))
    return fail(absl::FailedPreconditionError(absl::StrCat("job ", id, " has already ",
                                                           from == kSucceeded ? "succeeded"
                                                           : from == kFailed  ? "failed"
                                                                              : "been canceled")));
  const int64_t at = unix_ms();
  Statement up(db_, "UPDATE jobs SET state = ?, reason = '' WHERE id = ?");
  Statement tr(db_, "INSERT INTO transitions(job, at_ms, state, cause) VALUES(?, ?, ?, ?)");
  for (Statement* s : {&up, &tr})
    if (absl::Status st = s->prepared(); !st.ok()) return fail(st);
  if (absl::Status st = up.bind(1, state).bind(2, id).step().status(); !st.ok()) return fail(st);
  if (from == kRunning && state != kRunning) {  // its attempt's time counts, whatever ended it
    Statement clock(db_,
                    "UPDATE jobs SET ran_ms = ran_ms + MAX(0, ? - attempt_started_ms), attempt_started_ms = 0 "
                    "WHERE id = ? AND attempt_started_ms > 0");
    if (absl::Status st = clock.prepared(); !st.ok()) return fail(st);
    if (absl::Status st = clock.bind(1, at).bind(2, id).step().status(); !st.ok()) return fail(st);
  }
  if (absl::Status st = tr.bind(1, id).bind(2, at).bind(3, state).bind(4, cause).step().status(); !st.ok())
    return fail(st);
  return exec("COMMIT");
}

absl::Status JobStore::set_reason(int64_t id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement up(db_, "UPDATE jobs SET reason = ? WHERE id = ?");
  if (absl::Status st = up.prepared(); !st.ok()) return st;
  return up.bind(1, reason).bind(2, id).step().status();
}

absl::Status JobStore::set_attempt(int64_t id, int attempt, int restarts) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement up(db_, "UPDATE jobs SET attempt = ?, restarts = ? WHERE id = ?");
  if (absl::Status st = up.prepared(); !st.ok()) return st;
  return up.bind(1, int64_t{attempt}).bind(2, int64_t{restarts}).bind(3, id).step().status();
}

absl::Status JobStore::start_attempt(int64_t id, int attempt, int restarts) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement up(db_, "UPDATE jobs SET attempt = ?, restarts = ?, attempt_started_ms = ? WHERE id = ?");
  if (absl::Status st = up.prepared(); !st.ok()) return st;
  return up.bind(1, int64_t{attempt}).bind(2, int64_t{restarts}).bind(3, unix_ms()).bind(4, id).step().status();
}

absl::Status JobStore::stop_clock(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement up(db_,
               "UPDATE jobs SET ran_ms = ran_ms + MAX(0, ? - attempt_started_ms), attempt_started_ms = 0 "
               "WHERE id = ? AND attempt_started_ms > 0");
  if (absl::Status st = up.prepared(); !st.ok()) return st;
  return up.bind(1, unix_ms()).bind(2, id).step().status();
}

absl::StatusOr<std::vector<JobRecord>> JobStore::waiting() {
  return select_jobs("WHERE state IN ('queued', 'restarting') ORDER BY priority DESC, id ASC", -1);
}

absl::StatusOr<std::vector<JobRecord>> JobStore::running() {
  return select_jobs("WHERE state = 'running' ORDER BY id", -1);
}

absl::Status JobStore::put_key(const RendezvousKey& k) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement up(db_, "INSERT OR REPLACE INTO rendezvous(job, attempt, key, value) VALUES(?, ?, ?, ?)");
  if (absl::Status st = up.prepared(); !st.ok()) return st;
  return up.bind(1, k.job).bind(2, int64_t{k.attempt}).bind(3, k.key).bind_blob(4, k.value).step().status();
}

absl::StatusOr<std::vector<RendezvousKey>> JobStore::live_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = exec("DELETE FROM rendezvous WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = "
                             "rendezvous.job AND jobs.attempt = rendezvous.attempt AND jobs.state = 'running')");
      !st.ok())
    return st;
  Statement q(db_, "SELECT job, attempt, key, value FROM rendezvous");
  if (absl::Status st = q.prepared(); !st.ok()) return st;
  std::vector<RendezvousKey> out;
  for (;;) {
    absl::StatusOr<bool> row = q.step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({q.integer(0), static_cast<int>(q.integer(1)), q.text(2), q.blob(3)});
  }
}

absl::Status JobStore::drop_keys(int64_t job, int attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement del(db_, "DELETE FROM rendezvous WHERE job = ? AND attempt = ?");
  if (absl::Status st = del.prepared(); !st.ok()) return st;
  return del.bind(1, job).bind(2, int64_t{attempt}).step().status();
}

}  // namespace ty::coordinator
