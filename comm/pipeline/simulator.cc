#include "comm/pipeline/simulator.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/status.h"

namespace ty::pipeline {

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
  std::vector<double> clock(p, 0);
  std::vector<size_t> next(p, 0);
  std::vector<int> live(p, 0);
  // (from stage, to stage, is gradient, micro-batch) → when it arrives.
  std::map<std::tuple<int, int, bool, int>, double> arrived;
  for (;;) {
    bool progress = false, done = true;
    for (size_t s = 0; s < p; ++s) {
      const int si = static_cast<int>(s);
      const std::vector<Action>& list = sc.actions[s];
      for (; next[s] < list.size(); ++next[s]) {
        const Action& a = list[next[s]];
        if (a.kind == ActionKind::kRecvActivation || a.kind == ActionKind::kRecvGradient) {
          const bool gradient = a.kind == ActionKind::kRecvGradient;
          auto it = arrived.find({gradient ? si + 1 : si - 1, si, gradient, a.microbatch});
          if (it == arrived.end()) break;  // waits for its neighbour
          clock[s] = std::max(clock[s], it->second);
          arrived.erase(it);
        } else if (a.kind == ActionKind::kSendActivation || a.kind == ActionKind::kSendGradient) {
          const bool gradient = a.kind == ActionKind::kSendGradient;
          arrived[{si, gradient ? si - 1 : si + 1, gradient, a.microbatch}] = clock[s] + transfer;
        } else {
          const double t = a.kind == ActionKind::kForward ? forward[s] : backward[s];
          clock[s] += t;
          out.busy[s] += t;
          live[s] += a.kind == ActionKind::kForward ? 1 : -1;
          out.peak_live[s] = std::max(out.peak_live[s], live[s]);
        }
        progress = true;
      }
      done = done && next[s] == list.size();
    }
    if (done) break;
    if (!progress) {
      std::vector<std::string> waiting;
      for (size_t s = 0; s < p; ++s)
        if (next[s] < sc.actions[s].size())
          waiting.push_back(absl::StrCat("stage ", s, " at ", describe(sc.actions[s][next[s]])));
      return absl::InvalidArgumentError(absl::StrCat(name_of(sc.kind), " schedule cannot finish: ",
                                                     absl::StrJoin(waiting, ", ")));
    }
  }
  out.step_time = *std::max_element(clock.begin(), clock.end());
  double idle = 0;
  for (size_t s = 0; s < p; ++s) idle += out.step_time > 0 ? (out.step_time - out.busy[s]) / out.step_time : 0;
  out.bubble_fraction = idle / static_cast<double>(p);
  return out;
}

}  // namespace ty::pipeline
