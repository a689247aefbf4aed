#include "runtime/backend/cuda/cudnn_conv.h"

#include <cudnn.h>

#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/backend/cuda/dynamic_library.h"

namespace ty::cuda {

struct CudnnConv::Api {
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnDestroy) destroy = nullptr;
  decltype(&cudnnSetStream) set_stream = nullptr;
  decltype(&cudnnGetErrorString) error_string = nullptr;
  decltype(&cudnnCreateTensorDescriptor) create_tensor = nullptr;
  decltype(&cudnnDestroyTensorDescriptor) destroy_tensor = nullptr;
  decltype(&cudnnSetTensor4dDescriptor) set_tensor = nullptr;
  decltype(&cudnnCreateFilterDescriptor) create_filter = nullptr;
  decltype(&cudnnDestroyFilterDescriptor) destroy_filter = nullptr;
  decltype(&cudnnSetFilter4dDescriptor) set_filter = nullptr;
  decltype(&cudnnCreateConvolutionDescriptor) create_conv = nullptr;
  decltype(&cudnnDestroyConvolutionDescriptor) destroy_conv = nullptr;
  decltype(&cudnnSetConvolution2dDescriptor) set_conv = nullptr;
  decltype(&cudnnSetConvolutionMathType) set_math = nullptr;
  decltype(&cudnnGetConvolutionForwardAlgorithm_v7) fwd_algos = nullptr;
  decltype(&cudnnGetConvolutionBackwardDataAlgorithm_v7) bwd_data_algos = nullptr;
  decltype(&cudnnGetConvolutionBackwardFilterAlgorithm_v7) bwd_filter_algos = nullptr;
  decltype(&cudnnFindConvolutionForwardAlgorithm) find_fwd = nullptr;
  decltype(&cudnnFindConvolutionBackwardDataAlgorithm) find_bwd_data = nullptr;
  decltype(&cudnnFindConvolutionBackwardFilterAlgorithm) find_bwd_filter = nullptr;
  decltype(&cudnnConvolutionForward) forward = nullptr;
  decltype(&cudnnConvolutionBackwardData) backward_data = nullptr;
  decltype(&cudnnConvolutionBackwardFilter) backward_filter = nullptr;
  std::string error;
};

namespace {

template <class F>
bool resolve(void* lib, const char* name, F& out, std::string& error) {
  return resolve_symbol(lib, name, out, error, "cuDNN", "cuDNN 9 is needed");
}

const CudnnConv::Api* load_api() {
  static CudnnConv::Api a;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void* lib = open_first_library({"libcudnn.so.9", "libcudnn.so"}, &tried);
    if (lib == nullptr) {
      a.error = absl::StrCat("cuDNN not found (", tried,
                             "); put libcudnn.so.9 on LD_LIBRARY_PATH (/usr/local/cuda/lib64, or PyTorch's "
                             "nvidia/cudnn/lib)");
      return;
    }
    std::string& e = a.error;
    resolve(lib, "cudnnCreate", a.create, e) && resolve(lib, "cudnnDestroy", a.destroy, e) &&
        resolve(lib, "cudnnSetStream", a.set_stream, e) && resolve(lib, "cudnnGetErrorString", a.error_string, e) &&
        resolve(lib, "cudnnCreateTensorDescriptor", a.create_tensor, e) &&
        resolve(lib, "cudnnDestroyTensorDescriptor", a.destroy_tensor, e) &&
        resolve(lib, "cudnnSetTensor4dDescriptor", a.set_tensor, e) &&
        resolve(lib, "cudnnCreateFilterDescriptor", a.create_filter, e) &&
        resolve(lib, "cudnnDestroyFilterDescriptor", a.destroy_filter, e) &&
        resolve(lib, "cudnnSetFilter4dDescriptor", a.set_filter, e) &&
        resolve(lib, "cudnnCreateConvolutionDescriptor", a.create_conv, e) &&
        resolve(lib, "cudnnDestroyConvolutionDescriptor", a.destroy_conv, e) &&
        resolve(lib, "cudnnSetConvolution2dDescriptor", a.set_conv, e) &&
        resolve(lib, "cudnnSetConvolutionMathType", a.set_math, e) &&
        resolve(lib, "cudnnGetConvolutionForwardAlgorithm_v7", a.fwd_algos, e) &&
        resolve(lib, "cudnnGetConvolutionBackwardDataAlgorithm_v7", a.bwd_data_algos, e) &&
        resolve(lib, "cudnnGetConvolutionBackwardFilterAlgorithm_v7", a.bwd_filter_algos, e) &&
        resolve(lib, "cudnnFindConvolutionForwardAlgorithm", a.find_fwd, e) &&
        resolve(lib, "cudnnFindConvolutionBackwardDataAlgorithm", a.find_bwd_data, e) &&
        resolve(lib, "cudnnFindConvolutionBackwardFilterAlgorithm", a.find_bwd_filter, e) &&
        resolve(lib, "cudnnConvolutionForward", a.forward, e) &&
        resolve(lib, "cudnnConvolutionBackwardData", a.backward_data, e) &&
        resolve(lib, "cudnnConvolutionBackwardFilter", a.backward_filter, e);
  });
  return &a;
}

constexpr size_t kMaxWorkspace = size_t{512} << 20;

// The first of cuDNN's ranked algorithms that works and whose workspace fits, and its
// workspace size; false if there is none.
template <class Perf, class Algo>
bool first_fitting(const Perf* perf, int found, Algo& algo, size_t& bytes) {
  int k = 0;
  while (k < found && (perf[k].status != CUDNN_STATUS_SUCCESS || perf[k].memory > kMaxWorkspace)) ++k;
  if (k == found) return false;
  algo = perf[k].algo;
  bytes = perf[k].memory;
  return true;
}

}  // namespace

// Fails the process naming the cuDNN call and the op.
#define TY_CUDNN_CHECK(call, op)                                                                                 \
  do {                                                                                                           \
    const cudnnStatus_t ty_s_ = (call);                                                                          \
    CHECK(ty_s_ == CUDNN_STATUS_SUCCESS) << #call << " failed in " << (op) << ": " << api_->error_string(ty_s_); \
  } while (0)

struct CudnnConv::Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t fwd_bytes = 0, bwd_data_bytes = 0, bwd_filter_bytes = 0;
  bool supported = true;  // cuDNN has an algorithm in every direction
};

absl::StatusOr<std::unique_ptr<CudnnConv>> CudnnConv::create(cudaStream_t stream, CachingDeviceAllocator& memory,
                                                             bool allow_tf32, bool benchmark) {
  const Api* api = load_api();
  if (!api->error.empty()) return absl::FailedPreconditionError(api->error);
  std::unique_ptr<CudnnConv> c(new CudnnConv());
  c->api_ = api;
  c->stream_ = stream;
  c->memory_ = &memory;
  c->allow_tf32_ = allow_tf32;
  c->benchmark_ = benchmark;
  cudnnHandle_t h = nullptr;
  if (cudnnStatus_t s = api->create(&h); s != CUDNN_STATUS_SUCCESS)
    return absl::InternalError(absl::StrCat("cudnnCreate failed: ", api->error_string(s)));
  c->handle_ = h;
  if (cudnnStatus_t s = api->set_stream(h, stream); s != CUDNN_STATUS_SUCCESS)
    return absl::InternalError(absl::StrCat("cudnnSetStream failed: ", api->error_string(s)));
  return c;
}

CudnnConv::~CudnnConv() {
  for (auto& [key, p] : plans_) {
    api_->destroy_tensor(p->x);
    api_->destroy_tensor(p->y);
    api_->destroy_filter(p->w);
    api_->destroy_conv(p->conv);
  }
  if (workspace_ != nullptr) memory_->deallocate(workspace_);
  if (handle_ != nullptr) api_->destroy(static_cast<cudnnHandle_t>(handle_));
}

void* CudnnConv::workspace(size_t bytes) {
  if (bytes <= workspace_bytes_) return workspace_;
  if (workspace_ != nullptr) memory_->deallocate(workspace_);
  absl::StatusOr<void*> p = memory_->allocate(bytes, stream_);
  CHECK(p.ok()) << "convolution workspace: " << p.status().message();
  workspace_ = *p;
  workspace_bytes_ = bytes;
  return workspace_;
}

CudnnConv::Plan& CudnnConv::plan(const ConvGeom& g, Type type) {
  const Key key{g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.p, g.q, g.stride_h, g.stride_w, g.pad_h, g.pad_w, type};
  std::unique_ptr<Plan>& slot = plans_[key];
  if (slot) return *slot;
  auto p = std::make_unique<Plan>();
  const char* op = "convolution setup";
  auto i = [](int64_t v) { return static_cast<int>(v); };
  TY_CUDNN_CHECK(api_->create_tensor(&p->x), op);
  TY_CUDNN_CHECK(api_->create_tensor(&p->y), op);
  TY_CUDNN_CHECK(api_->create_filter(&p->w), op);
  TY_CUDNN_CHECK(api_->create_conv(&p->conv), op);
  const cudnnDataType_t dt = type == Type::kBF16  ? CUDNN_DATA_BFLOAT16
                             : type == Type::kF16 ? CUDNN_DATA_HALF
                                                  : CUDNN_DATA_FLOAT;
  TY_CUDNN_CHECK(api_->set_tensor(p->x, CUDNN_TENSOR_NCHW, dt, i(g.n), i(g.c), i(g.h), i(g.w)), op);
  TY_CUDNN_CHECK(api_->set_tensor(p->y, CUDNN_TENSOR_NCHW, dt, i(g.n), i(g.k), i(g.p), i(g.q)), op);
  TY_CUDNN_CHECK(api_->set_filter(p->w, dt, CUDNN_TENSOR_NCHW, i(g.k), i(g.c), i(g.r), i(g.s)), op);
  TY_CUDNN_CHECK(api_->set_conv(p->conv, i(g.pad_h), i(g.pad_w), i(g.stride_h), i(g.stride_w), 1, 1,
                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                 op);
  // 16-bit inputs accumulate in f32 on tensor cores; f32 inputs use them only with TF32.
  TY_CUDNN_CHECK(api_->set_math(p->conv, type != Type::kF32 ? CUDNN_TENSOR_OP_MATH
                                         : allow_tf32_      ? CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
                                                            : CUDNN_FMA_MATH),
                 op);
  cudnnHandle_t h = static_cast<cudnnHandle_t>(handle_);
  // Per direction: cuDNN's ranking (by timing each algorithm once, or by its heuristics),
  // then the first algorithm whose workspace fits. Timing waits for the stream.
  if (benchmark_) TY_CUDA_CHECK(cudaStreamSynchronize(stream_), "convolution algorithm timing");
  // A 16-bit configuration cuDNN cannot run is reported by supports(); f32 must work.
  auto usable = [&](cudnnStatus_t ranked, bool fits, const char* direction) {
    if (type != Type::kF32) return ranked == CUDNN_STATUS_SUCCESS && fits;
    CHECK(ranked == CUDNN_STATUS_SUCCESS)
        << "ranking " << direction << " convolution algorithms failed in " << op << ": " << api_->error_string(ranked);
    CHECK(fits) << "cuDNN offers no " << direction << " convolution algorithm for this shape";
    return true;
  };
  {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    auto rank = benchmark_ ? api_->find_fwd : api_->fwd_algos;
    const cudnnStatus_t st = rank(h, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf);
    p->supported &=
        usable(st, st == CUDNN_STATUS_SUCCESS && first_fitting(perf, found, p->fwd, p->fwd_bytes), "forward");
  }
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int found = 0;
    auto rank = benchmark_ ? api_->find_bwd_data : api_->bwd_data_algos;
    const cudnnStatus_t st = rank(h, p->w, p->y, p->conv, p->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf);
    p->supported &= usable(st, st == CUDNN_STATUS_SUCCESS && first_fitting(perf, found, p->bwd_data, p->bwd_data_bytes),
                           "backward-data");
  }
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int found = 0;
    auto rank = benchmark_ ? api_->find_bwd_filter : api_->bwd_filter_algos;
    const cudnnStatus_t st = rank(h, p->x, p->y, p->conv, p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf);
    p->supported &=
        usable(st, st == CUDNN_STATUS_SUCCESS && first_fitting(perf, found, p->bwd_filter, p->bwd_filter_bytes),
               "backward-filter");
  }
  slot = std::move(p);
  return *slot;
}

bool CudnnConv::supports(const ConvGeom& g, Type t) { return plan(g, t).supported; }

void CudnnConv::forward(const ConvGeom& g, Type t, const void* x, const void* w, void* y) {
  Plan& p = plan(g, t);
  const float one = 1.f, zero = 0.f;
  TY_CUDNN_CHECK(api_->forward(static_cast<cudnnHandle_t>(handle_), &one, p.x, x, p.w, w, p.conv, p.fwd,
                               workspace(p.fwd_bytes), p.fwd_bytes, &zero, p.y, y),
                 "conv2d_forward");
}

void CudnnConv::backward_data(const ConvGeom& g, Type t, const void* dy, const void* w, void* dx) {
  Plan& p = plan(g, t);
  const float one = 1.f, zero = 0.f;
  TY_CUDNN_CHECK(api_->backward_data(static_cast<cudnnHandle_t>(handle_), &one, p.w, w, p.y, dy, p.conv, p.bwd_data,
                                     workspace(p.bwd_data_bytes), p.bwd_data_bytes, &zero, p.x, dx),
                 "conv2d_backward_data");
}

void CudnnConv::backward_weights(const ConvGeom& g, Type t, const void* x, const void* dy, void* dw) {
  Plan& p = plan(g, t);
  const float one = 1.f, zero = 0.f;
  TY_CUDNN_CHECK(api_->backward_filter(static_cast<cudnnHandle_t>(handle_), &one, p.x, x, p.y, dy, p.conv, p.bwd_filter,
                                       workspace(p.bwd_filter_bytes), p.bwd_filter_bytes, &zero, p.w, dw),
                 "conv2d_backward_weights");
}

}  // namespace ty::cuda
