#include "storage/shard/shard_import.h"

#include "storage/batch.h"

#include <cmath>
#include <cstring>

#include "runtime/status.h"
#include "storage/idx_reader.h"

namespace ty {
namespace {

// Writes every sample of `data` as a record {x, y}; `pixels` stores x as u8 (x * 255).
absl::StatusOr<std::vector<std::string>> write_dataset(const Dataset& data, bool pixels, const std::string& out_prefix,
                                                       ShardWriterOptions options) {
  ShardSchema schema;
  schema.fields.push_back({"x", pixels ? DType::kU8 : DType::kF32, data.sample_shape()});
  if (data.num_classes() > 0) {
    schema.fields.push_back({"y", DType::kI32, {}});
  } else {
    schema.fields.push_back({"y", DType::kF32, {data.target_width()}});
  }
  ShardWriter writer(out_prefix, schema, options);
  const int64_t xn = shape_numel(data.sample_shape()), xb = schema.fields[0].bytes(), yb = schema.fields[1].bytes();
  std::vector<char> record(static_cast<size_t>(schema.payload_bytes()));
  constexpr int64_t kBatch = 1024;
  std::vector<int64_t> idx(kBatch);
  for (int64_t start = 0; start < data.size(); start += kBatch) {
    const int64_t n = std::min(kBatch, data.size() - start);
    for (int64_t i = 0; i < n; ++i) idx[i] = start + i;
    TY_ASSIGN_OR_RETURN(Batch b, gather_batch(data, idx.data(), n));
    const Tensor& x = b["x"];
    const Tensor& y = b["y"];
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x.data<float>() + i * xn;
      if (pixels) {
        for (int64_t k = 0; k < xn; ++k)
          record[k] = static_cast<char>(static_cast<uint8_t>(std::lround(xi[k] * 255.0f)));
      } else {
        std::memcpy(record.data(), xi, xb);
      }
      std::memcpy(record.data() + xb, static_cast<char*>(y.raw()) + i * yb, yb);
      TY_RETURN_IF_ERROR(writer.add(record.data()));
    }
  }
  return writer.finish();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> import_idx(const std::string& images, const std::string& labels,
                                                    const std::string& out_prefix, ShardWriterOptions options) {
  TY_ASSIGN_OR_RETURN(DatasetPtr data, load_idx(images, labels));
  return write_dataset(*data, /*pixels=*/true, out_prefix, options);
}

absl::StatusOr<std::vector<std::string>> import_csv(const std::string& path, const CsvOptions& csv,
                                                    const std::string& out_prefix, ShardWriterOptions options) {
  TY_ASSIGN_OR_RETURN(DatasetPtr data, load_csv(path, csv));
  return write_dataset(*data, /*pixels=*/false, out_prefix, options);
}

}  // namespace ty
