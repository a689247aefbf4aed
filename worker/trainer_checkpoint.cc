// The trainer's checkpoint side: what a checkpoint holds and how a run resumes from one.
#include <cstring>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/weights_file.h"
#include "worker/trainer.h"

namespace ty {

std::string Trainer::model_signature() {
  std::string sig;
  for (auto& [name, t] : model_->state()) sig += name + shape_str(t.shape()) + ";";
  return sig;
}

namespace {
Tensor scalar(double v) {
  Tensor t = Tensor::empty({1}, DType::kF64);
  t.set(0, v);
  return t;
}
}  // namespace

void Trainer::checkpoint_state(int64_t next_epoch, int64_t next_step_in_epoch, NamedTensors& into) {
  NamedTensors src = saved_state();
  for (auto& [name, t] : optimizer_->state()) src.emplace_back("optim." + name, t);
  const std::string sig = model_signature();
  Tensor sig_t = Tensor::empty({static_cast<int64_t>(sig.size())}, DType::kU8);
  std::memcpy(sig_t.raw(), sig.data(), sig.size());
  src.emplace_back("meta.model_signature", sig_t);
  src.emplace_back("meta.step", scalar(static_cast<double>(step_)));
  src.emplace_back("meta.next_epoch", scalar(static_cast<double>(next_epoch)));
  src.emplace_back("meta.next_step_in_epoch", scalar(static_cast<double>(next_step_in_epoch)));
  src.emplace_back("meta.dropout_offset", scalar(static_cast<double>(ctx_->dropout_rng().offset())));
  if (scaler_) {
    src.emplace_back("meta.loss_scale", scalar(scaler_->scale()));
    src.emplace_back("meta.loss_scale_good_steps", scalar(static_cast<double>(scaler_->good_steps())));
  }
  // What the position means: resuming under other values would not continue the same run.
  src.emplace_back("meta.global_batch", scalar(static_cast<double>(spec_.data.batch_size)));
  src.emplace_back("meta.train_size", scalar(static_cast<double>(data_.train->size())));
  src.emplace_back("meta.steps_per_epoch", scalar(static_cast<double>(steps_per_epoch_)));
  // The record the position points at (streamed shards): a resume checks it is the same.
  src.emplace_back("meta.data_record", scalar(static_cast<double>(source_->record_at(next_epoch, next_step_in_epoch))));
  into.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    Tensor& dst = into[i].second;
    const Tensor& from = src[i].second;
    if (into[i].first == src[i].first && dst.defined() && dst.shape() == from.shape() && dst.dtype() == from.dtype() &&
        dst.layout() == from.layout()) {
      dst.copy_from(from);
    } else {
      into[i] = {src[i].first, from.on_host() ? from.clone() : from.host()};
    }
  }
}

absl::StatusOr<std::pair<int64_t, int64_t>> Trainer::resume(FILE* out) {
  const FoundCheckpoint found = find_latest_checkpoint(run_dir_);
  for (const std::string& why : found.skipped)
    if (out) std::fprintf(out, "trainyard: skipping an incomplete or corrupt checkpoint: %s\n", why.c_str());
  if (found.step < 0) return std::make_pair(int64_t{0}, int64_t{0});
  TY_ASSIGN_OR_RETURN(auto t, load_checkpoint_rank(found, rank()));
  auto sig = t.find("meta.model_signature");
  const std::string want = model_signature();
  if (sig == t.end() || std::string(static_cast<const char*>(sig->second.raw()), sig->second.numel()) != want)
    return absl::FailedPreconditionError(absl::StrCat(
        found.dir, " was written for a different model (its parameter names or shapes differ from model.* now); "
        "train into a new --run-dir, or restore the model spec"));
  TY_RETURN_IF_ERROR(assign_weights(found.dir, t, model_->state()));
  std::map<std::string, Tensor> optim;
  for (auto& [name, tensor] : t)
    if (name.rfind("optim.", 0) == 0) optim[name.substr(6)] = tensor;
  absl::Status st = optimizer_->load_state(optim);
  if (!st.ok()) return absl::FailedPreconditionError(absl::StrCat(found.dir, ": ", st.message()));
  auto meta = [&](const char* name) { return static_cast<int64_t>(t.at(name).at(0)); };
  for (const auto& [key, now] : {std::pair<const char*, int64_t>{"meta.global_batch", spec_.data.batch_size},
                                 {"meta.train_size", data_.train->size()},
                                 {"meta.steps_per_epoch", steps_per_epoch_}}) {
    if (t.count(key) && meta(key) != now)
      return absl::FailedPreconditionError(absl::StrCat(
          found.dir, ": written with ", key + 5, " ", meta(key), ", this run has ", now,
          "; the data order would not continue (restore data.batch_size/data.train_subset, or use a new --run-dir)"));
  }
  const int64_t record_now = source_->record_at(meta("meta.next_epoch"), meta("meta.next_step_in_epoch"));
  if (t.count("meta.data_record") && meta("meta.data_record") >= 0 && record_now >= 0 &&
      meta("meta.data_record") != record_now)
    return absl::FailedPreconditionError(absl::StrCat(
        found.dir, ": its data position (epoch ", meta("meta.next_epoch"), ", step ", meta("meta.next_step_in_epoch"),
        ") pointed at record ", meta("meta.data_record"), " of the training shards; it points at record ", record_now,
        " now: the shards, train.seed or storage.shuffle_window_mb changed (restore them, or use a new --run-dir)"));
  step_ = meta("meta.step");
  ctx_->dropout_rng().set_offset(static_cast<uint64_t>(meta("meta.dropout_offset")));
  if (scaler_ && t.count("meta.loss_scale") && t.count("meta.loss_scale_good_steps"))
    scaler_->restore(t.at("meta.loss_scale").at(0), meta("meta.loss_scale_good_steps"));
  if (out)
    std::fprintf(out, "trainyard: resuming from %s (step %ld%s)\n", found.dir.c_str(), static_cast<long>(step_),
                 found.world != world() ? absl::StrCat(", written by ", found.world, " ranks").c_str() : "");
  return std::make_pair(meta("meta.next_epoch"), meta("meta.next_step_in_epoch"));
}

absl::StatusOr<uint64_t> Trainer::start_checkpointing() {
  if (leader()) remove_partial_checkpoints(run_dir_);
  // Rank 0's random nonce for this launch, 52 bits so that it travels exactly as an f64.
  Tensor v = Tensor::empty({3}, DType::kF64);
  v.set(0, static_cast<double>(std::random_device{}() & 0xFFFFFFFFu) * 1048576.0 + (std::random_device{}() & 0xFFFFF));
  v.set(1, static_cast<double>(step_));
  v.set(2, -static_cast<double>(step_));
  if (comm_) {
    TY_RETURN_IF_ERROR(comm_->broadcast(v.rows(0, 1), 0)->wait());  // also orders the partial cleanup
    Tensor range = v.rows(1, 2);
    TY_RETURN_IF_ERROR(comm_->allreduce_now(range, ReduceOp::kMax));
    if (v.at(1) != -v.at(2))
      return absl::FailedPreconditionError(absl::StrCat(
          "ranks resumed from different checkpoints (steps ", -v.at(2), " to ", v.at(1),
          "); is the run directory on storage all ranks see alike?"));
  }
  return static_cast<uint64_t>(v.at(0));
}

}  // namespace ty
