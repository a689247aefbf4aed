#include "storage/batch.h"

#include "glog/logging.h"
#include "storage/dataset.h"

namespace ty {

Batch Batch::allocate(const std::vector<FieldSpec>& fields, int64_t rows, const std::shared_ptr<Allocator>& memory,
                      Device device) {
  Batch b;
  for (const FieldSpec& f : fields) {
    Shape shape{rows};
    shape.insert(shape.end(), f.per_sample.begin(), f.per_sample.end());
    b.fields_.emplace_back(
        f.name, Tensor::empty(memory ? memory : host_memory(), shape, f.dtype, device));
  }
  return b;
}

Tensor& Batch::operator[](const std::string& name) {
  for (auto& [n, t] : fields_)
    if (n == name) return t;
  LOG(FATAL) << "the batch has no field '" << name << "'";
}

const Tensor& Batch::operator[](const std::string& name) const { return const_cast<Batch&>(*this)[name]; }

bool Batch::has(const std::string& name) const {
  for (const auto& [n, t] : fields_)
    if (n == name) return true;
  return false;
}

void Batch::set(const std::string& name, Tensor t) {
  for (auto& [n, old] : fields_)
    if (n == name) {
      old = std::move(t);
      return;
    }
  fields_.emplace_back(name, std::move(t));
}

int64_t Batch::rows() const { return fields_.empty() ? 0 : fields_.front().second.shape()[0]; }

std::vector<FieldSpec> sample_fields(const Dataset& data) {
  FieldSpec y = data.num_classes() > 0 ? FieldSpec{"y", DType::kI32, data.label_shape()}
                                       : FieldSpec{"y", DType::kF32, {data.target_width()}};
  return {{"x", data.input_dtype(), data.sample_shape()}, y};
}

absl::StatusOr<Batch> gather_batch(const Dataset& data, const int64_t* indices, int64_t count,
                                   const std::shared_ptr<Allocator>& memory) {
  Batch b = Batch::allocate(sample_fields(data), count, memory);
  absl::Status st = data.read(indices, count, b["x"], b["y"]);
  if (!st.ok()) return st;
  return b;
}

}  // namespace ty
