// Batch: samples as named fields — "x" (inputs) and "y" (labels or regression targets) now;
// "tokens", "targets", "mask" as sequence models need them — each a tensor whose first
// dimension is the batch. Batch::allocate is the one place a batch's tensors are made.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/allocator.h"
#include "runtime/tensor.h"

namespace ty {

class Dataset;

// One field: its name, dtype and per-sample shape (() for a scalar per sample).
struct FieldSpec {
  std::string name;
  DType dtype;
  Shape per_sample;
};

class Batch {
 public:
  // `rows` samples of each field, in memory from `memory` (null: the process's host pool)
  // on `device` (a device's allocator for a batch decoded there: storage/gpu_direct/).
  static Batch allocate(const std::vector<FieldSpec>& fields, int64_t rows,
                        const std::shared_ptr<Allocator>& memory = nullptr, Device device = {});
  // The field named `name`; asking for one the batch lacks is a bug (CHECK).
  Tensor& operator[](const std::string& name);
  const Tensor& operator[](const std::string& name) const;
  bool has(const std::string& name) const;
  // Sets (or adds) a field.
  void set(const std::string& name, Tensor t);
  // Samples in the batch: the first dimension of its fields (0 when it has none).
  int64_t rows() const;
  std::vector<std::pair<std::string, Tensor>>& fields() { return fields_; }
  // Where row 0 stands in the epoch's sample order (the rows after it follow in order): with
  // the step, what keys the batch's dropout masks (runtime/context.h, DropoutKey).
  int64_t first_sample() const { return first_sample_; }
  void set_first_sample(int64_t position) { first_sample_ = position; }

 private:
  std::vector<std::pair<std::string, Tensor>> fields_;
  int64_t first_sample_ = 0;
};

// A dataset's sample fields: "x" f32 (sample shape) or i32 token ids, and "y": i32
// (label shape) class labels or next tokens, or f32 (target width) regression targets.
std::vector<FieldSpec> sample_fields(const Dataset& data);

// Samples `indices[0..count)` of `data` as a host batch of its sample fields; a source that
// reads files on demand (ShardSet) can fail, naming the file and record.
absl::StatusOr<Batch> gather_batch(const Dataset& data, const int64_t* indices, int64_t count,
                                   const std::shared_ptr<Allocator>& memory = nullptr);

}  // namespace ty
