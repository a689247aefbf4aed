// Vocabulary: the token table `data import text` writes beside token shards (PREFIX.vocab,
// one token per line, id = line number), read back to turn text into ids and ids into
// text the way the shards were made: byte tokens (the 256 byte values, written as the
// character or <0xHH>), whitespace-separated words, or SentencePiece pieces (when
// PREFIX.model lies beside PREFIX.vocab).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/shard/sentencepiece_model.h"

namespace ty {

class Vocabulary {
 public:
  // Errors name the file (missing, empty).
  static absl::StatusOr<Vocabulary> load(const std::string& path);
  // The table tokenize_text() made (a text tokenized at load).
  static Vocabulary of(std::vector<std::string> tokens);
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  bool bytes() const { return bytes_; }
  // Ids of `text`; a word the vocabulary lacks is an error naming it.
  absl::StatusOr<std::vector<int32_t>> encode(const std::string& text) const;
  // The text of `ids` (words joined by single spaces).
  std::string decode(const std::vector<int32_t>& ids) const;
  // SentencePiece vocabularies: the sentence markers' ids ("<s>", "</s>"); -1 where there
  // are none (byte and word vocabularies have none).
  int32_t bos_id() const { return spm_ ? spm_->bos_id() : -1; }
  int32_t eos_id() const { return spm_ ? spm_->eos_id() : -1; }

 private:
  std::vector<std::string> tokens_;
  bool bytes_ = false;
  std::shared_ptr<const SentencePieceModel> spm_;
};

}  // namespace ty
