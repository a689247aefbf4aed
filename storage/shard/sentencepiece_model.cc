#include "storage/shard/sentencepiece_model.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>

namespace ty {

struct SentencePieceModel::Impl {
  sentencepiece::SentencePieceProcessor processor;
};

SentencePieceModel::SentencePieceModel() : impl_(std::make_unique<Impl>()) {}
SentencePieceModel::~SentencePieceModel() = default;

std::string SentencePieceModel::train(const std::string& input, int64_t vocab_size, const std::string& model_path) {
  // The trainer writes PREFIX.model and PREFIX.vocab; the model is moved to `model_path`.
  const std::string prefix = model_path + ".training";
  const std::string args = "--input=" + input + " --model_prefix=" + prefix +
                           " --vocab_size=" + std::to_string(vocab_size) +
                           " --model_type=unigram --character_coverage=1.0 --input_sentence_size=2000000"
                           " --shuffle_input_sentence=true --minloglevel=2 --num_threads=2";
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  std::error_code ec;
  std::filesystem::remove(prefix + ".vocab", ec);
  if (!status.ok()) {
    std::filesystem::remove(prefix + ".model", ec);
    return status.ToString();
  }
  std::filesystem::rename(prefix + ".model", model_path, ec);
  return ec ? model_path + ": cannot write (" + ec.message() + ")" : "";
}

std::unique_ptr<SentencePieceModel> SentencePieceModel::load(const std::string& path, std::string* error) {
  std::unique_ptr<SentencePieceModel> m(new SentencePieceModel());
  const auto status = m->impl_->processor.Load(path);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return m;
}

int64_t SentencePieceModel::size() const { return impl_->processor.GetPieceSize(); }

int32_t SentencePieceModel::bos_id() const { return impl_->processor.bos_id(); }
int32_t SentencePieceModel::eos_id() const { return impl_->processor.eos_id(); }

std::string SentencePieceModel::piece(int64_t id) const { return impl_->processor.IdToPiece(static_cast<int>(id)); }

std::vector<int32_t> SentencePieceModel::encode(const std::string& text) const {
  std::vector<int> ids;
  impl_->processor.Encode(text, &ids).IgnoreError();
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string SentencePieceModel::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  impl_->processor.Decode(std::vector<int>(ids.begin(), ids.end()), &text).IgnoreError();
  return text;
}

}  // namespace ty
