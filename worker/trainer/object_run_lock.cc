#include "worker/trainer/object_run_lock.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/object_path.h"
#include "storage/s3/s3_client.h"

namespace ty {
namespace {

constexpr char kLockName[] = ".lock";

std::chrono::seconds lease_from_env() {
  int s = 60;
  const char* v = std::getenv("TRAINYARD_S3_LOCK_LEASE_S");
  if (v != nullptr && absl::SimpleAtoi(v, &s) && s >= 1) return std::chrono::seconds(s);
  return std::chrono::seconds(60);
}

std::atomic<bool> lock_lost{false};

struct LockText {
  std::string token;
  std::string holder;
  int64_t renewed = 0;  // unix seconds
  std::string host;     // where the holder's pid means something: hostname, boot, pid namespace
  int64_t pid = 0;
};

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// This host, this boot and this pid namespace: a pid is only comparable within all three
// (containers may share a hostname but not their processes).
std::string hostname() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return host;
}

std::string this_host() {
  char ns[128] = "";
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  return absl::StrCat(hostname(), " boot ", first_line("/proc/sys/kernel/random/boot_id"), " ",
                      n > 0 ? std::string(ns, static_cast<size_t>(n)) : "pid:[?]");
}

// A holder in this host's pid namespace whose process is gone: its lock is stale whatever
// its lease says.
bool holder_is_dead_here(const LockText& t) {
  return t.pid > 0 && t.host == this_host() && ::kill(static_cast<pid_t>(t.pid), 0) != 0 && errno == ESRCH;
}

// "token T\nholder H\nrenewed S\nhost N\npid P\n"
LockText parse(const std::string& text) {
  LockText t;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.rfind("token ", 0) == 0) t.token = line.substr(6);
    if (line.rfind("holder ", 0) == 0) t.holder = line.substr(7);
    if (line.rfind("renewed ", 0) == 0) (void)absl::SimpleAtoi(line.substr(8), &t.renewed);
    if (line.rfind("host ", 0) == 0) t.host = line.substr(5);
    if (line.rfind("pid ", 0) == 0) (void)absl::SimpleAtoi(line.substr(4), &t.pid);
    at = end + 1;
  }
  return t;
}

std::string text_of(const std::string& token, const std::string& holder) {
  return absl::StrCat("token ", token, "\nholder ", holder, "\nrenewed ", std::time(nullptr), "\nhost ", this_host(),
                      "\npid ", getpid(), "\n");
}

absl::Status user_error(const std::string& dir, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("run directory ", dir, ": ", what));
}

}  // namespace

bool run_lock_lost() { return lock_lost.load(); }

ObjectRunLock::ObjectRunLock(std::string lock_path, std::string text, std::chrono::seconds lease)
    : lock_path_(std::move(lock_path)), lease_(lease) {
  const LockText t = parse(text);
  token_line_ = t.token;
  holder_ = t.holder;
  renewer_ = std::thread([this] { renew_loop(); });
}

absl::StatusOr<std::unique_ptr<ObjectRunLock>> ObjectRunLock::acquire(const std::string& dir, int attempt,
                                                                      bool checkpoints_only) {
  TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(dir));
  if (url.key.empty() || url.key == "/")
    return user_error(dir, "is a whole bucket; name a prefix for this run (s3://bucket/runs/NAME)");
  const std::string lock_path = join_path(dir, kLockName);
  const std::chrono::seconds lease = lease_from_env();
  // Not someone else's data: a non-empty prefix must be a run directory of ours.
  TY_ASSIGN_OR_RETURN(std::vector<ListedPath> listed, list_tree(dir));
  bool ours = listed.empty();
  for (const ListedPath& p : listed)
    ours = ours || p.path == lock_path || p.path == join_path(dir, "job.yaml") ||
           (checkpoints_only && p.path.rfind(join_path(dir, "step-"), 0) == 0);
  if (!ours)
    return user_error(dir, checkpoints_only ? "holds objects and is not a trainyard checkpoint directory (no .lock or "
                                              "step-N/); name a new prefix for checkpoint.dir"
                                            : "holds objects and is not a trainyard run directory (no .lock or "
                                              "job.yaml); name a new prefix");

  TY_ASSIGN_OR_RETURN(S3Url lock_url, parse_s3_url(lock_path));
  TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
  // 1. A live holder: wait for its lease to run out, at most one lease.
  const auto give_up = std::chrono::steady_clock::now() + lease + std::chrono::seconds(2);
  for (;;) {
    absl::StatusOr<std::string> held = read_whole(lock_path);
    if (!held.ok() && !absl::IsNotFound(held.status())) return held.status();
    if (!held.ok()) break;
    const LockText t = parse(*held);
    // The lease's age by the store's clock (Last-Modified against its Date) where it gives
    // both; by ours against the holder's otherwise.
    auto info = client->head(lock_url);
    // (Last-Modified is in whole seconds, rounded up by some stores: never below 0.)
    const int64_t age = std::max<int64_t>(0, info.ok() && info->modified > 0 && info->store_time > 0
                                                 ? info->store_time - info->modified
                                                 : std::time(nullptr) - t.renewed);
    if (age > lease.count() || holder_is_dead_here(t)) {  // stale: its holder stopped renewing, or died here
      std::fprintf(stderr, "trainyard: %s: taking over the lock of %s (%s)\n", dir.c_str(), t.holder.c_str(),
                   age > lease.count() ? absl::StrCat("not renewed for ", age, " s").c_str()
                                       : "no such process on this host");
      TY_RETURN_IF_ERROR(remove_path(lock_path));
      break;
    }
    if (std::chrono::steady_clock::now() > give_up)
      return absl::AlreadyExistsError(absl::StrCat("run directory ", dir, " is in use by ", t.holder,
                                                   " (its lock renewed ", age,
                                                   " s ago); wait for that run, stop it, or name another --run-dir"));
    std::fprintf(stderr, "trainyard: %s: locked by %s (renewed %ld s ago); waiting up to %ld s for its lease to end\n",
                 dir.c_str(), t.holder.c_str(), static_cast<long>(age), static_cast<long>(lease.count() - age + 1));
    std::this_thread::sleep_for(std::chrono::seconds(std::max<int64_t>(1, std::min<int64_t>(5, lease.count() - age + 1))));
  }

  // 2. Create it with our token.
  std::mt19937_64 rng(std::random_device{}());
  const std::string token = absl::StrFormat("%016x", rng());
  const std::string holder = absl::StrFormat("pid %d on host %s (attempt %d)", getpid(), hostname(), attempt);
  const std::string text = text_of(token, holder);
  absl::Status created = client->put(lock_url, text, /*if_absent=*/true);
  if (absl::IsUnimplemented(created)) created = client->put(lock_url, text);  // no conditional writes
  // (AlreadyExists may also answer a retried create whose first attempt stored ours.)
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  // Read back after a moment: another run taking over a stale lock at the same time may
  // have deleted or replaced ours.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  TY_ASSIGN_OR_RETURN(std::string back, read_whole(lock_path));
  if (parse(back).token != token)
    return absl::AlreadyExistsError(absl::StrCat("run directory ", dir, " is in use by ", parse(back).holder,
                                                 "; wait for that run, stop it, or name another --run-dir"));
  return std::unique_ptr<ObjectRunLock>(new ObjectRunLock(lock_path, text, lease));
}

void ObjectRunLock::renew_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  // A third of the lease, in milliseconds (in whole seconds a lease under 3 s would renew in a
  // busy loop, and a renewal's read-then-write would overwrite a takeover almost surely).
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(lease_) / 3;
  while (!cv_.wait_for(lock, period, [&] { return stop_; })) {
    lock.unlock();
    absl::StatusOr<std::string> held = read_whole(lock_path_);
    bool lost = held.ok() && parse(*held).token != token_line_;
    if (!lost && !(held.ok() || absl::IsNotFound(held.status()))) {
      LOG(WARNING) << lock_path_ << ": cannot renew the run's lock: " << held.status().message();
    } else if (lost) {
      LOG(ERROR) << lock_path_ << ": the run's lock was taken over by " << parse(*held).holder
                 << " (renewals failed for a whole lease); this run no longer holds its directory and stops "
                    "before its next save";
      lock_lost = true;
      lock.lock();
      return;
    } else if (absl::Status st = write_whole(lock_path_, text_of(token_line_, holder_)); !st.ok()) {
      LOG(WARNING) << lock_path_ << ": cannot renew the run's lock: " << st.message();
    }
    lock.lock();
  }
}

void ObjectRunLock::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (released_) return;
    released_ = stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  absl::StatusOr<std::string> held = read_whole(lock_path_);
  if (held.ok() && parse(*held).token == token_line_) (void)remove_path(lock_path_);
}

void ObjectRunLock::discard_if_unused() { release(); }  // (nothing else was written before training)

ObjectRunLock::~ObjectRunLock() { release(); }

}  // namespace ty
