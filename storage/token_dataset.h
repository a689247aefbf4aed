// TokenDataset: next-token records cut from a token stream held in memory (a text file
// tokenized at load, data.format text): record i is tokens [begin + i·L, begin + i·L + L]
// of the stream, x its first L and y its last L, the records `data import text` would
// write for the same block.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/dataset.h"

namespace ty {

class TokenDataset final : public Dataset {
 public:
  TokenDataset(std::shared_ptr<const std::vector<int32_t>> ids, int64_t begin, int64_t end, int64_t seq_len,
               int64_t vocab, std::string name);
  int64_t size() const override { return records_; }
  Shape sample_shape() const override { return {seq_len_}; }
  int64_t num_classes() const override { return vocab_; }
  int64_t target_width() const override { return 0; }
  DType input_dtype() const override { return DType::kI32; }
  Shape label_shape() const override { return {seq_len_}; }
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;

 private:
  std::shared_ptr<const std::vector<int32_t>> ids_;
  int64_t begin_, seq_len_, vocab_, records_;
  std::string name_;
};

}  // namespace ty
