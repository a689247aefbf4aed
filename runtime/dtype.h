// Element types and devices a Tensor can have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ty {

// kBF16 and kF16 hold 16-bit floats (runtime/half.h); the CUDA backend rounds matrix
// product and convolution inputs to them under runtime.precision: bf16 | fp16.
enum class DType : uint8_t { kF32, kF64, kI32, kU8, kBF16, kF16 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF64: return 8;
    case DType::kI32: return 4;
    case DType::kU8: return 1;
    case DType::kBF16: return 2;
    case DType::kF16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kI32: return "i32";
    case DType::kU8: return "u8";
    case DType::kBF16: return "bf16";
    case DType::kF16: return "f16";
  }
  return "?";
}

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kF32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kF64;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kI32;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kU8;
};

// How a tensor's elements lie in memory. kPlain: row-major in its shape. kBlocked16: a 4-D
// (N, C, H, W) tensor with C a multiple of 16 stored as (N, C/16, H, W, 16), the layout
// oneDNN's CPU convolutions and pooling run fastest on; elementwise ops do not care.
enum class Layout : uint8_t { kPlain, kBlocked16 };

inline const char* layout_name(Layout l) { return l == Layout::kPlain ? "plain" : "blocked16"; }

enum class DeviceKind : uint8_t { kCPU, kCUDA };

struct Device {
  DeviceKind kind = DeviceKind::kCPU;
  int index = 0;
  bool operator==(const Device&) const = default;
  std::string str() const { return kind == DeviceKind::kCPU ? "cpu" : "cuda:" + std::to_string(index); }
};

// Runs `body` with `T` bound to the C++ type of a floating dtype (f32 or f64).
#define TY_DISPATCH_FLOAT(dtype, T, ...)                                                \
  do {                                                                                  \
    if ((dtype) == ::ty::DType::kF32) {                                                 \
      using T = float;                                                                  \
      __VA_ARGS__                                                                       \
    } else {                                                                            \
      CHECK((dtype) == ::ty::DType::kF64) << "float op on " << ::ty::dtype_name(dtype); \
      using T = double;                                                                 \
      __VA_ARGS__                                                                       \
    }                                                                                   \
  } while (0)

}  // namespace ty
