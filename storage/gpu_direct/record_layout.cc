#include "storage/gpu_direct/record_layout.h"

namespace ty {

RecordLayout device_record_layout(const ShardSet& shards, bool checked, bool standardize, float mean, float std) {
  const TrainingFields& f = shards.fields();
  RecordLayout l;
  l.payload_bytes = shards.payload_bytes();
  l.has_crc = checked;
  l.x_offset = f.x_offset;
  l.x_count = shape_numel(f.x.dims);
  l.x_kind = f.x.dtype == DType::kU8    ? RecordLayout::kXU8
             : f.x.dtype == DType::kF32 ? RecordLayout::kXF32
                                        : RecordLayout::kXI32;
  l.y_offset = f.y_offset;
  l.y_bytes = f.y.bytes();
  if (checked && shards.num_classes() > 0) {
    l.label_count = f.label_count();
    l.label_bound = shards.num_classes();
  }
  if (standardize && !f.tokens()) {
    l.affine = true;
    l.scale = 1.f / std;
    l.shift = -mean * l.scale;
  }
  return l;
}

}  // namespace ty
