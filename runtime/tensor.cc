#include "runtime/tensor.h"

#include <cstring>
#include <sstream>

#include "runtime/half.h"

namespace ty {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  if (s.size() == 1) o << ",";
  o << ")";
  return o.str();
}

Storage::Storage(std::shared_ptr<Allocator> alloc, size_t bytes, Device device)
    : alloc_(std::move(alloc)), data_(alloc_->allocate(bytes)), bytes_(bytes), device_(device) {}

Storage::~Storage() { alloc_->deallocate(data_, bytes_); }

Tensor Tensor::empty(const std::shared_ptr<Allocator>& alloc, Shape shape, DType dtype, Device device) {
  for (int64_t d : shape) CHECK_GE(d, 0) << "negative dimension in " << shape_str(shape);
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.alloc_ = alloc;
  t.storage_ = std::make_shared<Storage>(alloc, t.numel() * dtype_size(dtype), device);
  return t;
}

bool Tensor::layout_fits(const Shape& shape, Layout layout) {
  return layout == Layout::kPlain || (shape.size() == 4 && shape[1] % 16 == 0);
}

Tensor Tensor::with_layout(Layout layout) const {
  CHECK(layout_fits(shape_, layout)) << layout_name(layout) << " layout for " << shape_str(shape_);
  Tensor t = *this;
  t.layout_ = layout;
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CHECK_EQ(infer, -1) << "reshape with two -1 dimensions";
      infer = i;
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[infer] = known == 0 ? 0 : numel() / known;
  CHECK_EQ(shape_numel(shape), numel()) << "reshape " << shape_str(shape_) << " to " << shape_str(shape);
  CHECK(layout_ == Layout::kPlain || shape == shape_)
      << "reshape of a " << layout_name(layout_) << " tensor " << shape_str(shape_);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t start, int64_t count) const {
  CHECK_GE(ndim(), 1);
  CHECK(start >= 0 && count >= 0 && start + count <= shape_[0])
      << "rows [" << start << ", " << start + count << ") of " << shape_str(shape_);
  Tensor t = *this;
  int64_t row = numel() / std::max<int64_t>(shape_[0], 1);
  t.offset_ += start * row;
  t.shape_[0] = count;
  return t;
}

Tensor Tensor::empty_like() const {
  Tensor t = empty(alloc_, shape_, dtype_, device());
  t.layout_ = layout_;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty_like();
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  CHECK_EQ(numel(), src.numel()) << "copy " << shape_str(src.shape_) << " into " << shape_str(shape_);
  CHECK(dtype_ == src.dtype_) << "copy " << dtype_name(src.dtype_) << " into " << dtype_name(dtype_);
  CHECK(layout_ == src.layout_) << "copy " << layout_name(src.layout_) << " into " << layout_name(layout_);
  if (raw() == src.raw() || nbytes() == 0) return;
  if (device() == src.device()) {
    alloc_->copy(raw(), src.raw(), nbytes());
  } else if (src.on_host()) {
    alloc_->from_host(raw(), src.raw(), nbytes());
  } else if (on_host()) {
    src.alloc_->to_host(raw(), src.raw(), nbytes());
  } else {
    copy_from(src.host());
  }
}

namespace {
// The bytes of `value` stored as `dtype`.
size_t pattern_of(DType dtype, double value, unsigned char (&out)[8]) {
  switch (dtype) {
    case DType::kF32: {
      float v = static_cast<float>(value);
      std::memcpy(out, &v, 4);
      return 4;
    }
    case DType::kF64: std::memcpy(out, &value, 8); return 8;
    case DType::kI32: {
      int32_t v = static_cast<int32_t>(value);
      std::memcpy(out, &v, 4);
      return 4;
    }
    case DType::kU8: out[0] = static_cast<unsigned char>(value); return 1;
    case DType::kBF16: {
      uint16_t v = bf16_from_float(static_cast<float>(value));
      std::memcpy(out, &v, 2);
      return 2;
    }
    case DType::kF16: {
      uint16_t v = f16_from_float(static_cast<float>(value));
      std::memcpy(out, &v, 2);
      return 2;
    }
  }
  return 0;
}
}  // namespace

void Tensor::fill(double value) {
  unsigned char pattern[8];
  const size_t bytes = pattern_of(dtype_, value, pattern);
  if (numel() > 0) alloc_->fill(raw(), numel(), pattern, bytes);
}

void Tensor::zero() {
  const unsigned char z = 0;
  if (nbytes() > 0) alloc_->fill(raw(), nbytes(), &z, 1);
}

Tensor Tensor::copy_to(const std::shared_ptr<Allocator>& alloc, Device device) const {
  Tensor t = empty(alloc, shape_, dtype_, device);
  t.layout_ = layout_;
  t.copy_from(*this);
  return t;
}

Tensor Tensor::host() const {
  if (on_host()) return *this;
  Tensor t = empty(host_memory(), shape_, dtype_);
  t.layout_ = layout_;
  t.copy_from(*this);
  return t;
}

double Tensor::at(int64_t i) const {
  if (!on_host()) return device_at(i);
  switch (dtype_) {
    case DType::kF32: return data<float>()[i];
    case DType::kF64: return data<double>()[i];
    case DType::kI32: return data<int32_t>()[i];
    case DType::kU8: return static_cast<const uint8_t*>(raw())[i];
    case DType::kBF16: return float_from_bf16(static_cast<const uint16_t*>(raw())[i]);
    case DType::kF16: return float_from_f16(static_cast<const uint16_t*>(raw())[i]);
  }
  return 0;
}

double Tensor::device_at(int64_t i) const {
  unsigned char bytes[8] = {};
  const size_t es = dtype_size(dtype_);
  alloc_->to_host(bytes, static_cast<const char*>(raw()) + i * es, es);
  switch (dtype_) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, bytes, 4);
      return v;
    }
    case DType::kF64: {
      double v;
      std::memcpy(&v, bytes, 8);
      return v;
    }
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, bytes, 4);
      return v;
    }
    case DType::kU8: return bytes[0];
    case DType::kBF16: {
      uint16_t v;
      std::memcpy(&v, bytes, 2);
      return float_from_bf16(v);
    }
    case DType::kF16: {
      uint16_t v;
      std::memcpy(&v, bytes, 2);
      return float_from_f16(v);
    }
  }
  return 0;
}

void Tensor::set(int64_t i, double v) {
  if (!on_host()) {
    unsigned char pattern[8];
    const size_t es = pattern_of(dtype_, v, pattern);
    alloc_->from_host(static_cast<char*>(raw()) + i * es, pattern, es);
    return;
  }
  switch (dtype_) {
    case DType::kF32: data<float>()[i] = v; break;
    case DType::kF64: data<double>()[i] = v; break;
    case DType::kI32: data<int32_t>()[i] = v; break;
    case DType::kU8: data<uint8_t>()[i] = v; break;
    case DType::kBF16: static_cast<uint16_t*>(raw())[i] = bf16_from_float(static_cast<float>(v)); break;
    case DType::kF16: static_cast<uint16_t*>(raw())[i] = f16_from_float(static_cast<float>(v)); break;
  }
}

double Tensor::item() const {
  CHECK_EQ(numel(), 1) << "item() of " << shape_str(shape_);
  return at(0);
}

Tensor Tensor::to(DType dtype) const {
  const Tensor src = host();
  Tensor t = on_host() ? empty(alloc_, shape_, dtype, device()) : empty(host_memory(), shape_, dtype);
  t.layout_ = layout_;
  for (int64_t i = 0, n = numel(); i < n; ++i) t.set(i, src.at(i));
  return on_host() ? t : t.copy_to(alloc_, device());
}

}  // namespace ty
