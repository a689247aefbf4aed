// The GPU data path's choice (storage.gpu_direct): a GPU rank's training batches decoded on
// the device, read either by cuFile straight into device memory (GpuDirectBatches:
// direct_batches.h) or by the host loader into page-locked memory and copied on a copy
// stream (StagedDeviceBatches: staged_batches.h).
//   auto  cuFile where the direct path is live for every shard (gpu_direct_file.h says
//         what "live" means), else the staged path, saying why in `path`;
//   on    cuFile, or an error (kFailedPrecondition) naming why the direct path is not live;
//   off   the staged path.
#pragma once

#include <memory>
#include <string>

#include "runtime/device_io.h"
#include "storage/batch_source.h"
#include "storage/stream/shard_set.h"
#include "storage/stream/shard_stream.h"

namespace ty {

enum class GpuDirectMode { kAuto, kOn, kOff };

struct DeviceBatches {
  std::unique_ptr<BatchSource> source;
  std::string path;  // for the run header: which path, and for auto's fallback, why
  bool direct = false;
};

// `options` as for ShardStream; batch tensors from `device_memory` on io's device.
absl::StatusOr<DeviceBatches> open_device_batches(std::shared_ptr<const ShardSet> shards, StreamOptions options,
                                                  GpuDirectMode mode, std::shared_ptr<DeviceIo> io,
                                                  std::shared_ptr<Allocator> device_memory);

}  // namespace ty
