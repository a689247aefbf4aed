// HostKernels: the pointwise, loss, optimizer, embedding, recurrent and attention families as loops over host
// memory, f32 and f64, in plain and blocked layouts. They are the reference backend's (and so every host
// context's fallback), and the CPU references the CUDA kernels are checked against.
#pragma once

#include "runtime/backend/kernels/attention.h"
#include "runtime/backend/kernels/embedding.h"
#include "runtime/backend/kernels/loss.h"
#include "runtime/backend/kernels/optim.h"
#include "runtime/backend/kernels/pointwise.h"
#include "runtime/backend/kernels/recurrent.h"

namespace ty {

class HostKernels : public PointwiseKernels,
                    public LossKernels,
                    public OptimizerKernels,
                    public EmbeddingKernels,
                    public RecurrentKernels,
                    public AttentionKernels {
 public:
  TY_POINTWISE_KERNELS
  TY_LOSS_KERNELS
  TY_OPTIMIZER_KERNELS
  TY_EMBEDDING_KERNELS
  TY_RECURRENT_KERNELS
  TY_ATTENTION_KERNELS
};

}  // namespace ty
