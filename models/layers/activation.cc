#include "models/layers/activation.h"

#include "runtime/ops/ops.h"

namespace ty {
namespace {

Eltwise eltwise_of(ActivationKind a) {
  switch (a) {
    case ActivationKind::kRelu: return Eltwise::kRelu;
    case ActivationKind::kLeakyRelu: return Eltwise::kLeakyRelu;
    case ActivationKind::kGelu: return Eltwise::kGelu;
    case ActivationKind::kTanh: return Eltwise::kTanh;
    case ActivationKind::kSigmoid: return Eltwise::kSigmoid;
  }
  LOG(FATAL) << "activation " << static_cast<int>(a) << " has no kernel";
}

const char* eltwise_name(Eltwise k) {
  switch (k) {
    case Eltwise::kRelu: return "relu";
    case Eltwise::kLeakyRelu: return "leaky_relu";
    case Eltwise::kGelu: return "gelu";
    case Eltwise::kTanh: return "tanh";
    case Eltwise::kSigmoid: return "sigmoid";
  }
  return "?";
}

}  // namespace

Activation::Activation(const Shape& in, Eltwise kind, float alpha) : kind_(kind), alpha_(alpha) { out_shape_ = in; }

Var Activation::forward(Context& ctx, const Var& x) { return ops::activation(ctx, x, kind_, alpha_); }

std::string Activation::describe() const { return eltwise_name(kind_); }

void add_activation(Sequential& seq, ActivationKind kind, float slope) {
  seq.add(std::make_unique<Activation>(seq.out_shape(), eltwise_of(kind), slope));
}

namespace {
template <ActivationKind kind>
absl::Status build_activation(LayerBuild&, const LayerSpec& l, const std::string&, Sequential& seq) {
  add_activation(seq, kind, l.slope);
  return absl::OkStatus();
}
constexpr LayerBuilder build_relu = build_activation<ActivationKind::kRelu>;
constexpr LayerBuilder build_leaky_relu = build_activation<ActivationKind::kLeakyRelu>;
constexpr LayerBuilder build_gelu = build_activation<ActivationKind::kGelu>;
constexpr LayerBuilder build_tanh = build_activation<ActivationKind::kTanh>;
constexpr LayerBuilder build_sigmoid = build_activation<ActivationKind::kSigmoid>;
}  // namespace
TY_REGISTER_LAYER("relu", build_relu);
TY_REGISTER_LAYER("leaky_relu", build_leaky_relu);
TY_REGISTER_LAYER("gelu", build_gelu);
TY_REGISTER_LAYER("tanh", build_tanh);
TY_REGISTER_LAYER("sigmoid", build_sigmoid);

}  // namespace ty
