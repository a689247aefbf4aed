// ShardStream's private pieces, shared by its two source files (shard_stream.cc: planning,
// reading, handing out batches; shard_stream_decode.cc: turning a step's records into one).
#pragma once

#include "storage/stream/shard_stream.h"

namespace ty {

// This rank's records of one window of one epoch: positions [first, end) of the epoch's
// order (kPad's wrapped tail: [N, steps * batch)). Slots number the rank's records in file
// order; each range of slots is read into one buffer, where the records then stay.
struct ShardStream::Load {
  int64_t epoch = 0, first = 0, end = 0;
  int64_t last_step = 0;               // the last step that takes a record from here
  std::vector<int32_t> slot_of;        // position - first -> slot, or -1: not this rank's
  std::vector<RecordRef> refs;         // per slot
  std::vector<int64_t> offsets;        // per slot: byte offset in its shard
  std::vector<const char*> records;    // per slot: the record in a buffer, once read
  std::vector<uint8_t> bad;            // per slot: 1 = corrupt, left out (skip_corrupt)
  std::vector<Range> ranges;           // until queued
  std::vector<AlignedBuffer> buffers;  // one per range
  int64_t bytes = 0;                   // of all ranges
  int pending = 0;                     // ranges not read yet; 0: every record is in place
  absl::Status error;
};

// Slots [slot_begin, slot_end) of a load: one sequential read of one shard.
struct ShardStream::Range {
  std::shared_ptr<Load> load;
  int shard = 0;
  int64_t offset = 0, length = 0;
  int64_t slot_begin = 0, slot_end = 0;
  size_t buffer = 0;
};

struct ShardStream::Assembled {
  absl::Status status;
  Tensor x, y;
};

}  // namespace ty
