// Gang placement: all of a job's ranks on workers at once, or none. Ranks are packed onto
// as few workers as possible (the workers with the most free slots first), consecutive
// ranks together, so that most traffic stays inside a host.
//
// A pipeline job (P stages: rank = replica × P + stage) is placed a replica at a time: its
// P consecutive stages on one worker where one has room for them all (their activations
// cross no network), and the replicas spread, each on the worker holding the fewest of the
// job's replicas so far (then the most free slots): a replica's stage-to-stage traffic,
// every micro-batch, then has a host's links to itself, while the replicas talk once a
// step. A replica that fits on no single worker is cut over the workers with the most free
// slots, in stage order.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ty::coordinator {

struct FreeSlots {
  std::string worker;
  int free = 0;   // slots not taken by running ranks
  int total = 0;  // all its slots
};

struct RankPlace {
  std::string worker;
  int local_rank = 0, local_world_size = 1;
};

// Places `ranks` ranks (at most `per_worker` on one worker; 0: any), each taking one of a
// worker's `unit` ("slots", or "GPUs" for ranks that need one). Without room, nullopt and
// `reason` says why: "needs 4 slots, 3 free", or "can never fit: ..." when the registered
// workers could not hold it even if idle.
// `stages`: a pipeline job's stages (1: none); it divides `ranks`.
std::optional<std::vector<RankPlace>> place(int ranks, int per_worker, std::vector<FreeSlots> workers,
                                            const std::string& unit, std::string* reason, int stages = 1);

}  // namespace ty::coordinator
