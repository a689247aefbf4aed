#include "worker/trainer/text_generation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "models/layers/token_embedding.h"
#include "models/layers/transformer_block.h"
#include "runtime/philox.h"

namespace ty {
namespace {

// Picks the next token from `logits` (V) by the options, with uniform draw u in [0, 1).
int32_t sample(const Tensor& logits_in, const SampleOptions& o, double u) {
  const Tensor logits = logits_in.host();
  const int64_t v = logits.numel();
  std::vector<int32_t> order(static_cast<size_t>(v));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits.at(a) > logits.at(b); });
  if (o.temperature <= 0) return order[0];
  const int64_t k = o.top_k > 0 ? std::min(o.top_k, v) : v;
  std::vector<double> p(static_cast<size_t>(k));
  const double top = logits.at(order[0]);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits.at(order[i]) - top) / o.temperature);
  double acc = 0;
  for (int64_t i = 0; i < k; ++i)
    if ((acc += p[i] / sum) > u) return order[i];
  return order[k - 1];
}

// The last position's logits of a (1, T, V) output.
Tensor last_row(const Var& y) {
  const int64_t t = y.shape()[1], v = y.shape()[2];
  return y.value().reshape({t, v}).rows(t - 1, 1).reshape({v});
}

// A Transformer run position by position: each block's cache of keys and values.
class CachedRun {
 public:
  CachedRun(Context& ctx, Model& model) : ctx_(ctx), model_(model) {
    for (size_t i = 0; i < model.num_layers(); ++i)
      if (auto* b = dynamic_cast<TransformerBlock*>(&model.layer(i))) {
        caches_.push_back(ctx.zeros({context(), 1, 3 * b->out_shape()[1]}, DType::kF32));
        lens_.push_back(0);
      }
  }
  int64_t context() { return dynamic_cast<TokenEmbedding&>(model_.layer(0)).context(); }
  int64_t filled() const { return lens_.empty() ? 0 : lens_[0]; }
  void reset() { std::fill(lens_.begin(), lens_.end(), 0); }
  // Runs `ids` at the next positions; the last one's logits.
  Tensor feed(const std::vector<int32_t>& ids) {
    Tensor t = Tensor::empty(host_memory(), {1, static_cast<int64_t>(ids.size())}, DType::kI32);
    std::copy(ids.begin(), ids.end(), t.data<int32_t>());
    Var x(t);
    const int64_t first = filled();
    size_t block = 0;
    for (size_t i = 0; i < model_.num_layers(); ++i) {
      Layer& l = model_.layer(i);
      if (auto* e = dynamic_cast<TokenEmbedding*>(&l)) {
        x = e->forward_at(ctx_, x, first);
      } else if (auto* b = dynamic_cast<TransformerBlock*>(&l)) {
        x = b->forward_cached(ctx_, x, caches_[block], lens_[block]);
        ++block;
      } else {
        x = l.forward(ctx_, x);
      }
    }
    return last_row(x);
  }

 private:
  Context& ctx_;
  Model& model_;
  std::vector<Tensor> caches_;
  std::vector<int64_t> lens_;
};

bool is_transformer(Model& model) {
  for (size_t i = 0; i < model.num_layers(); ++i)
    if (dynamic_cast<TransformerBlock*>(&model.layer(i))) return true;
  return false;
}

}  // namespace

absl::StatusOr<std::string> generate_text(Context& ctx, Model& model, const Vocabulary& vocab, int64_t window,
                                          const SampleOptions& o) {
  auto encoded = vocab.encode(o.prompt);
  if (!encoded.ok()) return absl::InvalidArgumentError(absl::StrCat("--prompt: ", encoded.status().message()));
  std::vector<int32_t> ids = *encoded;
  if (ids.empty()) return absl::InvalidArgumentError("--prompt: empty; give the text to continue");
  model.set_training(false);
  TapeScope none(ctx, nullptr);
  Philox rng(o.seed, 0x67656e);  // ("gen")
  if (is_transformer(model)) {
    CachedRun run(ctx, model);
    const int64_t context = run.context();
    // Past the context, the newest half of it is fed again into an emptied cache.
    auto refill = [&] {
      run.reset();
      const size_t keep = std::min<size_t>(ids.size(), static_cast<size_t>(std::max<int64_t>(context / 2, 1)));
      return run.feed(std::vector<int32_t>(ids.end() - static_cast<std::ptrdiff_t>(keep), ids.end()));
    };
    Tensor logits = static_cast<int64_t>(ids.size()) <= context ? run.feed(ids) : refill();
    for (int64_t i = 0; i < o.tokens; ++i) {
      ids.push_back(sample(logits, o, rng.uniform(static_cast<uint64_t>(i))));
      if (i + 1 == o.tokens) break;
      logits = run.filled() < context ? run.feed({ids.back()}) : refill();
    }
  } else {
    for (int64_t i = 0; i < o.tokens; ++i) {
      const size_t n = std::min<size_t>(ids.size(), static_cast<size_t>(window));
      Tensor t = Tensor::empty(host_memory(), {1, static_cast<int64_t>(n)}, DType::kI32);
      std::copy(ids.end() - static_cast<std::ptrdiff_t>(n), ids.end(), t.data<int32_t>());
      ids.push_back(sample(last_row(model.forward(ctx, Var(t))), o, rng.uniform(static_cast<uint64_t>(i))));
    }
  }
  return vocab.decode(ids);
}

}  // namespace ty
