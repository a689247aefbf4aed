// The decoder's state while translating (worker/trainer/translation.h): one position per
// step for every live hypothesis of a batch of sentences, reordered as beam search keeps
// and drops hypotheses.
//   TransformerRun  decoder blocks over a key/value cache that grows by each step's rows; a
//                   hypothesis attends to its ancestry's rows through an index (the caches
//                   are never copied) and to its sentence's rows of the memory.
//   RnnRun          an attentional RNN decoder's cell states and per-row memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/autograd.h"

namespace ty {

class AttentionalDecoder;
class TransformerBlock;

class DecoderRun {
 public:
  virtual ~DecoderRun() = default;
  // x (R, 1, D): the embedded last tokens -> what the output layer takes (R, 1, ·).
  virtual Var step(Context& ctx, const Var& x) = 0;
  // Hypothesis r goes on from parent[r]'s state; the rows no parent names are dropped (their
  // sentences are done), so the next step has parent.size() rows.
  virtual void reorder(Context& ctx, const std::vector<int32_t>& parent) = 0;
};

// `kv`: each block's memory_kv (S, Ls, 2D); `source_len`: each sentence's source length
// ("</s>" counted); B = `beam` rows a sentence to start; `steps`: the most positions.
std::unique_ptr<DecoderRun> transformer_run(Context& ctx, const std::vector<TransformerBlock*>& blocks,
                                            const std::vector<Var>& kv, std::vector<int32_t> source_len,
                                            int64_t beam, int64_t steps, DType dtype);
// `kv`: the decoder's memory_kv (S, Ls, ·).
std::unique_ptr<DecoderRun> rnn_run(Context& ctx, AttentionalDecoder* decoder, Var kv,
                                    std::vector<int32_t> source_len, int64_t beam);

// A host i32 tensor of `values`.
Tensor i32_host(Shape shape, const std::vector<int32_t>& values);

}  // namespace ty
