#include "worker/trainer/checkpoint_saver.h"

namespace ty {

CheckpointSaver::CheckpointSaver(std::string run_dir, int rank, int world, int keep,
                                 std::chrono::milliseconds wait_for_ranks, uint64_t run_nonce)
    : run_dir_(std::move(run_dir)),
      rank_(rank),
      world_(world),
      keep_(keep),
      wait_for_ranks_(wait_for_ranks),
      run_nonce_(run_nonce),
      thread_([this] { loop(); }) {}

absl::Status CheckpointSaver::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

CheckpointSaver::~CheckpointSaver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

absl::Status CheckpointSaver::save(int64_t step, NamedTensors snapshot) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_ && !pending_; });
  absl::Status previous = last_;
  pending_.emplace(step, std::move(snapshot));
  cv_.notify_all();
  return previous;
}

absl::Status CheckpointSaver::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_ && !pending_; });
  return last_;
}

void CheckpointSaver::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
    if (!pending_) return;
    auto job = std::move(*pending_);
    pending_.reset();
    busy_ = true;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    absl::Status st = write_checkpoint(run_dir_, job.first, rank_, world_, job.second, wait_for_ranks_, run_nonce_);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (st.ok() && rank_ == 0) prune_checkpoints(run_dir_, keep_);
    lock.lock();
    seconds_writing_ += secs;
    if (!st.ok() && last_.ok()) last_ = st;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace ty
