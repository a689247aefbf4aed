// The simulator's step time and bubble for uniform stages (comm/pipeline/simulator.h), for
// bench/pipeline_bubble.py to set against measured runs.
//   pipeline_simulate SCHEDULE STAGES MICROBATCHES FORWARD_MS BACKWARD_MS [TRANSFER_MS]
// prints {"step_ms": T, "bubble_fraction": B, "formula": (P - 1) / (M + P - 1)}.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "comm/pipeline/simulator.h"

int main(int argc, char** argv) {
  using namespace ty::pipeline;
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s gpipe|1f1b STAGES MICROBATCHES FORWARD_MS BACKWARD_MS [TRANSFER_MS]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  if (name != "gpipe" && name != "1f1b") {
    std::fprintf(stderr, "%s: schedule must be gpipe or 1f1b, got '%s'\n", argv[0], argv[1]);
    return 2;
  }
  const int p = std::atoi(argv[2]), m = std::atoi(argv[3]);
  const double f = std::atof(argv[4]) / 1000, b = std::atof(argv[5]) / 1000;
  const double t = argc > 6 ? std::atof(argv[6]) / 1000 : 0;
  if (p < 1 || m < 1 || f < 0 || b < 0 || t < 0) {
    std::fprintf(stderr, "%s: stages and micro-batches must be >= 1 and times >= 0\n", argv[0]);
    return 2;
  }
  const Schedule s = build_schedule(name == "gpipe" ? ScheduleKind::kGPipe : ScheduleKind::kOneFOneB, p, m);
  if (absl::Status st = validate(s); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::string(st.message()).c_str());
    return 2;
  }
  absl::StatusOr<Simulation> sim =
      simulate(s, std::vector<double>(static_cast<size_t>(p), f), std::vector<double>(static_cast<size_t>(p), b), t);
  if (!sim.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::string(sim.status().message()).c_str());
    return 1;
  }
  std::printf("{\"step_ms\": %.6f, \"bubble_fraction\": %.6f, \"formula\": %.6f}\n", sim->step_time * 1000,
              sim->bubble_fraction, static_cast<double>(p - 1) / (m + p - 1));
  return 0;
}
