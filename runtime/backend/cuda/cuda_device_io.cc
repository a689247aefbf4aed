// open_cuda_device_io: DeviceIo (runtime/device_io.h) on a CUDA device — a copy stream of
// its own, events as markers, the record kernels (record_kernels.h). Every call first makes
// the device current on the calling thread: loaders call from threads of their own.
#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/backend/cuda/record_kernels.h"
#include "runtime/device_io.h"
#include "runtime/status.h"

namespace ty {
namespace {

class CudaDeviceIo final : public DeviceIo {
 public:
  CudaDeviceIo(int index, cudaStream_t compute) : index_(index), compute_(compute) {}
  ~CudaDeviceIo() override {
    if (copy_) {
      cudaStreamSynchronize(copy_);
      cudaStreamDestroy(copy_);
    }
    if (tables_) cudaFree(tables_);
  }
  absl::Status init() {
    TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaSetDevice(index_), "the data path's device"));
    TY_RETURN_IF_ERROR(
        TY_CUDA_STATUS(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking), "the data path's copy stream"));
    Crc32cTables host;
    fill_crc32c_tables(host);
    TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaMalloc(reinterpret_cast<void**>(&tables_), sizeof host), "the CRC32C tables"));
    return TY_CUDA_STATUS(cudaMemcpy(tables_, &host, sizeof host, cudaMemcpyHostToDevice), "the CRC32C tables");
  }

  Device device() const override { return Device{DeviceKind::kCUDA, index_}; }
  absl::StatusOr<void*> alloc_pinned(size_t bytes) override {
    on_device();
    void* p = nullptr;
    const cudaError_t e = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
    if (e != cudaSuccess)
      return absl::ResourceExhaustedError(
          absl::StrCat("out of page-locked host memory for ", bytes, " bytes: ", cudaGetErrorString(e)));
    return p;
  }
  void free_pinned(void* p) override {
    on_device();
    cudaFreeHost(p);
  }
  absl::StatusOr<void*> alloc_device(size_t bytes) override {
    on_device();
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess)
      return absl::ResourceExhaustedError(absl::StrCat("out of memory on cuda:", index_, " for ", bytes,
                                                       " bytes of the data path's buffers: ", cudaGetErrorString(e)));
    return p;
  }
  void free_device(void* p) override {
    on_device();
    cudaFree(p);
  }
  absl::Status copy_to_device(void* device, const void* pinned, size_t bytes) override {
    on_device();
    return TY_CUDA_STATUS(cudaMemcpyAsync(device, pinned, bytes, cudaMemcpyHostToDevice, copy_),
                          "a batch's copy to the device");
  }
  absl::Status copy_to_host(void* pinned, const void* device, size_t bytes) override {
    on_device();
    return TY_CUDA_STATUS(cudaMemcpyAsync(pinned, device, bytes, cudaMemcpyDeviceToHost, copy_),
                          "record flags' copy to the host");
  }
  absl::Status check_records(const uint8_t* const* records, int64_t n, const RecordLayout& layout,
                             uint8_t* flags) override {
    on_device();
    cuda::check_records(copy_, tables_, records, n, layout, flags);
    return absl::OkStatus();
  }
  absl::StatusOr<Marker> mark_copies() override { return mark(copy_); }
  absl::Status decode_records(const Marker& after, const uint8_t* const* records, int64_t n,
                              const RecordLayout& layout, void* x, void* y) override {
    on_device();
    if (after)
      TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaStreamWaitEvent(compute_, static_cast<cudaEvent_t>(after.get()), 0),
                                        "ordering a batch's decode after its copy"));
    cuda::decode_records(compute_, records, n, layout, x, y);
    return absl::OkStatus();
  }
  absl::StatusOr<Marker> mark_compute() override { return mark(compute_); }
  // An event that failed (a lost device) is never reached: wait() reports it.
  bool reached(const Marker& m) override {
    return !m || cudaEventQuery(static_cast<cudaEvent_t>(m.get())) == cudaSuccess;
  }
  absl::Status wait(const Marker& m) override {
    if (!m) return absl::OkStatus();
    return TY_CUDA_STATUS(cudaEventSynchronize(static_cast<cudaEvent_t>(m.get())), "waiting for the data path");
  }

 private:
  // The calling thread's current device (loader threads start on device 0).
  void on_device() const { TY_CUDA_CHECK(cudaSetDevice(index_), "the data path's device"); }
  absl::StatusOr<Marker> mark(cudaStream_t s) {
    on_device();
    cudaEvent_t e = nullptr;
    TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "a data path event"));
    Marker m(static_cast<void*>(e), [](void* p) { cudaEventDestroy(static_cast<cudaEvent_t>(p)); });
    TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaEventRecord(e, s), "a data path event"));
    return m;
  }

  int index_;
  cudaStream_t compute_;
  cudaStream_t copy_ = nullptr;
  Crc32cTables* tables_ = nullptr;
};

}  // namespace

absl::StatusOr<std::shared_ptr<DeviceIo>> open_cuda_device_io(int index, void* compute_stream) {
  auto io = std::make_shared<CudaDeviceIo>(index, static_cast<cudaStream_t>(compute_stream));
  TY_RETURN_IF_ERROR(io->init());
  return std::shared_ptr<DeviceIo>(std::move(io));
}

}  // namespace ty
