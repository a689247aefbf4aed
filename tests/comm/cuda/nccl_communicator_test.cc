// NcclCommunicator on one rank and one GPU: every collective on device tensors, the
// timing of an operation, and a host tensor refused with a clear error. Without a CUDA
// device each test skips, saying why; tests/device/check.sh runs them on one.
#include "comm/nccl/nccl_communicator.h"
#include "comm/rendezvous/collective_store.h"

#include <cuda_runtime_api.h>

#include "comm/inprocess/inprocess_communicator.h"
#include "gtest/gtest.h"
#include "runtime/backend/cuda/device_allocator.h"
#include "runtime/device_probe.h"

namespace ty {
namespace {

class NcclOneRank : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gpu = cuda_device(0);
    if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message();
    hosts_ = InProcessCommunicator::create_group(1);
    rendezvous::CollectiveStore store(*hosts_[0]);
    auto c = NcclCommunicator::create(store, "nccl/test", 0, 1, 0, nullptr);
    ASSERT_TRUE(c.ok()) << c.status();
    nccl_ = std::move(*c);
    memory_ = std::make_shared<StreamAllocator>(device_, nullptr);
  }
  // A device tensor holding `values`.
  Tensor device_tensor(const std::vector<float>& values) {
    Tensor t = Tensor::empty(memory_, {static_cast<int64_t>(values.size())}, DType::kF32, Device{DeviceKind::kCUDA, 0});
    EXPECT_EQ(cudaMemcpy(t.raw(), values.data(), values.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    return t;
  }
  std::vector<float> host(const Tensor& t) {
    std::vector<float> out(t.numel());
    EXPECT_EQ(cudaMemcpy(out.data(), t.raw(), out.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  std::vector<std::unique_ptr<InProcessCommunicator>> hosts_;
  std::unique_ptr<NcclCommunicator> nccl_;
  CachingDeviceAllocator device_{0};
  std::shared_ptr<Allocator> memory_;
};

TEST_F(NcclOneRank, EveryCollectiveOnDeviceTensors) {
  EXPECT_EQ(nccl_->backend(), "nccl");
  Tensor a = device_tensor({1, 2, 3});
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
    auto h = nccl_->allreduce(a, op);
    ASSERT_TRUE(h->wait().ok());
    EXPECT_GE(h->run_seconds(), 0.0);
    EXPECT_EQ(host(a), (std::vector<float>{1, 2, 3}));  // one rank: unchanged
  }
  ASSERT_TRUE(nccl_->broadcast(a, 0)->wait().ok());
  Tensor out = device_tensor({0, 0, 0});
  ASSERT_TRUE(nccl_->allgather(a, out)->wait().ok());
  EXPECT_EQ(host(out), (std::vector<float>{1, 2, 3}));
  Tensor scattered = device_tensor({0, 0, 0});
  ASSERT_TRUE(nccl_->reduce_scatter(a, scattered, ReduceOp::kSum)->wait().ok());
  EXPECT_EQ(host(scattered), (std::vector<float>{1, 2, 3}));
  ASSERT_TRUE(nccl_->barrier()->wait().ok());
}

TEST_F(NcclOneRank, HostTensorsAndWrongSizesAreRefused) {
  Tensor cpu = Tensor::empty(host_memory(), {4});
  absl::Status st = nccl_->allreduce(cpu, ReduceOp::kSum)->wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("NCCL takes f32/f64 tensors on cuda:0, got f32 on cpu"), std::string::npos) << st;
  Tensor a = device_tensor({1, 2}), small = device_tensor({1});
  EXPECT_EQ(nccl_->allgather(a, small)->wait().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ty
