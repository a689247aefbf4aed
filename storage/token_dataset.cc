#include "storage/token_dataset.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ty {

TokenDataset::TokenDataset(std::shared_ptr<const std::vector<int32_t>> ids, int64_t begin, int64_t end, int64_t seq_len,
                           int64_t vocab, std::string name)
    : ids_(std::move(ids)),
      begin_(begin),
      seq_len_(seq_len),
      vocab_(vocab),
      records_(end - begin > seq_len ? (end - begin - 1) / seq_len : 0),
      name_(std::move(name)) {}

void TokenDataset::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  int32_t* X = x.data<int32_t>();
  int32_t* Y = y.data<int32_t>();
  const size_t row = static_cast<size_t>(seq_len_) * sizeof(int32_t);
  for (int64_t i = 0; i < count; ++i) {
    CHECK(indices[i] >= 0 && indices[i] < records_) << "record " << indices[i] << " of " << records_;
    const int32_t* start = ids_->data() + begin_ + indices[i] * seq_len_;
    std::memcpy(X + i * seq_len_, start, row);
    std::memcpy(Y + i * seq_len_, start + 1, row);
  }
}

std::string TokenDataset::describe() const {
  return absl::StrCat(name_, ": ", records_, " records of (", seq_len_, ",) tokens, vocabulary ", vocab_);
}

}  // namespace ty
