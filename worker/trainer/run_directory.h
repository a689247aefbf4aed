// The run directory of a training job (metrics.jsonl, job.yaml, weights.bin, checkpoints/):
// checked, created, and locked by rank 0 from before data loading until the process exits,
// so that two runs can never write into one directory. The lock is flock(2) on
// RUN_DIR/.lock: the kernel frees it when the holder dies, so a job restarted on another
// host is never blocked by a dead one. The file names the holder (pid, host, attempt).
// A run directory on an object store (s3://bucket/prefix) is locked by a lease instead
// (object_run_lock.h); nothing of it is written locally.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "worker/trainer/object_run_lock.h"

namespace ty {

// RUN_DIR/.arrivals: the ranks' notes on collective timeouts (run_arrivals.h).
inline constexpr char kArrivalsName[] = ".arrivals";

class RunDirectory {
 public:
  // Refuses "/", a path component over 255 bytes, and a non-empty directory that is not a
  // trainyard run directory (no .lock or job.yaml); creates the directory; takes the lock
  // (a holder is an error naming its pid, host and attempt); checks that checkpoints/ can
  // be written. Every error is the user's (exit class 2).
  static absl::StatusOr<std::unique_ptr<RunDirectory>> open_and_lock(const std::string& path, int attempt = 0);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // After a start that failed before training: removes the directory again when this run
  // created it and left nothing in it but the lock.
  void discard_if_unused();

 private:
  RunDirectory(std::string path, int fd, bool created) : path_(std::move(path)), fd_(fd), created_(created) {}
  std::string path_;
  int fd_;
  bool created_;
  std::unique_ptr<ObjectRunLock> object_lock_;  // s3:// run directories
};

// runs/NAME-YYYYmmdd-HHMMSS-XXXXXX: the start time (UTC) and 24 random bits, so that jobs
// started in the same second do not collide.
std::string default_run_dir(const std::string& name, std::time_t now, uint32_t random24);

}  // namespace ty
