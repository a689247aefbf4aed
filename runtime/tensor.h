// Tensor: a shape, a dtype and a device over refcounted storage. Tensors are dense and
// row-major; views (reshape, rows) share storage with their base.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "runtime/allocator.h"
#include "runtime/dtype.h"

namespace ty {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// Bytes owned by one allocation; returned to its allocator when the last tensor lets go.
class Storage {
 public:
  Storage(std::shared_ptr<Allocator> alloc, size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  std::shared_ptr<Allocator> alloc_;
  void* data_;
  size_t bytes_;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;
  // Uninitialized tensor of `shape` in memory from `alloc`.
  static Tensor empty(const std::shared_ptr<Allocator>& alloc, Shape shape, DType dtype = DType::kF32,
                      Device device = {});
  // A run's tensors come from its Context (Context::empty); host memory outside any Context
  // (a few numbers between ranks, loaders' buffers) from host_memory() (allocator.h).

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? i + shape_.size() : i]; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return numel() * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Layout layout() const { return layout_; }
  // The same memory tagged with another layout (for kernels that write that layout).
  Tensor with_layout(Layout layout) const;
  // Whether `layout` can describe a tensor of this shape.
  static bool layout_fits(const Shape& shape, Layout layout);
  Device device() const { return storage_ ? storage_->device() : Device{}; }
  const std::shared_ptr<Allocator>& allocator() const { return alloc_; }

  void* raw() const { return static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype_); }
  template <class T>
  T* data() const {
    DCHECK(DTypeOf<T>::value == dtype_) << "data<" << dtype_name(DTypeOf<T>::value) << "> on " << dtype_name(dtype_);
    return static_cast<T*>(raw());
  }

  // Views sharing storage.
  Tensor reshape(Shape shape) const;                // plain tensors (or the same shape)
  Tensor rows(int64_t start, int64_t count) const;  // slice of dim 0

  // New tensors from the same allocator.
  Tensor empty_like() const;  // same shape, dtype and layout
  Tensor clone() const;
  // Same numel, dtype and layout; either tensor may be on the host or a device.
  void copy_from(const Tensor& src);
  void fill(double value);
  void zero();

  // A copy in `alloc`'s memory on `device` (from or to the host).
  Tensor copy_to(const std::shared_ptr<Allocator>& alloc, Device device) const;
  // This tensor when it is in host memory, else a host copy (waits for the device).
  Tensor host() const;
  bool on_host() const { return device().kind == DeviceKind::kCPU; }

  // Element access by flat index into memory, any dtype; slow (a device tensor copies the
  // element), for tests, tools and scalars.
  double item() const;  // numel() == 1
  double at(int64_t i) const;
  void set(int64_t i, double v);
  Tensor to(DType dtype) const;  // converting copy between float dtypes

  bool same_storage(const Tensor& o) const { return storage_ == o.storage_; }

 private:
  double device_at(int64_t i) const;  // at() of a tensor in device memory

  std::shared_ptr<Storage> storage_;
  std::shared_ptr<Allocator> alloc_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::kF32;
  Layout layout_ = Layout::kPlain;
};

}  // namespace ty
