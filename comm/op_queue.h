// OpQueue: runs a communicator's operations in submission order on one background thread,
// so collectives progress while the caller computes (gradient buckets overlap backward).
// A handle's wait() is bounded by the communicator's timeout; an operation that polls
// (`Op::step`) is abandoned at the same deadline.
//
// Protocol:
//  1. submit(op) stamps a deadline (now + timeout), queues the op, returns its handle.
//  2. The thread takes ops in order and calls op.step(deadline) until it reports done
//     (a status) — backends poll their transport inside step() and return again() (no
//     status yet) to be called again.
//  3. The op's status is published to its handle; wait() returns it, or — when the op
//     has not finished by its deadline, even if it is stuck in a blocking call — a
//     DeadlineExceeded naming the operation, group, rank and elapsed time.
//  4. After a failure every later op fails at once with the first error (the group is
//     broken: collectives cannot resynchronize).
//  5. A caller that waits for an op that is first in line while the queue thread is idle
//     runs it itself instead of waking that thread (saves two thread hand-offs on
//     synchronous calls). Ops still run one at a time and in submission order, so a
//     backend needs only serialized thread support. Meanwhile the queue thread watches the
//     op's deadline and reports a stuck one through on_stuck. Handles must not outlive
//     their queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "comm/communicator.h"

namespace ty {

class OpQueue {
 public:
  using Clock = std::chrono::steady_clock;
  // Returns the op's status when it is done (OK or an error), or nothing (again()) when it
  // is still in progress and wants to be called again.
  using Step = std::function<std::optional<absl::Status>(Clock::time_point deadline)>;

  OpQueue(std::string describe_rank, std::chrono::milliseconds timeout);
  ~OpQueue();

  CommHandlePtr submit(std::string op_name, Step step);
  // Runs the op on the calling thread when the queue is empty and idle (else submits it
  // and waits); the queue thread watches its deadline on its next tick (<= 100 ms).
  absl::Status run_now(std::string op_name, Step step);
  // Runs `fn` on the queue's thread after the ops before it, even when the queue is broken
  // (MPI wants init, every call and finalize on one thread). Blocks until it ran.
  void run_on_thread(std::function<void()> fn);
  // Whether an operation has failed or a wait() timed out (the group is broken). After a
  // timeout the queue thread may be stuck in a blocking call that never returns.
  bool broken();

  // Runs the op of `state` on the calling thread if it is first in line and nothing is
  // running (step 5); returns whether it did.
  bool try_run_inline(const void* state);
  // (optional) Called on the queue thread when an op running inline passes its deadline
  // (its caller is stuck in a blocking call and cannot report it); MPI aborts the job.
  void set_on_stuck(std::function<void(const std::string& message)> fn) { on_stuck_ = std::move(fn); }

  static std::optional<absl::Status> again() { return std::nullopt; }

 private:
  struct State;
  struct Op {
    std::string name;
    Step step;
    std::shared_ptr<State> state;
    bool always = false;  // runs even after a failure
  };
  CommHandlePtr enqueue(Op op);
  std::shared_ptr<State> make_state(const std::string& name) const;
  class Handle;
  void loop();
  void execute(Op& op);
  // After an inline op: clears it and wakes the queue thread only if something needs it
  // (queued ops, or it is watching), so synchronous calls cost no context switches.
  void finish_inline();

  std::string rank_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> ops_;
  bool stop_ = false;
  bool running_ = false;              // an op is executing (on the queue thread or inline)
  std::shared_ptr<State> inline_op_;  // the op running inline, watched by the queue thread
  bool watching_ = false;             // the queue thread waits on inline_op_'s deadline
  std::function<void(const std::string&)> on_stuck_;
  absl::Status broken_;
  std::shared_ptr<std::atomic<bool>> waiter_timed_out_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
};

}  // namespace ty
