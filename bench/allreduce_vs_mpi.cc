// trainyard's synchronous allreduce (allreduce_now, through its op queue) over MPI and over
// UCX, against a raw blocking MPI_Allreduce of the same buffer, in the same run,
// 4 KiB - 64 MiB. Prints per size the median time of each and the bus-bandwidth ratios
// trainyard / raw (bus bandwidth = 2 (W-1)/W * bytes / time, as nccl-tests define it, so a
// ratio is raw time / trainyard time, taken within each repetition, median over them; 1.0
// is as fast as raw MPI). The UCX communicator
// meets its peers through a store over MPI, as `comm.backend: ucx` does under mpirun.
//
//   mpirun --allow-run-as-root -np 2 build/bench/allreduce_vs_mpi [--reps 20] [--bytes N]
//   [--no-ucx]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "comm/mpi/mpi_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "comm/ucx/ucx_communicator.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 20;
  int64_t only = 0;  // --bytes N: just that size
  bool with_ucx = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-ucx")) with_ucx = false;
    if (i + 1 == argc) break;
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
    std::unique_ptr<ty::rendezvous::CollectiveStore> store;
    std::unique_ptr<ty::UcxCommunicator> ucx;
    if (with_ucx) {
      store = std::make_unique<ty::rendezvous::CollectiveStore>(comm);
      auto ucx_or = ty::UcxCommunicator::create(*store, comm.rank(), w, {});
      if (!ucx_or.ok()) {
        std::fprintf(stderr, "%s\n", std::string(ucx_or.status().message()).c_str());
        return 1;
      }
      ucx = std::move(*ucx_or);
    }
    // Contenders: 0 raw MPI_Allreduce, 1 trainyard over MPI, 2 trainyard over UCX.
    const int n_contenders = ucx ? 3 : 2;
    if (comm.rank() == 0) {
      std::printf("%d ranks, median of >= %d%s\n", w, reps, ucx ? (", ucx over " + ucx->transports()).c_str() : "");
      std::printf("%10s %10s %10s %10s %10s %10s\n", "bytes", "raw_us", "mpi_us", "ucx_us", "mpi/raw", "ucx/raw");
    }
    for (int64_t bytes = only ? only : 4096; bytes <= (only ? only : int64_t{64} << 20); bytes *= 4) {
      const int64_t n = bytes / 4;
      ty::Tensor buf = ty::Tensor::empty(ty::host_memory(), {n});
      buf.fill(1.0);
      std::vector<double> times[3];
      // Small sizes take more repetitions: their medians are microseconds, noisy here.
      const int n_reps = static_cast<int>(std::min<int64_t>(1000, std::max<int64_t>(reps, reps * (int64_t{1} << 20) / bytes)));
      for (int r = 0; r < n_reps + 2; ++r) {
        // Rotate which goes first, so none gains from another warming caches.
        for (int turn = 0; turn < n_contenders; ++turn) {
          const int who = (turn + r) % n_contenders;
          MPI_Barrier(MPI_COMM_WORLD);
          const auto a = std::chrono::steady_clock::now();
          absl::Status st;
          if (who == 0)
            MPI_Allreduce(MPI_IN_PLACE, buf.raw(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
          else
            st = (who == 1 ? static_cast<ty::Communicator&>(comm) : *ucx).allreduce_now(buf, ty::ReduceOp::kSum);
          const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
          if (!st.ok()) {
            std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
            return 1;
          }
          // Every contender must compute the same sum: 1.0 reduced over w ranks.
          if (buf.data<float>()[n - 1] != static_cast<float>(w)) {
            std::fprintf(stderr, "contender %d: wrong sum %g at %ld bytes\n", who, buf.data<float>()[n - 1],
                         static_cast<long>(bytes));
            return 1;
          }
          buf.fill(1.0);
          if (r >= 2) times[who].push_back(t);
        }
      }
      // Ratios of the same repetition, then their median: the machine's drift between
      // repetitions cancels.
      std::vector<double> mpi_ratio, ucx_ratio;
      for (size_t i = 0; i < times[0].size(); ++i) {
        mpi_ratio.push_back(times[0][i] / times[1][i]);
        if (ucx) ucx_ratio.push_back(times[0][i] / times[2][i]);
      }
      const double tr = median(times[0]), tm = median(times[1]), tu = ucx ? median(times[2]) : 0;
      if (comm.rank() == 0)
        std::printf("%10ld %10.1f %10.1f %10.1f %10.3f %10.3f\n", static_cast<long>(bytes), tr * 1e6, tm * 1e6,
                    tu * 1e6, median(mpi_ratio), ucx ? median(ucx_ratio) : 0.0);
    }
  }
  MPI_Finalize();
  return 0;
}
