#include "comm/pipeline/simulator.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/status.h"

namespace ty::pipeline {
namespace {

bool is_transfer(const Action& a) { return a.kind != ActionKind::kForward && a.kind != ActionKind::kBackward; }

// Whether the queue heads `a` (on stage s) and `b` (on stage s + 1) are the two ends of one
// message.
bool ends_of_one_message(const Action& a, const Action& b) {
  if (a.microbatch != b.microbatch) return false;
  return (a.kind == ActionKind::kSendActivation && b.kind == ActionKind::kRecvActivation) ||
         (a.kind == ActionKind::kRecvGradient && b.kind == ActionKind::kSendGradient);
}

struct Posted {
  Action action;
  double at;  // when the stage's list reached it
};

}  // namespace

absl::StatusOr<Simulation> simulate(const Schedule& sc, const std::vector<double>& forward,
                                    const std::vector<double>& backward, double transfer) {
  TY_RETURN_IF_ERROR(validate(sc));  // (also: at least one stage, each message sent once)
  const size_t p = static_cast<size_t>(sc.stages);
  if (forward.size() != p || backward.size() != p || sc.actions.size() != p)
    return absl::InvalidArgumentError(absl::StrCat("simulate: ", p, " stages, but ", forward.size(), " forward and ",
                                                   backward.size(), " backward times"));
  Simulation out;
  out.busy.assign(p, 0);
  out.peak_live.assign(p, 0);
  std::vector<double> clock(p, 0);        // when the stage's compute is next free
  std::vector<double> queue_free(p, 0);   // when its transfer queue is next free
  std::vector<size_t> next(p, 0);
  std::vector<int> live(p, 0);
  std::vector<std::deque<Posted>> queue(p);
  // Per stage: (is gradient, micro-batch) → when its receive completed.
  std::vector<std::map<std::pair<bool, int>, double>> received(p);
  for (;;) {
    bool progress = false;
    // Each stage walks its list: transfers are posted to its queue without waiting, a
    // compute waits for the receive it needs.
    for (size_t s = 0; s < p; ++s) {
      const std::vector<Action>& list = sc.actions[s];
      for (; next[s] < list.size(); ++next[s]) {
        const Action& a = list[next[s]];
        if (is_transfer(a)) {
          queue[s].push_back({a, clock[s]});
        } else {
          const bool fwd = a.kind == ActionKind::kForward;
          const bool needs = fwd ? s > 0 : s + 1 < p;
          double ready = clock[s];
          if (needs) {
            auto it = received[s].find({!fwd, a.microbatch});
            if (it == received[s].end()) break;  // waits for its neighbour
            ready = std::max(ready, it->second);
          }
          const double t = fwd ? forward[s] : backward[s];
          clock[s] = ready + t;
          out.busy[s] += t;
          live[s] += fwd ? 1 : -1;
          out.peak_live[s] = std::max(out.peak_live[s], live[s]);
        }
        progress = true;
      }
    }
    // A message moves when its two ends head their stages' queues (a queue runs one
    // transfer at a time, in the order posted; a send waits for its receive).
    for (size_t s = 0; s + 1 < p; ++s) {
      while (!queue[s].empty() && !queue[s + 1].empty() &&
             ends_of_one_message(queue[s].front().action, queue[s + 1].front().action)) {
        const Posted a = queue[s].front(), b = queue[s + 1].front();
        const double end =
            std::max({queue_free[s], a.at, queue_free[s + 1], b.at}) + transfer;
        queue_free[s] = queue_free[s + 1] = end;
        if (a.action.kind == ActionKind::kRecvGradient)
          received[s][{true, a.action.microbatch}] = end;
        else
          received[s + 1][{false, b.action.microbatch}] = end;
        queue[s].pop_front();
        queue[s + 1].pop_front();
        progress = true;
      }
    }
    bool done = true;
    for (size_t s = 0; s < p; ++s) done = done && next[s] == sc.actions[s].size() && queue[s].empty();
    if (done) break;
    if (!progress) {
      std::vector<std::string> waiting;
      for (size_t s = 0; s < p; ++s) {
        if (!queue[s].empty())
          waiting.push_back(absl::StrCat("stage ", s, " at ", describe(queue[s].front().action)));
        else if (next[s] < sc.actions[s].size())
          waiting.push_back(absl::StrCat("stage ", s, " at ", describe(sc.actions[s][next[s]])));
      }
      return absl::InvalidArgumentError(absl::StrCat(name_of(sc.kind), " schedule cannot finish (transfers run in ",
                                                     "order, a send waits for its receive): ",
                                                     absl::StrJoin(waiting, ", ")));
    }
  }
  for (size_t s = 0; s < p; ++s) out.step_time = std::max({out.step_time, clock[s], queue_free[s]});
  double idle = 0;
  for (size_t s = 0; s < p; ++s) idle += out.step_time > 0 ? (out.step_time - out.busy[s]) / out.step_time : 0;
  out.bubble_fraction = idle / static_cast<double>(p);
  return out;
}

}  // namespace ty::pipeline
