// The enumerated values of the job spec. Each enum lists its values once, here, with the
// spelling a spec uses; the parser, its error messages and the README's spec reference
// all take the names from these tables.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace ty {

// The names of E's values, indexed by the value (values run 0, 1, ... in declaration order).
template <typename E>
inline constexpr std::array<const char*, 0> kEnumNames{};

#define TY_SPEC_ENUM(E, ...)          \
  enum class E : int { __VA_ARGS__ }; \
  template <>                         \
  inline constexpr std::array kEnumNames<E> = std::to_array<const char*>

TY_SPEC_ENUM(ModelKind, kMlp, kCnn, kLayers, kRnn, kTransformer, kSeq2seq, kGan)({"mlp", "cnn", "layers", "rnn", "transformer",
                                                                          "seq2seq", "gan"});
TY_SPEC_ENUM(RnnCell, kLstm, kGru)({"lstm", "gru"});
TY_SPEC_ENUM(PositionKind, kLearned, kSinusoidal)({"learned", "sinusoidal"});
TY_SPEC_ENUM(Seq2seqArch, kTransformer, kRnn)({"transformer", "rnn"});
TY_SPEC_ENUM(Seq2seqEmbeddings, kAuto, kShared, kSeparate)({"auto", "shared", "separate"});
TY_SPEC_ENUM(ActivationKind, kRelu, kLeakyRelu, kGelu, kTanh, kSigmoid)
({"relu", "leaky_relu", "gelu", "tanh", "sigmoid"});
TY_SPEC_ENUM(PoolKind, kMax, kAvg, kNone)({"max", "avg", "none"});
TY_SPEC_ENUM(DataFormat, kAuto, kIdx, kCsv, kShards, kText)({"auto", "idx", "csv", "shards", "text"});
TY_SPEC_ENUM(TokenKind, kBytes, kWords)({"bytes", "words"});
TY_SPEC_ENUM(TaskKind, kClassification, kRegression)({"classification", "regression"});
TY_SPEC_ENUM(Normalization, kNone, kStandardize, kSymmetric)({"none", "standardize", "symmetric"});
TY_SPEC_ENUM(BatchRemainder, kPartial, kDrop, kPad)({"partial", "drop", "pad"});
TY_SPEC_ENUM(CorruptPolicy, kError, kSkip)({"error", "skip"});
TY_SPEC_ENUM(LoaderKind, kAuto, kStream, kMemory)({"auto", "stream", "memory"});
TY_SPEC_ENUM(IoMode, kAuto, kPread, kMmap)({"auto", "pread", "mmap"});
TY_SPEC_ENUM(GpuDirect, kAuto, kOn, kOff)({"auto", "on", "off"});
TY_SPEC_ENUM(OptimizerKind, kSgd, kAdam, kAdamW)({"sgd", "adam", "adamw"});
TY_SPEC_ENUM(ScheduleKind, kConstant, kStep, kCosine, kInverseSqrt)({"constant", "step", "cosine", "inverse_sqrt"});
TY_SPEC_ENUM(LossKind, kAuto, kCrossEntropy, kMse, kBceWithLogits)({"auto", "cross_entropy", "mse", "bce_with_logits"});
TY_SPEC_ENUM(CommBackend, kAuto, kMpi, kUcx, kNone)({"auto", "mpi", "ucx", "none"});
TY_SPEC_ENUM(RunDevice, kCpu, kCuda)({"cpu", "cuda"});
TY_SPEC_ENUM(Precision, kFp32, kBf16, kFp16)({"fp32", "bf16", "fp16"});
TY_SPEC_ENUM(PipelineScheduleKind, kGPipe, kOneFOneB)({"gpipe", "1f1b"});
// kCuts is written as a list of cut points, never by its name.
TY_SPEC_ENUM(PartitionKind, kParameters, kUniform, kTime, kCuts)({"parameters", "uniform", "time", "cuts"});

#undef TY_SPEC_ENUM

template <typename E>
constexpr const char* name_of(E e) {
  return kEnumNames<E>[static_cast<size_t>(e)];
}

// Sets `out` to the value named `name`; false (and `out` unchanged) when none is.
template <typename E>
bool parse_enum(std::string_view name, E& out) {
  for (size_t i = 0; i < kEnumNames<E>.size(); ++i)
    if (std::string_view(kEnumNames<E>[i]) == name) {
      out = static_cast<E>(i);
      return true;
    }
  return false;
}

// "a, b, c": the allowed names, as error messages and the README list them.
template <typename E>
std::string enum_choices() {
  std::string out;
  for (const char* n : kEnumNames<E>) out.append(out.empty() ? "" : ", ").append(n);
  return out;
}

}  // namespace ty
