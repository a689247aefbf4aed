// Ranks as threads: runs body(comm) on one thread per rank of an in-process group.
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "comm/inprocess/inprocess_communicator.h"

namespace ty {

inline void on_ranks(int world, const std::function<void(Communicator&)>& body, CommOptions o = {}) {
  auto comms = InProcessCommunicator::create_group(world, o);
  std::vector<std::thread> threads;
  for (auto& c : comms) threads.emplace_back([&body, &c] { body(*c); });
  for (auto& t : threads) t.join();
}

}  // namespace ty
