#include "storage/gpu_direct/device_batches.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/gpu_direct/direct_batches.h"
#include "storage/gpu_direct/record_layout.h"
#include "storage/gpu_direct/staged_batches.h"

namespace ty {
namespace {

constexpr size_t kPinnedCache = size_t{256} << 20;

absl::StatusOr<DeviceBatches> open_staged(std::shared_ptr<const ShardSet> shards, StreamOptions options,
                                          std::shared_ptr<DeviceIo> io, std::shared_ptr<Allocator> device_memory,
                                          const std::string& why) {
  StreamOptions raw = options;
  raw.raw_records = true;
  raw.batch_memory = pinned_memory(io, kPinnedCache);
  TY_ASSIGN_OR_RETURN(std::unique_ptr<ShardStream> stream, ShardStream::open(shards, raw));
  DeviceBatches b;
  b.source = std::make_unique<StagedDeviceBatches>(
      std::move(stream), io, device_record_layout(*shards, false, options.standardize, options.mean, options.std),
      sample_fields(*shards), std::move(device_memory));
  const char* reads = options.direct_io ? "O_DIRECT" : "host";
  b.path = absl::StrCat("staged (", reads, " reads into page-locked memory, copies on a copy stream, decoded on ",
                        io->device().str(), ")", why.empty() ? "" : "; ", why);
  return b;
}

}  // namespace

absl::StatusOr<DeviceBatches> open_device_batches(std::shared_ptr<const ShardSet> shards, StreamOptions options,
                                                  GpuDirectMode mode, std::shared_ptr<DeviceIo> io,
                                                  std::shared_ptr<Allocator> device_memory) {
  if (mode == GpuDirectMode::kOff)
    return open_staged(std::move(shards), options, std::move(io), std::move(device_memory),
                       "storage.gpu_direct: off");
  if (shards->fields().tokens()) {  // (their ids are checked against the vocabulary on the host)
    if (mode == GpuDirectMode::kOn)
      return absl::InvalidArgumentError(
          "storage.gpu_direct: on reads image and feature records; token records are checked and decoded by the "
          "staged path (storage.gpu_direct: auto or off)");
    return open_staged(std::move(shards), options, std::move(io), std::move(device_memory),
                       "token records take the staged path");
  }
  absl::StatusOr<std::unique_ptr<GpuDirectBatches>> direct =
      GpuDirectBatches::open(shards, options, io, device_memory);
  if (direct.ok()) {
    DeviceBatches b;
    b.source = std::move(*direct);
    b.direct = true;
    b.path = absl::StrCat("GPUDirect Storage (cuFile reads into ", io->device().str(),
                          " memory, CRC32C checked and decoded there)");
    return b;
  }
  if (mode == GpuDirectMode::kOn)
    return absl::FailedPreconditionError(absl::StrCat(
        "storage.gpu_direct: on, but the direct path is not live: ", direct.status().message(),
        " (storage.gpu_direct: auto takes the staged path instead)"));
  LOG(INFO) << "GPUDirect Storage is not live, taking the staged path: " << direct.status().message();
  return open_staged(std::move(shards), options, std::move(io), std::move(device_memory),
                     absl::StrCat("cuFile not live: ", direct.status().message()));
}

}  // namespace ty
