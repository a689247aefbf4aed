// Scratch: receive space that collectives reuse from call to call (grown, never shrunk),
// so that no collective allocates and first-touches fresh pages, and a transport that
// registers memory (RDMA) registers it once.
#pragma once

#include <cstddef>
#include <memory>

namespace ty {

class Scratch {
 public:
  // At least `bytes` of space, valid until the next call.
  char* get(size_t bytes) {
    if (bytes > capacity_) {
      buf_ = std::make_unique_for_overwrite<char[]>(bytes);
      capacity_ = bytes;
    }
    return buf_.get();
  }

 private:
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
};

}  // namespace ty
