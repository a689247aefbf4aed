// Ranks as threads over UCX: runs body(comm) on one thread per rank, each with its own
// UcxCommunicator (its own UCX worker), meeting through a file store in a fresh directory.
// Skips the test in a build without UCX (a ThreadSanitizer build).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "comm/rendezvous/file_store.h"
#include "comm/ucx/ucx_communicator.h"
#include "gtest/gtest.h"

namespace ty {

inline void on_ucx_ranks(int world, const std::function<void(Communicator&)>& body) {
  char dir[] = "/tmp/trainyard-ucx-ranks-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  CommOptions o;
  o.timeout = std::chrono::seconds(60);
  {
    auto probe_store = rendezvous::FileStore::open(std::string(dir) + "/probe");
    ASSERT_TRUE(probe_store.ok()) << probe_store.status();
    auto probe = UcxCommunicator::create(**probe_store, 0, 1, o);
    if (!probe.ok() && probe.status().code() == absl::StatusCode::kFailedPrecondition)
      GTEST_SKIP() << probe.status();
  }
  auto store = rendezvous::FileStore::open(std::string(dir) + "/rdzv");
  ASSERT_TRUE(store.ok()) << store.status();
  std::latch done(world);  // no rank closes its endpoints while another still talks to it
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      absl::StatusOr<std::unique_ptr<UcxCommunicator>> c = absl::UnknownError("not yet");
      struct ArriveAtExit {  // before `c` goes, even when an assertion returns early
        std::latch& l;
        ~ArriveAtExit() { l.arrive_and_wait(); }
      } arrive{done};
      c = UcxCommunicator::create(**store, r, world, o);
      ASSERT_TRUE(c.ok()) << c.status();
      body(**c);
    });
  for (auto& t : ranks) t.join();
}

}  // namespace ty
