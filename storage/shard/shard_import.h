// Importers: IDX image/label pairs and CSV files into shards with fields x and y.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/csv_reader.h"
#include "storage/shard/shard_writer.h"

namespace ty {

// x: u8 (1, H, W) pixels as stored; y: i32 label.
absl::StatusOr<std::vector<std::string>> import_idx(const std::string& images, const std::string& labels,
                                                    const std::string& out_prefix, ShardWriterOptions options = {});
// x: f32 (D) features; y: i32 label (classification) or f32 (1) target.
absl::StatusOr<std::vector<std::string>> import_csv(const std::string& path, const CsvOptions& csv,
                                                    const std::string& out_prefix, ShardWriterOptions options = {});

}  // namespace ty

namespace ty {

struct TextImportOptions {
  std::string tokens = "bytes";  // bytes (vocabulary: the 256 byte values) | words (whitespace-separated)
                                 // | sentencepiece (pieces of a SentencePiece model)
  int64_t seq_len = 128;         // tokens per record
  // Held-out shares of the token stream: with either > 0 the stream is cut into three
  // contiguous blocks — train, then validation, then test — that share no token, written
  // as OUT_PREFIX-train-*, OUT_PREFIX-val-* and OUT_PREFIX-test-* (so no glob mixes them).
  double val_fraction = 0, test_fraction = 0;
  int64_t vocab_size = 0;  // sentencepiece: train a model of this many pieces on the file
  std::string spm;         // sentencepiece: or take this model file
};

// A text file's tokens and its vocabulary (id -> token text): bytes (the 256 byte values)
// or whitespace-separated words (most frequent first); sentencepiece: the pieces of the
// model at `spm_model` (line breaks become spaces, as its normalization makes them).
// Errors name the file.
struct TokenizedText {
  std::vector<int32_t> ids;
  std::vector<std::string> vocab;
};
absl::StatusOr<TokenizedText> tokenize_text(const std::string& path, const std::string& tokens,
                                            const std::string& spm_model = "");

// The held-out blocks of a stream of n tokens: train [0, val_begin), validation
// [val_begin, test_begin), test [test_begin, end); errors when a share asked for holds no
// record of seq_len + 1 tokens (or the fractions are out of range), naming `path`.
struct TextBlocks {
  int64_t val_begin = 0, test_begin = 0, end = 0;
};
absl::StatusOr<TextBlocks> split_text(const std::string& path, int64_t n, int64_t seq_len, double val_fraction,
                                      double test_fraction);

// A text file as a token stream cut into records of seq_len + 1 consecutive tokens:
// x: i32 (seq_len) and y: i32 (seq_len), y[i] = x[i + 1] (next-token targets); the tail
// shorter than a record is dropped. The vocabulary (one token per line, id = line number,
// most frequent first) is written to OUT_PREFIX.vocab, and a SentencePiece model (trained
// here with vocab_size pieces, or the spm file's) to OUT_PREFIX.model. Returns the shards written (train,
// then validation, then test).
absl::StatusOr<std::vector<std::string>> import_text(const std::string& path, const TextImportOptions& text,
                                                     const std::string& out_prefix, ShardWriterOptions options = {});

}  // namespace ty
