// The elementwise activations every backend implements (its own header so that CUDA code
// can name them without the tensor headers).
#pragma once

namespace ty {

enum class Eltwise { kRelu, kLeakyRelu, kGelu, kTanh, kSigmoid };

}  // namespace ty
