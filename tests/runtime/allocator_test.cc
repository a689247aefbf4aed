// The host memory budget: allocations past it throw OutOfMemory (exit class 4) instead of
// leaving the kernel's OOM killer to end the process; freed memory makes room again.
#include "runtime/allocator.h"

#include "gtest/gtest.h"

namespace ty {
namespace {

TEST(HostMemoryBudget, AllocationsPastTheBudgetFailAsOutOfMemory) {
  const size_t before = host_memory_budget();
  CachingHostAllocator alloc(/*cache_limit=*/0);
  set_host_memory_budget(host_memory_in_use() + (8 << 20));
  void* a = alloc.allocate(4 << 20);
  try {
    alloc.allocate(6 << 20);
    ADD_FAILURE() << "no OutOfMemory";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("past this rank's"), std::string::npos) << e.what();
  }
  alloc.deallocate(a, 4 << 20);  // freed (nothing cached): room again
  void* b = alloc.allocate(6 << 20);
  alloc.deallocate(b, 6 << 20);
  set_host_memory_budget(before);
}

TEST(HostMemoryBudget, CachedBlocksDoNotCount) {
  const size_t before = host_memory_budget();
  CachingHostAllocator alloc;  // caches freed blocks
  set_host_memory_budget(host_memory_in_use() + (8 << 20));
  alloc.deallocate(alloc.allocate(6 << 20), 6 << 20);  // cached, not in use
  void* b = alloc.allocate(5 << 20);
  alloc.deallocate(b, 5 << 20);
  set_host_memory_budget(before);
}

}  // namespace
}  // namespace ty
