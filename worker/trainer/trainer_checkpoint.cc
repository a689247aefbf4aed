// The trainer's checkpoint side: what a checkpoint holds and how a run resumes from one.
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/weights_file.h"
#include "worker/trainer/fault_injection.h"
#include "worker/trainer/object_run_lock.h"
#include "worker/trainer/trainer.h"

namespace ty {

void Trainer::set_whole_model_facts(Model& whole) {
  whole_signature_.clear();
  for (auto& [name, t] : whole.state()) whole_signature_ += name + shape_str(t.shape()) + ";";
  whole_description_ = whole.describe();
  whole_params_ = whole.num_params();
}

namespace {
Tensor scalar(double v) {
  Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
  t.set(0, v);
  return t;
}

Tensor text_tensor(const std::string& s) {
  Tensor t = Tensor::empty(host_memory(), {static_cast<int64_t>(s.size())}, DType::kU8);
  std::memcpy(t.raw(), s.data(), s.size());
  return t;
}

std::string tensor_text(const Tensor& t) { return std::string(static_cast<const char*>(t.raw()), t.numel()); }

// The fields every checkpoint of this version holds; an older one without them is refused.
constexpr const char* kRequiredMeta[] = {"meta.model_signature", "meta.trajectory",         "meta.step",
                                         "meta.next_epoch",      "meta.next_step_in_epoch", "meta.global_batch",
                                         "meta.train_size",      "meta.steps_per_epoch"};

// "key=value" entries of a trajectory text that differ between `saved` and `now`.
std::string trajectory_changes(const std::string& saved, const std::string& now) {
  auto split = [](const std::string& text) {
    std::map<std::string, std::string> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find(';', start);
      if (end == std::string::npos) end = text.size();
      const std::string item = text.substr(start, end - start);
      const size_t eq = item.find('=');
      if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
      start = end + 1;
    }
    return out;
  };
  const auto a = split(saved), b = split(now);
  // Keys added later: a checkpoint written before them had their default.
  const std::map<std::string, std::string> defaults = {{"train.accumulate_steps", "1"}};
  std::string out;
  for (const auto& [key, value] : b) {
    auto it = a.find(key);
    auto d = defaults.find(key);
    const std::string was = it != a.end() ? it->second : d != defaults.end() ? d->second : "(absent)";
    if (was != value) absl::StrAppend(&out, out.empty() ? "" : ", ", key, " was ", was, ", is ", value);
  }
  return out;
}
}  // namespace

std::string Trainer::trajectory() const {
  return absl::StrCat("train.seed=", spec_.train.seed, ";data.normalize=", name_of(spec_.data.normalize),
                      ";data.remainder=", name_of(spec_.data.remainder), ";data.train_subset=", spec_.data.train_subset,
                      ";validation.fraction=", spec_.validation_fraction,
                      ";storage.shuffle_window_mb=", spec_.storage.shuffle_window_mb,
                      ";train.label_smoothing=", spec_.train.label_smoothing, ";train.loss=", name_of(spec_.train.loss),
                      ";optimizer.name=", name_of(spec_.optimizer.name),
                      ";train.accumulate_steps=", spec_.train.accumulate_steps,
                      gan() ? absl::StrCat(";train.d_steps=", spec_.train.d_steps, ";optimizer.generator.name=",
                                           name_of(spec_.generator_optimizer.name), ";optimizer.discriminator.name=",
                                           name_of(spec_.discriminator_optimizer.name))
                            : "");
}

void Trainer::checkpoint_state(Position next, NamedTensors& into) {
  const int64_t next_epoch = next.epoch, next_step_in_epoch = next.step_in_epoch;
  NamedTensors src = saved_state();
  for (auto& [name, t] : optimizer_->state()) src.emplace_back("optim." + name, t);
  if (d_optimizer_)  // a GAN's: its parameters' names keep its state apart
    for (auto& [name, t] : d_optimizer_->state()) src.emplace_back("optim." + name, t);
  src.emplace_back("meta.model_signature", text_tensor(whole_signature_));
  src.emplace_back("meta.trajectory", text_tensor(trajectory()));
  src.emplace_back("meta.step", scalar(static_cast<double>(step_)));
  src.emplace_back("meta.next_epoch", scalar(static_cast<double>(next_epoch)));
  src.emplace_back("meta.next_step_in_epoch", scalar(static_cast<double>(next_step_in_epoch)));
  if (scaler_) {
    src.emplace_back("meta.loss_scale", scalar(scaler_->scale()));
    src.emplace_back("meta.loss_scale_good_steps", scalar(static_cast<double>(scaler_->good_steps())));
  }
  // What the position means: resuming under other values would not continue the same run.
  src.emplace_back("meta.global_batch", scalar(static_cast<double>(spec_.data.batch_size)));
  src.emplace_back("meta.train_size", scalar(static_cast<double>(data_.train->size())));
  src.emplace_back("meta.steps_per_epoch", scalar(static_cast<double>(steps_per_epoch_)));
  // The record the position points at (streamed shards): a resume checks it is the same.
  src.emplace_back("meta.data_record",
                   scalar(static_cast<double>(source_->record_at(next_epoch, next_step_in_epoch * batches_per_step_))));
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

absl::Status Trainer::take_missing_state(const FoundCheckpoint& found, std::map<std::string, Tensor>& t) {
  // Tensors are keyed by global layer index ("3.w"): a checkpoint written by other
  // pipeline stages holds this rank's in other ranks' files.
  auto missing = [&] {
    for (auto& [name, tensor] : model_->state())
      if (!t.count(name)) return true;
    return false;
  };
  for (int r = 0; r < found.world && missing(); ++r) {
    TY_ASSIGN_OR_RETURN(auto other, load_checkpoint_rank(found, r));
    for (auto& [name, tensor] : other)
      if (name.rfind("meta.", 0) != 0) t.emplace(name, tensor);  // (keeps what is there)
  }
  return absl::OkStatus();
}

// Each file is read by one rank (VerifyShare): a file that rank finds corrupt sends every
// rank to an older step, since each round the ranks take the oldest step any of them found,
// at or below which all look again. The steps only go down, so the rounds end.
absl::StatusOr<FoundCheckpoint> Trainer::agreed_checkpoint(FILE* out) {
  const VerifyShare share{strategy_->rank(), strategy_->world()};
  int64_t at_most = std::numeric_limits<int64_t>::max();
  std::set<std::string> told;
  for (;;) {
    FoundCheckpoint found = find_latest_checkpoint(checkpoints_dir(), share, at_most);
    for (const std::string& why : found.skipped) {
      // The leader tells every reason; another rank what only it read (its share's CRCs).
      const bool tell = out != nullptr || why.find("CRC32C") != std::string::npos;
      if (told.insert(why).second && tell)
        std::fprintf(out ? out : stderr, "trainyard: skipping an incomplete or corrupt checkpoint: %s\n", why.c_str());
    }
    std::vector<double> v{found.error.ok() ? 0.0 : 1.0, static_cast<double>(found.step),
                          -static_cast<double>(found.step)};
    TY_RETURN_IF_ERROR(strategy_->max(v));
    // (A store that cannot be read: no guessing an older checkpoint or a fresh start.)
    if (!found.error.ok())
      return absl::Status(found.error.code(), absl::StrCat("looking for checkpoints: ", found.error.message()));
    if (v[0] != 0.0)
      return absl::UnavailableError("looking for checkpoints: another rank could not read them (its log says why)");
    if (v[1] == -v[2]) return found;
    if (out)
      std::fprintf(out, "trainyard: skipping checkpoints after step %ld: a rank file that another rank read failed "
                        "its check (that rank's log names it)\n",
                   static_cast<long>(-v[2]));
    at_most = static_cast<int64_t>(-v[2]);
  }
}

absl::StatusOr<Position> Trainer::resume(FILE* out) {
  TY_ASSIGN_OR_RETURN(const FoundCheckpoint found, agreed_checkpoint(out));
  if (found.step < 0) return Position{};
  TY_ASSIGN_OR_RETURN(auto t, load_checkpoint_rank(found, strategy_->rank()));
  for (const char* field : kRequiredMeta)
    if (!t.count(field))
      return absl::FailedPreconditionError(absl::StrCat(
          found.dir, ": has no ", field, " (written by an older trainyard, or damaged); train into a new --run-dir"));
  // Before masks were keyed (runtime/ops/ops.h, dropout), a rank drew them in sequence and
  // saved its place; from such a checkpoint the masks would not continue as they began.
  // (Refused in run(), where every rank agrees: a stage without dropout saved 0.)
  if (t.count("meta.dropout_offset") && t.at("meta.dropout_offset").at(0) != 0) sequential_dropout_ = found.dir;
  if (tensor_text(t.at("meta.model_signature")) != whole_signature_)
    return absl::FailedPreconditionError(
        absl::StrCat(found.dir,
                     " was written for a different model (its parameter names or shapes differ from model.* now); "
                     "train into a new --run-dir, or restore the model spec"));
  if (const std::string changed = trajectory_changes(tensor_text(t.at("meta.trajectory")), trajectory());
      !changed.empty())
    return absl::FailedPreconditionError(
        absl::StrCat(found.dir, ": this run's settings differ from the checkpoint's (", changed,
                     "); resuming would not continue the same run: restore them, or train into a new --run-dir"));
  TY_RETURN_IF_ERROR(take_missing_state(found, t));
  TY_RETURN_IF_ERROR(assign_weights(found.dir, t, model_->state()));
  std::map<std::string, Tensor> optim;
  for (auto& [name, tensor] : t)
    if (name.rfind("optim.", 0) == 0) optim[name.substr(6)] = tensor;
  absl::Status st = optimizer_->load_state(optim);
  if (st.ok() && d_optimizer_) st = d_optimizer_->load_state(optim);
  if (!st.ok()) return absl::FailedPreconditionError(absl::StrCat(found.dir, ": ", st.message()));
  auto meta = [&](const char* name) { return static_cast<int64_t>(t.at(name).at(0)); };
  for (const auto& [key, now] : {std::pair<const char*, int64_t>{"meta.global_batch", spec_.data.batch_size},
                                 {"meta.train_size", data_.train->size()},
                                 {"meta.steps_per_epoch", steps_per_epoch_}}) {
    if (meta(key) != now)
      return absl::FailedPreconditionError(absl::StrCat(
          found.dir, ": written with ", key + 5, " ", meta(key), ", this run has ", now,
          "; the data order would not continue (restore data.batch_size/data.train_subset, or use a new --run-dir)"));
  }
  const int64_t record_now =
      source_->record_at(meta("meta.next_epoch"), meta("meta.next_step_in_epoch") * batches_per_step_);
  if (t.count("meta.data_record") && meta("meta.data_record") >= 0 && record_now >= 0 &&
      meta("meta.data_record") != record_now)
    return absl::FailedPreconditionError(absl::StrCat(
        found.dir, ": its data position (epoch ", meta("meta.next_epoch"), ", step ", meta("meta.next_step_in_epoch"),
        ") pointed at record ", meta("meta.data_record"), " of the training shards; it points at record ", record_now,
        " now: the shards, train.seed or storage.shuffle_window_mb changed (restore them, or use a new --run-dir)"));
  step_ = meta("meta.step");
  if (scaler_ && t.count("meta.loss_scale") && t.count("meta.loss_scale_good_steps"))
    scaler_->restore(t.at("meta.loss_scale").at(0), meta("meta.loss_scale_good_steps"));
  if (out)
    std::fprintf(out, "trainyard: resuming from %s (step %ld%s)\n", found.dir.c_str(), static_cast<long>(step_),
                 found.world != strategy_->world() ? absl::StrCat(", written by ", found.world, " ranks").c_str() : "");
  return Position{meta("meta.next_epoch"), meta("meta.next_step_in_epoch")};
}

absl::StatusOr<uint64_t> Trainer::start_checkpointing() {
  if (leader()) remove_partial_checkpoints(checkpoints_dir());
  // Rank 0's random nonce for this launch (52 bits, exact in an f64; the others give 0, so
  // the maximum is rank 0's), and the resumed step as a range (max of step and of -step).
  // The reduction also orders rank 0's cleanup before any rank saves.
  std::vector<double> v{leader() ? static_cast<double>(std::random_device{}() & 0xFFFFFFFFu) * 1048576.0 +
                                       (std::random_device{}() & 0xFFFFF)
                                 : 0.0,
                        static_cast<double>(step_), -static_cast<double>(step_)};
  TY_RETURN_IF_ERROR(strategy_->max(v));
  if (v[1] != -v[2])
    return absl::FailedPreconditionError(absl::StrCat("ranks resumed from different checkpoints (steps ", -v[2], " to ",
                                                      v[1],
                                                      "); is the run directory on storage all ranks "
                                                      "see alike?"));
  return static_cast<uint64_t>(v[0]);
}

absl::Status Trainer::save_checkpoint(Position next, MetricsLog* log) {
  if (run_lock_lost())
    return absl::FailedPreconditionError(
        "the lock of this run's directory (or checkpoint.dir) on the object store was taken over by another run "
        "while this one could not renew it; stopping without saving (see the log above)");
  const auto t0 = std::chrono::steady_clock::now();
  saved_step_ = step_;
  absl::Status previous = saver_->wait();  // the previous save is done with snapshot_
  checkpoint_state(next, snapshot_);
  int64_t bytes = 0;
  for (const auto& [name, t] : snapshot_) bytes += static_cast<int64_t>(t.nbytes());
  if (previous.ok()) previous = saver_->save(step_, snapshot_);
  if (previous.ok() && fault_injection_armed()) previous = saver_->wait();  // (tests: fault_injection.h)
  const auto t1 = std::chrono::steady_clock::now();
  if (log) log->checkpoint(step_, std::chrono::duration<double>(t1 - t0).count(), bytes);
  if (log && previous.ok()) previous = log->sync();  // (an object store's metrics.jsonl, uploaded whole)
  ++saves_;
  saved_bytes_ += bytes;
  return previous;
}

}  // namespace ty
