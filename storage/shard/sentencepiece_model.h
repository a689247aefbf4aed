// SentencePiece (Debian's libsentencepiece) behind an interface of standard types only:
// its header declares `absl::string_view` itself, which clashes with abseil's, so only
// sentencepiece_model.cc includes it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ty {

class SentencePieceModel {
 public:
  // Trains a unigram model of `vocab_size` pieces on the text file `input` (several files:
  // comma-separated), written to
  // `model_path`; returns "" or the error.
  static std::string train(const std::string& input, int64_t vocab_size, const std::string& model_path);
  // Loads a model file; null with `error` set when it cannot.
  static std::unique_ptr<SentencePieceModel> load(const std::string& path, std::string* error);
  ~SentencePieceModel();

  int64_t size() const;
  // The sentence markers' ids ("<s>", "</s>"), -1 where the model has none.
  int32_t bos_id() const;
  int32_t eos_id() const;
  std::string piece(int64_t id) const;
  std::vector<int32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  SentencePieceModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ty
