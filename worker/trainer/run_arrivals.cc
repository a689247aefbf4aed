#include "worker/trainer/run_arrivals.h"

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "comm/rendezvous/file_store.h"
#include "runtime/status.h"
#include "storage/s3/s3_url.h"
#include "worker/trainer/run_directory.h"

namespace ty {

absl::Status share_arrivals(Communicator& comm, const std::string& run_dir, std::chrono::milliseconds timeout) {
  if (is_s3_url(run_dir)) return absl::OkStatus();  // (every rank alike) an object store is no file store
  namespace fs = std::filesystem;
  const fs::path root = fs::path(run_dir) / kArrivalsName;
  std::error_code ec;
  Tensor v = Tensor::empty(host_memory(), {1}, DType::kF64);
  v.set(0, comm.rank() == 0 ? static_cast<double>(std::random_device{}() & 0xFFFFFFFu) + 1 : 0.0);
  if (comm.rank() == 0) fs::remove_all(root, ec);  // earlier attempts
  TY_RETURN_IF_ERROR(comm.allreduce_now(v, ReduceOp::kMax));
  const fs::path dir = root / absl::StrCat(static_cast<int64_t>(v.at(0)));
  std::unique_ptr<rendezvous::FileStore> store;
  if (comm.rank() == 0) {
    auto opened = rendezvous::FileStore::open(dir.string());
    if (opened.ok() && (*opened)->set("shared", "1").ok()) store = std::move(*opened);
  }
  TY_RETURN_IF_ERROR(comm.allreduce_now(v, ReduceOp::kMax));  // rank 0's key is in place
  if (comm.rank() != 0 && fs::is_directory(dir, ec)) {        // never create it: only see it
    auto opened = rendezvous::FileStore::open(dir.string());
    if (opened.ok() && (*opened)->get("shared", rendezvous::Store::Clock::now()).ok()) store = std::move(*opened);
  }
  Tensor all = Tensor::empty(host_memory(), {1}, DType::kF64);
  all.set(0, store ? 1.0 : 0.0);
  TY_RETURN_IF_ERROR(comm.allreduce_now(all, ReduceOp::kSum));
  if (all.at(0) != comm.size()) return absl::OkStatus();  // not shared by every rank
  const auto grace = std::min<std::chrono::milliseconds>(timeout / 2, std::chrono::seconds(10));
  std::shared_ptr<rendezvous::Store> shared = std::move(store);
  comm.set_arrivals(std::make_unique<Arrivals>(shared, comm.group(), comm.rank(), comm.size(), grace));
  return absl::OkStatus();
}

}  // namespace ty
