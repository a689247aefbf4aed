// Kill points for fault-injection tests: with TRAINYARD_FAULT_KILL_RANK=R and
// TRAINYARD_FAULT_KILL_STEP=S in the environment, rank R sends itself SIGKILL when it
// reaches optimizer step S. Unset (always, outside tests), nothing happens.
#pragma once

#include <cstdint>

namespace ty {

void maybe_kill_self(int rank, int64_t step);

}  // namespace ty
