// Helpers for the host kernels' f32 hot loops: TY_HOT_CLONES compiles a function for several
// ISAs and picks the best one at load time (an ifunc resolver; under ThreadSanitizer, whose
// instrumented resolver would run before it starts, one version), and exp, sigmoid and tanh
// as branch-free arithmetic that the compiler vectorizes (libm's calls stop it).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__SANITIZE_THREAD__)
#define TY_NO_TARGET_CLONES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TY_NO_TARGET_CLONES 1
#endif
#endif
#ifdef TY_NO_TARGET_CLONES
#define TY_HOT_CLONES
#else
#define TY_HOT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

namespace ty {

// e^x to about 2 ulp over the f32 range (Cephes' expf: x = n ln 2 + r, a degree-5
// polynomial for e^r, 2^n by the exponent bits); x is clamped to [-87.3, 88.3] (e^-87.3 ≈
// 1.2e-38, the smallest normal; n stays at most 127, so the largest is finite).
inline float fast_exp(float x) {
  // (selects: std::fmin and std::fmax stop the vectorizer, and selects need the file built
  // with -fno-trapping-math)
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // n = round(x / ln 2) by the 1.5 · 2²³ trick (exact for |n| < 2²²), no libm call.
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.f;
  return e * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}

inline float fast_sigmoid(float x) { return 1.f / (1.f + fast_exp(-x)); }
// 2 σ(2x) − 1: within 1e-7 of tanh (absolute) everywhere.
inline float fast_tanh(float x) { return 2.f / (1.f + fast_exp(-2.f * x)) - 1.f; }

// The same names for f64 (libm): the f64 paths are references, not hot.
inline double fast_exp(double x) { return std::exp(x); }
inline double fast_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double fast_tanh(double x) { return std::tanh(x); }

}  // namespace ty
