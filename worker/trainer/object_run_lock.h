// The lock of a run directory on an object store (s3://bucket/prefix): a lease, since no
// kernel frees a dead holder's lock there.
//
//  1. GET PREFIX/.lock. A lock renewed within the lease (TRAINYARD_S3_LOCK_LEASE_S, default
//     60 s) is held: wait, showing the holder, until it is renewed no more (a crashed run
//     restarted at once on another host) or, still renewed after a lease, fail naming the
//     holder. A holder on this host whose process is gone is stale at once.
//  2. Take it: delete a stale lock, then create .lock holding a random token, the holder
//     (pid, host, attempt) and the time, with If-None-Match: * so that of two runs only one
//     creates it (a store without conditional writes, such as Swift's s3api, which answers
//     501, gets a plain PUT). Either way the lock is read back after half a second and must
//     still hold our token: two runs taking over one stale lock at once, or racing on such
//     a store within that half second, could otherwise both pass (documented in the README).
//  3. A thread renews the lease every third of it, checking the token first: a lock taken
//     over (our renewals failed for a whole lease) is logged, no longer renewed, and
//     run_lock_lost() turns true, which stops the trainer before its next save. Between
//     that read and the renewal's PUT another run could take the lock over; its own
//     read-back (step 2) or its next renewal then finds our token and it stops.
//  4. On release the lock is deleted if it still holds our token.
// Clocks: a lease's age is the store's Date minus the lock's Last-Modified, both by the
// store's clock (the time written in the lock against ours where the store gives neither).
// A holder is "dead here" only in this host's boot and pid namespace.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace ty {

// True once a lock of this process was taken over by another run (step 3).
bool run_lock_lost();

class ObjectRunLock {
 public:
  // `dir`: s3://bucket/prefix, a run directory, or with `checkpoints_only` a checkpoint.dir
  // (which holds step-N/ prefixes). Errors are the user's (exit class 2) unless the store is down.
  static absl::StatusOr<std::unique_ptr<ObjectRunLock>> acquire(const std::string& dir, int attempt,
                                                                bool checkpoints_only = false);
  ~ObjectRunLock();  // stops renewing, releases
  ObjectRunLock(const ObjectRunLock&) = delete;
  ObjectRunLock& operator=(const ObjectRunLock&) = delete;

  // After a start that failed before training: releases the lock, which leaves nothing of
  // this run in the store.
  void discard_if_unused();

 private:
  ObjectRunLock(std::string lock_path, std::string text, std::chrono::seconds lease);
  void renew_loop();
  void release();
  std::string lock_path_;
  std::string token_line_;  // "token T", the first line of the lock
  std::string holder_;
  std::chrono::seconds lease_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, released_ = false;
  std::thread renewer_;
};

}  // namespace ty
