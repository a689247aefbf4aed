// TY_HD marks functions that host code and CUDA kernels share (the same formula on both,
// so a CUDA kernel and its CPU reference cannot drift apart).
#pragma once

#ifdef __CUDACC__
#define TY_HD __host__ __device__
#else
#define TY_HD
#endif
