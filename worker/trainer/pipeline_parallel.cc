#include "worker/trainer/pipeline_parallel.h"

#include <algorithm>
#include <chrono>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "worker/trainer/fault_injection.h"

namespace ty {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

using pipeline::Action;
using pipeline::ActionKind;

// Tags: each tensor of each micro-batch's activation and gradient its own (pairs of ranks
// deliver same-tag messages in order, so the wrap-around is harmless).
constexpr int kPartsPerTransfer = kMaxStageTensors;
int tag_of(int microbatch, bool gradient, size_t part) {
  return static_cast<int>(
      ((static_cast<int64_t>(microbatch) * 2 + (gradient ? 1 : 0)) * kPartsPerTransfer + static_cast<int64_t>(part)) %
      Communicator::kMaxTag);
}

Shape with_rows(int64_t rows, const Shape& sample) {
  Shape s{rows};
  s.insert(s.end(), sample.begin(), sample.end());
  return s;
}

}  // namespace

// What one micro-batch holds on this stage between its forward and its backward.
struct PipelineParallel::MicroBatch {
  Tape tape;
  Vars inputs, outputs;
  Var loss;                      // last stage
  std::vector<Tensor> received;  // activations in (stage > 0), or gradients of the outputs
  std::vector<Tensor> sent;      // gradients of the inputs, kept until their sends complete
  std::vector<CommHandlePtr> receiving, sending;
};

absl::StatusOr<std::unique_ptr<PipelineParallel>> PipelineParallel::create(
    Communicator& world, int stages, pipeline::ScheduleKind kind, std::vector<Shape> inputs, std::vector<Shape> outputs,
    size_t bucket_bytes, const OpenDevice& device) {
  if (stages < 1 || world.size() % stages != 0)
    return absl::InvalidArgumentError(absl::StrCat("parallel.pipeline.stages: ", stages, " does not divide the ",
                                                   world.size(),
                                                   " ranks of this job (ranks = data replicas × stages)"));
  PipelineLayout l{stages, world.size() / stages, world.rank() % stages, world.rank() / stages};
  TY_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> stage_group, world.split(l.replica, l.stage));
  TY_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> replica_group, world.split(l.stage, l.replica));
  std::unique_ptr<Communicator> device_stage, device_replica;
  if (device) {
    TY_ASSIGN_OR_RETURN(device_stage, device(*stage_group));
    if (l.replicas > 1) {
      TY_ASSIGN_OR_RETURN(device_replica, device(*replica_group));
    }
  }
  if (l.replicas == 1) replica_group.reset();
  return std::unique_ptr<PipelineParallel>(
      new PipelineParallel(world, l, kind, std::move(stage_group), std::move(replica_group), std::move(device_stage),
                           std::move(device_replica), std::move(inputs), std::move(outputs), bucket_bytes));
}

PipelineParallel::PipelineParallel(Communicator& world, PipelineLayout layout, pipeline::ScheduleKind kind,
                                   std::unique_ptr<Communicator> stage_group,
                                   std::unique_ptr<Communicator> replica_group,
                                   std::unique_ptr<Communicator> device_stage_group,
                                   std::unique_ptr<Communicator> device_replica_group, std::vector<Shape> inputs,
                                   std::vector<Shape> outputs, size_t bucket_bytes)
    : world_(world),
      layout_(layout),
      kind_(kind),
      stage_group_(std::move(stage_group)),
      replica_group_(std::move(replica_group)),
      device_stage_group_(std::move(device_stage_group)),
      replicas_(replica_group_.get(), std::move(device_replica_group), bucket_bytes),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)) {}

PipelineParallel::~PipelineParallel() = default;

absl::StatusOr<const pipeline::Schedule*> PipelineParallel::schedule_for(int m) {
  auto it = schedules_.find(m);
  if (it == schedules_.end()) {
    pipeline::Schedule sc = pipeline::build_schedule(kind_, layout_.stages, m);
    TY_RETURN_IF_ERROR(pipeline::validate(sc));
    it = schedules_.emplace(m, std::move(sc)).first;
  }
  return &it->second;
}

void PipelineParallel::post_receives(Context& ctx, const std::vector<Shape>& shapes, int64_t rows, int peer, int tag,
                                     std::vector<Tensor>& into, std::vector<CommHandlePtr>& handles) {
  into.clear();
  for (size_t i = 0; i < shapes.size(); ++i) {
    into.push_back(ctx.empty(with_rows(rows, shapes[i])));
    handles.push_back(transfers().recv(into.back(), peer, tag + static_cast<int>(i)));
  }
}

absl::Status PipelineParallel::wait(std::vector<CommHandlePtr>& handles, const Action& action) {
  absl::Status first;
  for (CommHandlePtr& h : handles)
    if (absl::Status st = h->wait(); !st.ok() && first.ok()) first = st;
  handles.clear();
  return failed(first, action);
}

absl::Status PipelineParallel::failed(const absl::Status& first, const Action& action) const {
  if (first.ok()) return first;
  const bool from_next = action.kind == ActionKind::kRecvGradient || action.kind == ActionKind::kSendActivation ||
                         action.kind == ActionKind::kBackward;
  return absl::Status(
      first.code(), absl::StrCat("pipeline stage ", layout_.stage, " of ", layout_.stages, " (replica ",
                                 layout_.replica, ", rank ", rank(), "): ", pipeline::describe(action), " with stage ",
                                 from_next ? layout_.stage + 1 : layout_.stage - 1, ": ", first.message()));
}

void PipelineParallel::release_sent_gradients(std::vector<MicroBatch>& mbs, SentGradients& sent) {
  for (size_t k = 0; k < sent.returning.size();) {
    const int i = sent.returning[k];
    MicroBatch& mb = mbs[static_cast<size_t>(i)];
    for (size_t h = 0; h < mb.sending.size();) {
      absl::Status st;
      if (!mb.sending[h]->test(&st)) {
        ++h;
        continue;
      }
      if (!st.ok() && sent.failure.ok()) sent.failure = failed(st, Action{ActionKind::kSendGradient, i});
      mb.sending.erase(mb.sending.begin() + static_cast<std::ptrdiff_t>(h));  // (ended: not waited on again)
    }
    if (!mb.sending.empty()) {
      ++k;
      continue;
    }
    for (const Tensor& t : mb.sent) sent.bytes -= static_cast<double>(t.nbytes());
    mb.sent.clear();
    sent.returning.erase(sent.returning.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

absl::StatusOr<Tensor> PipelineParallel::forward_backward(Context& ctx, Model& model, Task& task,
                                                          std::vector<Batch>& batches, double scale) {
  const auto t0 = Clock::now();
  const int m = static_cast<int>(batches.size());
  TY_ASSIGN_OR_RETURN(const pipeline::Schedule* sc, schedule_for(m));
  // (Rows counted up front: a batch is dropped once its stage is done with it.)
  std::vector<int64_t> mb_rows;
  int64_t rows = 0;
  for (const Batch& b : batches) {
    mb_rows.push_back(b.rows());
    rows += b.rows();
  }
  const int prev = layout_.stage - 1, next = layout_.stage + 1;
  std::vector<MicroBatch> mbs(static_cast<size_t>(m));
  Tensor loss_value;  // last stage: the mean loss over the step's samples
  double busy = 0;
  // What the micro-batches hold: the Context's memory in use after each action, over what
  // it was before the first (parameters, gradients and optimizer state stay put), less the
  // gradients still on their way to the previous stage.
  const Allocator& memory = *ctx.allocator();
  SentGradients sent;
  const double held_before = static_cast<double>(memory.bytes_in_use());
  for (const Action& a : sc->actions[static_cast<size_t>(layout_.stage)]) {
    release_sent_gradients(mbs, sent);
    absl::Cleanup held = [&] {
      if (steps_ == 0) return;  // (the first step also allocates the parameters' gradients)
      activation_bytes_ =
          std::max(activation_bytes_, static_cast<double>(memory.bytes_in_use()) - held_before - sent.bytes);
    };
    MicroBatch& mb = mbs[static_cast<size_t>(a.microbatch)];
    Batch& batch = batches[static_cast<size_t>(a.microbatch)];
    switch (a.kind) {
      case ActionKind::kRecvActivation:
        post_receives(ctx, inputs_, mb_rows[static_cast<size_t>(a.microbatch)], prev, tag_of(a.microbatch, false, 0),
                      mb.received, mb.receiving);
        break;
      case ActionKind::kForward: {
        maybe_stop_mid_step(rank(), a.microbatch);
        TY_RETURN_IF_ERROR(wait(mb.receiving, a));
        const auto c0 = Clock::now();
        if (layout_.stage == 0 || layout_.last()) to_device(ctx, batch);
        if (layout_.stage == 0) {
          mb.inputs = task.inputs(batch);
        } else {
          for (Tensor& t : mb.received) mb.inputs.emplace_back(t, /*requires_grad=*/true);
          mb.received.clear();
        }
        TapeScope record(ctx, &mb.tape);
        ctx.dropout_key().first_sample = static_cast<uint64_t>(batch.first_sample());
        mb.outputs = model.apply(ctx, mb.inputs);
        if (layout_.last()) {
          mb.loss = task.loss_of(ctx, mb.outputs, batch);
          const double weight = static_cast<double>(mb_rows[static_cast<size_t>(a.microbatch)]) / rows;
          if (m == 1) {
            loss_value = mb.loss.value();
          } else {
            if (!loss_value.defined()) {
              loss_value = mb.loss.value().empty_like();
              loss_value.zero();
            }
            ctx.kernels(loss_value.dtype())
                .pointwise()
                .axpby(static_cast<float>(weight), mb.loss.value(), 1.0f, loss_value);
          }
        }
        if (layout_.stage == 0) batch = Batch();  // the first stage is done with its inputs
        busy += since(c0);
        break;
      }
      case ActionKind::kSendActivation:
        for (size_t i = 0; i < mb.outputs.size(); ++i)
          mb.sending.push_back(transfers().send(mb.outputs[i].value(), next, tag_of(a.microbatch, false, i)));
        break;
      case ActionKind::kRecvGradient: {
        post_receives(ctx, outputs_, mb_rows[static_cast<size_t>(a.microbatch)], next, tag_of(a.microbatch, true, 0),
                      mb.received, mb.receiving);
        break;
      }
      case ActionKind::kBackward: {
        TY_RETURN_IF_ERROR(wait(mb.receiving, a));
        // The activations' sends completed before their gradients could come back.
        TY_RETURN_IF_ERROR(wait(mb.sending, a));
        const auto c0 = Clock::now();
        // The step's last backward completes the gradients, which replicas share then.
        if (a.microbatch + 1 == m)
          replicas_.begin_backward();
        else
          replicas_.begin_local_backward();
        if (layout_.last()) {
          mb.tape.backward(mb.loss, scale * static_cast<double>(mb_rows[static_cast<size_t>(a.microbatch)]) / rows);
          mb.loss = Var();
        } else {
          mb.tape.backward(mb.outputs, mb.received);
          mb.received.clear();
        }
        mb.outputs.clear();
        if (layout_.stage == 0) mb.inputs.clear();
        batch = Batch();
        busy += since(c0);
        break;
      }
      case ActionKind::kSendGradient:
        for (size_t i = 0; i < mb.inputs.size(); ++i) {
          Tensor g = mb.inputs[i].grad();
          if (!g.defined()) {  // an input the stage's layers do not differentiate through
            g = ctx.zeros(mb.inputs[i].shape(), mb.inputs[i].value().dtype());
          }
          mb.sent.push_back(g);
          sent.bytes += static_cast<double>(g.nbytes());
          mb.sending.push_back(transfers().send(g, prev, tag_of(a.microbatch, true, i)));
        }
        sent.returning.push_back(a.microbatch);
        mb.inputs.clear();  // (the gradients stay in `sent`; the activations go)
        break;
    }
  }
  for (size_t i = 0; i < mbs.size(); ++i)
    TY_RETURN_IF_ERROR(
        wait(mbs[i].sending,
             Action{layout_.stage > 0 ? ActionKind::kSendGradient : ActionKind::kSendActivation, static_cast<int>(i)}));
  TY_RETURN_IF_ERROR(sent.failure);
  busy_s_ += busy;
  step_s_ += since(t0);
  ++steps_;
  return loss_value;
}

absl::Status PipelineParallel::measure(Context& ctx, Model& model, Task& task, Batch& batch, MetricsAccumulator& m) {
  // Forward only, one batch at a time down the stages (tags of micro-batch 0).
  const int64_t rows = batch.rows();
  Vars inputs;
  if (layout_.stage == 0) {
    to_device(ctx, batch);
    inputs = task.inputs(batch);
  } else {
    std::vector<Tensor> received;
    std::vector<CommHandlePtr> handles;
    post_receives(ctx, inputs_, rows, layout_.stage - 1, tag_of(0, false, 0), received, handles);
    TY_RETURN_IF_ERROR(wait(handles, Action{ActionKind::kRecvActivation, 0}));
    for (Tensor& t : received) inputs.emplace_back(t);
  }
  Vars outputs = model.apply(ctx, inputs);
  if (layout_.last()) {
    to_device(ctx, batch);
    task.measure_outputs(ctx, outputs, batch, m);
    return absl::OkStatus();
  }
  std::vector<CommHandlePtr> handles;
  for (size_t i = 0; i < outputs.size(); ++i)
    handles.push_back(transfers().send(outputs[i].value(), layout_.stage + 1, tag_of(0, false, i)));
  return wait(handles, Action{ActionKind::kSendActivation, 0});
}

absl::Status PipelineParallel::sum(std::vector<double>& values) {
  return allreduce_values(world_, values, ReduceOp::kSum);
}
absl::Status PipelineParallel::max(std::vector<double>& values) {
  return allreduce_values(world_, values, ReduceOp::kMax);
}

absl::Status PipelineParallel::sum_over_model(std::vector<double>& values) {
  return allreduce_values(*stage_group_, values, ReduceOp::kSum);
}

absl::StatusOr<std::optional<PipelineFigures>> PipelineParallel::take_pipeline_figures() {
  // One step time for all ranks, as the simulator has it: the last stage's steps end
  // (P - 1) backwards before the first stage's, and it waits for them after its own.
  std::vector<double> step{step_s_}, busy{busy_s_};
  std::vector<double> held(static_cast<size_t>(layout_.stages), 0.0);
  held[static_cast<size_t>(layout_.stage)] = activation_bytes_;
  busy_s_ = step_s_ = activation_bytes_ = 0;
  step.insert(step.end(), held.begin(), held.end());  // (the most over each stage's replicas)
  TY_RETURN_IF_ERROR(max(step));
  TY_RETURN_IF_ERROR(sum(busy));
  PipelineFigures f;
  f.activation_bytes.assign(step.begin() + 1, step.end());
  if (step[0] > 0) f.bubble_fraction = std::max(0.0, 1.0 - busy[0] / world() / step[0]);
  return std::optional<PipelineFigures>(std::move(f));
}

std::string PipelineParallel::describe() const {
  return absl::StrCat(", pipeline of ", layout_.stages, " stages × ", layout_.replicas, " data replica",
                      layout_.replicas == 1 ? "" : "s", " (", pipeline::name_of(kind_), ")",
                      layout_.replicas > 1 ? replicas_.describe() : absl::StrCat(", ", stage_group_->describe()));
}

}  // namespace ty
