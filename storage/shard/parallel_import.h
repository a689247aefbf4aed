// `trainyard data import parallel`: two line-aligned text files (a source language and its
// translation) into shards of token pairs for sequence-to-sequence models.
//
// Record: x i32 (max_len) the source's SentencePiece ids, then "</s>"; y i32 (max_len) the
// target's ids, then "</s>". Both are padded with "</s>", so a side's length is the position
// of its first "</s>" (plus one). One joint SentencePiece model serves both sides: trained
// here on both files (vocab_size pieces) or taken from --spm, stored as OUT_PREFIX.model with
// its pieces in OUT_PREFIX.vocab. Or one per side (--separate-vocab: trained on each file;
// or --spm-source and --spm-target): the target's as above, the source's as
// OUT_PREFIX.source.model and OUT_PREFIX.source.vocab; both must give "</s>" one id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/shard/shard_writer.h"

namespace ty {

struct ParallelImportOptions {
  int64_t vocab_size = 0;       // train a joint model of this many pieces
  bool separate_vocab = false;  // with vocab_size: one model per side, each of vocab_size pieces
  std::string spm;              // or take this joint model file
  std::string spm_source, spm_target;  // or these two, one per side
  int64_t max_len = 128;   // tokens per side, "</s>" included; longer pairs are left out
  // Held-out shares of the pairs, contiguous blocks in file order (train, validation, test);
  // or a test set from its own pair of files (then test_fraction stays 0).
  double val_fraction = 0, test_fraction = 0;
  std::string test_source, test_target;
};

struct ParallelImportResult {
  std::vector<std::string> shards;  // train, then validation, then test
  int64_t pairs = 0;                // written, all splits
  int64_t too_long = 0;             // left out: a side over max_len
  int64_t empty = 0;                // left out: a side with no text
};

absl::StatusOr<ParallelImportResult> import_parallel(const std::string& source, const std::string& target,
                                                     const ParallelImportOptions& options,
                                                     const std::string& out_prefix,
                                                     ShardWriterOptions writer_options = {});

}  // namespace ty
