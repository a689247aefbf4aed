#include "comm/op_queue.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ty {

struct OpQueue::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  absl::Status status;
  double run_seconds = 0;
  Clock::time_point start, deadline;
  std::string what;  // "allreduce on world (rank 1 of 4)"
};

class OpQueue::Handle final : public CommHandle {
 public:
  Handle(OpQueue* queue, std::shared_ptr<State> s, std::shared_ptr<std::atomic<bool>> timed_out)
      : queue_(queue), s_(std::move(s)), timed_out_(std::move(timed_out)) {}
  absl::Status wait() override {
    queue_->try_run_inline(s_.get());
    std::unique_lock<std::mutex> lock(s_->mu);
    // Grace beyond the deadline: the queue thread reports timeouts of polling ops itself.
    if (!s_->cv.wait_until(lock, s_->deadline + std::chrono::milliseconds(200), [&] { return s_->done; })) {
      const double secs = std::chrono::duration<double>(Clock::now() - s_->start).count();
      timed_out_->store(true);
      return absl::DeadlineExceededError(absl::StrCat(s_->what, " did not complete after ", secs,
                                                      " s (comm.timeout_s); a peer rank is gone or stuck"));
    }
    return s_->status;
  }
  double run_seconds() const override {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->run_seconds;
  }
  bool test(absl::Status* status) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->done && status) *status = s_->status;
    return s_->done;
  }

 private:
  OpQueue* queue_;
  std::shared_ptr<State> s_;
  std::shared_ptr<std::atomic<bool>> timed_out_;
};

OpQueue::OpQueue(std::string describe_rank, std::chrono::milliseconds timeout)
    : rank_(std::move(describe_rank)), timeout_(timeout), thread_([this] { loop(); }) {}

OpQueue::~OpQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

CommHandlePtr OpQueue::submit(std::string op_name, Step step) {
  return enqueue(Op{std::move(op_name), std::move(step), nullptr, false});
}

absl::Status OpQueue::run_now(std::string op_name, Step step) {
  Op op{std::move(op_name), std::move(step), nullptr, false};
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (running_ || !ops_.empty()) {
      lock.unlock();
      return enqueue(std::move(op))->wait();
    }
    op.state = make_state(op.name);
    running_ = true;
    inline_op_ = op.state;
  }
  execute(op);
  finish_inline();
  std::lock_guard<std::mutex> lock(op.state->mu);
  return op.state->status;
}

void OpQueue::finish_inline() {
  // Notify under the lock: once running_ is false a stopping queue thread may exit and the
  // queue be destroyed, so cv_ must not be touched after the lock is released.
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
  inline_op_.reset();
  if (watching_ || !ops_.empty() || stop_) cv_.notify_all();
}

std::shared_ptr<OpQueue::State> OpQueue::make_state(const std::string& name) const {
  auto state = std::make_shared<State>();
  state->start = Clock::now();
  state->deadline = state->start + timeout_;
  state->what = absl::StrCat(name, " on ", rank_);
  return state;
}

CommHandlePtr OpQueue::enqueue(Op op) {
  auto state = make_state(op.name);
  op.state = state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back(std::move(op));
  }
  cv_.notify_all();
  return std::make_unique<Handle>(this, state, waiter_timed_out_);
}

void OpQueue::run_on_thread(std::function<void()> fn) {
  auto h = enqueue(Op{"setup",
                      [fn = std::move(fn)](Clock::time_point) {
                        fn();
                        return absl::OkStatus();
                      },
                      nullptr, true});
  // Not bounded by the timeout: MPI_Init may legitimately wait for slow peers.
  while (!h->test(nullptr)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool OpQueue::broken() {
  std::lock_guard<std::mutex> lock(mu_);
  return !broken_.ok() || waiter_timed_out_->load();
}

bool OpQueue::try_run_inline(const void* state) {
  Op op;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ || ops_.empty() || ops_.front().state.get() != state || ops_.front().always) return false;
    op = std::move(ops_.front());
    ops_.pop_front();
    running_ = true;
    inline_op_ = op.state;
  }
  execute(op);
  finish_inline();
  return true;
}

void OpQueue::loop() {
  for (;;) {
    Op op;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (inline_op_) {  // watch the caller's op until it ends or overstays
          std::shared_ptr<State> watched = inline_op_;
          watching_ = true;
          // The same grace as Handle::wait: an op that reports its own timeout wins.
          const bool ended = cv_.wait_until(lock, watched->deadline + std::chrono::milliseconds(200),
                                            [&] { return inline_op_ != watched; });
          watching_ = false;
          if (!ended) {
            const double secs = std::chrono::duration<double>(Clock::now() - watched->start).count();
            const std::string msg = absl::StrCat(watched->what, " did not complete after ", secs,
                                                 " s (comm.timeout_s); a peer rank is gone or stuck");
            waiter_timed_out_->store(true);
            if (on_stuck_) {
              lock.unlock();
              on_stuck_(msg);
              lock.lock();
            }
            watching_ = true;
            cv_.wait(lock, [&] { return inline_op_ != watched; });
            watching_ = false;
          }
          continue;
        }
        if (!running_ && !ops_.empty()) break;
        if (stop_ && !running_) return;
        // Timed: an op run inline by its caller (run_now) does not wake this thread; the
        // next tick finds it and starts the watch.
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
      op = std::move(ops_.front());
      ops_.pop_front();
      running_ = true;
    }
    execute(op);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;
    }
    cv_.notify_all();
  }
}

void OpQueue::execute(Op& op) {
  absl::Status st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    st = op.always ? absl::OkStatus() : broken_;
    if (st.ok() && !op.always && waiter_timed_out_->load())
      st = absl::AbortedError(absl::StrCat(op.state->what, " not run: an earlier operation of this group timed out"));
  }
  const auto began = Clock::now();
  if (st.ok()) {
    int polls = 0;
    for (;;) {
      if (std::optional<absl::Status> done = op.step(op.state->deadline)) {
        st = std::move(*done);
        break;
      }
      if (Clock::now() > op.state->deadline) {
        const double secs = std::chrono::duration<double>(Clock::now() - op.state->start).count();
        st = absl::DeadlineExceededError(absl::StrCat(op.state->what, " did not complete after ", secs,
                                                      " s (comm.timeout_s); a peer rank is gone or stuck"));
        break;
      }
      // Keep polling cheap for the ranks' compute threads: spin briefly, then nap.
      if (++polls > 64)
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      else
        std::this_thread::yield();
    }
    if (!st.ok() && !absl::StrContains(st.message(), op.state->what)) {
      const double secs = std::chrono::duration<double>(Clock::now() - op.state->start).count();
      st = absl::Status(st.code(), absl::StrCat(op.state->what, " failed after ", secs, " s: ", st.message()));
    }
    if (!st.ok() && !op.always) {
      std::lock_guard<std::mutex> lock(mu_);
      broken_ = st;
    }
  }
  {
    std::lock_guard<std::mutex> lock(op.state->mu);
    op.state->done = true;
    op.state->status = st;
    op.state->run_seconds = std::chrono::duration<double>(Clock::now() - began).count();
  }
  op.state->cv.notify_all();
}

}  // namespace ty
