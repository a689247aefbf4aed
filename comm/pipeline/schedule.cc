#include "comm/pipeline/schedule.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace ty::pipeline {
namespace {

// The actions around one forward or backward of micro-batch `mb` at stage `s` of `p`.
void forward(std::vector<Action>& out, int s, int p, int mb) {
  if (s > 0) out.push_back({ActionKind::kRecvActivation, mb});
  out.push_back({ActionKind::kForward, mb});
  if (s + 1 < p) out.push_back({ActionKind::kSendActivation, mb});
}

void backward(std::vector<Action>& out, int s, int p, int mb) {
  if (s + 1 < p) out.push_back({ActionKind::kRecvGradient, mb});
  out.push_back({ActionKind::kBackward, mb});
  if (s > 0) out.push_back({ActionKind::kSendGradient, mb});
}

}  // namespace

const char* name_of(ScheduleKind kind) { return kind == ScheduleKind::kGPipe ? "gpipe" : "1f1b"; }

std::string describe(const Action& a) {
  const char* what = "";
  switch (a.kind) {
    case ActionKind::kForward: what = "forward"; break;
    case ActionKind::kBackward: what = "backward"; break;
    case ActionKind::kSendActivation: what = "send activation"; break;
    case ActionKind::kRecvActivation: what = "receive activation"; break;
    case ActionKind::kSendGradient: what = "send gradient"; break;
    case ActionKind::kRecvGradient: what = "receive gradient"; break;
  }
  return absl::StrCat(what, " mb ", a.microbatch);
}

Schedule build_schedule(ScheduleKind kind, int stages, int microbatches) {
  stages = std::max(stages, 0);  // (validate() refuses an empty pipeline)
  Schedule out{kind, stages, microbatches, std::vector<std::vector<Action>>(static_cast<size_t>(stages))};
  for (int s = 0; s < stages; ++s) {
    std::vector<Action>& a = out.actions[static_cast<size_t>(s)];
    if (kind == ScheduleKind::kGPipe) {
      for (int mb = 0; mb < microbatches; ++mb) forward(a, s, stages, mb);
      for (int mb = 0; mb < microbatches; ++mb) backward(a, s, stages, mb);
      continue;
    }
    const int warm = std::min(stages - 1 - s, microbatches);
    for (int mb = 0; mb < warm; ++mb) forward(a, s, stages, mb);
    for (int i = 0; i < microbatches - warm; ++i) {
      // Steady state: the gradient of micro-batch i is posted for before the activation of
      // warm + i is sent, the order in which the next stage sends and receives them (each
      // rank's transfers run one at a time, in the order posted).
      const int mb = warm + i;
      if (s > 0) a.push_back({ActionKind::kRecvActivation, mb});
      a.push_back({ActionKind::kForward, mb});
      if (s + 1 < stages) {
        a.push_back({ActionKind::kRecvGradient, i});
        a.push_back({ActionKind::kSendActivation, mb});
      }
      a.push_back({ActionKind::kBackward, i});
      if (s > 0) a.push_back({ActionKind::kSendGradient, i});
    }
    for (int mb = microbatches - warm; mb < microbatches; ++mb) backward(a, s, stages, mb);
  }
  return out;
}

absl::Status validate(const Schedule& sc) {
  const int p = sc.stages, m = sc.microbatches;
  if (p < 1 || m < 1 || static_cast<int>(sc.actions.size()) != p)
    return absl::InvalidArgumentError(absl::StrCat("a schedule of ", p, " stages and ", m, " micro-batches has ",
                                                   sc.actions.size(), " action lists"));
  // (from stage, to stage, is gradient, micro-batch) → sends minus receives.
  std::map<std::tuple<int, int, bool, int>, int> pending;
  for (int s = 0; s < p; ++s) {
    std::vector<int> forwards(static_cast<size_t>(m)), backwards(static_cast<size_t>(m));
    // Per micro-batch, each transfer once and on the right side of its compute.
    std::vector<int> got_activation(static_cast<size_t>(m)), sent_activation(static_cast<size_t>(m)),
        got_gradient(static_cast<size_t>(m)), sent_gradient(static_cast<size_t>(m));
    auto bad = [&](const Action& a, const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrCat(name_of(sc.kind), " schedule, stage ", s, " of ", p, ": ", describe(a), ": ", why));
    };
    for (const Action& a : sc.actions[static_cast<size_t>(s)]) {
      if (a.microbatch < 0 || a.microbatch >= m) return bad(a, absl::StrCat("no such micro-batch (M = ", m, ")"));
      const size_t mb = static_cast<size_t>(a.microbatch);
      switch (a.kind) {
        case ActionKind::kForward:
          if (forwards[mb]++ > 0) return bad(a, "forwarded twice");
          if (s > 0 && got_activation[mb] == 0) return bad(a, "forward before its activation is received");
          break;
        case ActionKind::kBackward:
          if (forwards[mb] == 0) return bad(a, "backward before its forward");
          if (backwards[mb]++ > 0) return bad(a, "backwarded twice");
          if (s + 1 < p && got_gradient[mb] == 0) return bad(a, "backward before its gradient is received");
          break;
        case ActionKind::kSendActivation:
          if (s + 1 == p) return bad(a, "the last stage has no next stage");
          if (forwards[mb] == 0) return bad(a, "sent before its forward");
          if (sent_activation[mb]++ > 0) return bad(a, "sent twice");
          ++pending[{s, s + 1, false, a.microbatch}];
          break;
        case ActionKind::kRecvActivation:
          if (s == 0) return bad(a, "the first stage has no previous stage");
          if (got_activation[mb]++ > 0) return bad(a, "received twice");
          --pending[{s - 1, s, false, a.microbatch}];
          break;
        case ActionKind::kSendGradient:
          if (s == 0) return bad(a, "the first stage has no previous stage");
          if (backwards[mb] == 0) return bad(a, "sent before its backward");
          if (sent_gradient[mb]++ > 0) return bad(a, "sent twice");
          ++pending[{s, s - 1, true, a.microbatch}];
          break;
        case ActionKind::kRecvGradient:
          if (s + 1 == p) return bad(a, "the last stage has no next stage");
          if (got_gradient[mb]++ > 0) return bad(a, "received twice");
          --pending[{s + 1, s, true, a.microbatch}];
          break;
      }
    }
    for (size_t mb = 0; mb < static_cast<size_t>(m); ++mb) {
      const char* missing = forwards[mb] == 0                        ? "forwarded"
                            : backwards[mb] == 0                     ? "backwarded"
                            : s + 1 < p && sent_activation[mb] == 0  ? "sent on as an activation"
                            : s > 0 && sent_gradient[mb] == 0        ? "sent back as a gradient"
                                                                     : nullptr;
      if (missing != nullptr)
        return absl::InvalidArgumentError(absl::StrCat(name_of(sc.kind), " schedule, stage ", s, " of ", p,
                                                       ": micro-batch ", mb, " is never ", missing));
    }
  }
  for (const auto& [key, n] : pending) {
    if (n == 0) continue;
    const auto& [from, to, gradient, mb] = key;
    return absl::InvalidArgumentError(absl::StrCat(
        name_of(sc.kind), " schedule: the ", gradient ? "gradient" : "activation", " of mb ", mb, " from stage ", from,
        " to stage ", to, n > 0 ? " is sent and never received" : " is received and never sent",
        std::abs(n) > 1 ? absl::StrCat(" (", std::abs(n), " times)") : ""));
  }
  return absl::OkStatus();
}

}  // namespace ty::pipeline
