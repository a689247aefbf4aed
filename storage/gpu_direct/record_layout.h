// How the GPU data path's kernels (runtime/record_codec.h) see a ShardSet's records: where
// x and y sit, how x becomes a batch's f32 or i32 row, which labels are bounded.
#pragma once

#include "runtime/record_codec.h"
#include "storage/stream/shard_set.h"

namespace ty {

// With `checked`, records as read from the shard (their CRC32C follows, labels to check on the
// device: the cuFile path); without, records whose CRC and labels the host has checked
// (the staged path's raw rows). `standardize`: x * (1 / std) - mean / std after scaling.
RecordLayout device_record_layout(const ShardSet& shards, bool checked, bool standardize, float mean, float std);

}  // namespace ty
