// trainyard's synchronous allreduce (MpiCommunicator::allreduce_now, through its op queue)
// against a raw blocking MPI_Allreduce of the same buffer, in the same run, 4 KiB - 64 MiB.
// Prints per size the median time of each and the bus-bandwidth ratio trainyard / raw
// (bus bandwidth = 2 (W-1)/W * bytes / time, as nccl-tests define it, so the ratio is
// raw time / trainyard time; 1.0 is as fast as raw MPI).
//
//   mpirun --allow-run-as-root -np 2 build/bench/allreduce_vs_mpi [--reps 20] [--bytes N]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "comm/mpi/mpi_communicator.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 20;
  int64_t only = 0;  // --bytes N: just that size
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--bytes")) only = std::atoll(argv[i + 1]);
  }
  // MPI_THREAD_MULTIPLE: the raw calls run on this thread, trainyard's on its queue thread
  // (never at the same time: barriers separate them).
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  {
    auto comm_or = ty::MpiCommunicator::create({});
    if (!comm_or.ok()) {
      std::fprintf(stderr, "%s\n", std::string(comm_or.status().message()).c_str());
      return 1;
    }
    auto& comm = **comm_or;
    const int w = comm.size();
    if (comm.rank() == 0)
      std::printf("%10s %12s %14s %12s   (%d ranks, median of %d)\n", "bytes", "raw_us", "trainyard_us", "busbw_ratio",
                  w, reps);
    for (int64_t bytes = only ? only : 4096; bytes <= (only ? only : int64_t{64} << 20); bytes *= 4) {
      const int64_t n = bytes / 4;
      ty::Tensor buf = ty::Tensor::empty(ty::host_memory(), {n});
      buf.fill(1.0);
      std::vector<double> raw, ours;
      for (int r = 0; r < reps + 2; ++r) {
        // Alternate which goes first, so neither gains from the other warming caches.
        double t_raw = 0, t_ours = 0;
        absl::Status st;
        for (int turn = 0; turn < 2; ++turn) {
          MPI_Barrier(MPI_COMM_WORLD);
          const auto a = std::chrono::steady_clock::now();
          if ((turn == 0) == (r % 2 == 0)) {
            MPI_Allreduce(MPI_IN_PLACE, buf.raw(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t_raw = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
          } else {
            st = comm.allreduce_now(buf, ty::ReduceOp::kSum);
            t_ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
          }
        }
        if (!st.ok()) {
          std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
          return 1;
        }
        buf.fill(1.0);
        if (r >= 2) {
          raw.push_back(t_raw);
          ours.push_back(t_ours);
        }
      }
      const double tr = median(raw), to = median(ours);
      if (comm.rank() == 0)
        std::printf("%10ld %12.1f %14.1f %12.3f\n", static_cast<long>(bytes), tr * 1e6, to * 1e6, tr / to);
    }
  }
  MPI_Finalize();
  return 0;
}
