#include "storage/shard/shard_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status.h"
#include "storage/shard/crc32c.h"

namespace ty {

ShardWriter::ShardWriter(std::string prefix, ShardSchema schema, ShardWriterOptions options)
    : prefix_(std::move(prefix)), schema_(std::move(schema)), options_(options) {
  // The limits a reader enforces (storage/FORMAT.md): check them here, not in the reader.
  const std::string header = schema_.encode_header();
  auto fail = [&](const std::string& why) {
    schema_status_ = absl::InvalidArgumentError(absl::StrCat(prefix_, ": schema {", schema_.describe(), "}: ", why));
  };
  if (schema_.fields.empty() || schema_.fields.size() > 64) fail("1 to 64 fields");
  for (const auto& f : schema_.fields) {
    if (f.name.empty() || f.name.size() > 255) fail("field names of 1 to 255 bytes");
    if (f.dims.size() > 8) fail("at most 8 dimensions per field");
  }
  if (static_cast<int64_t>(header.size()) > kShardAlign) fail("the header exceeds 4096 bytes");
  if (schema_.record_bytes() > kShardMaxRecordBytes || schema_.payload_bytes() <= 0) fail("records of 1 B to 64 MiB");
}

ShardWriter::~ShardWriter() {
  if (file_) {
    std::fclose(file_);
    ::unlink(tmp_path_.c_str());
  }
}

absl::Status ShardWriter::write(const void* data, size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, file_) != n)
    return absl::UnavailableError(
        absl::StrCat(tmp_path_, ": write failed at byte offset ", offset_, " (", std::strerror(errno), ")"));
  offset_ += static_cast<int64_t>(n);
  return absl::OkStatus();
}

absl::Status ShardWriter::pad_to_alignment() {
  const int64_t pad = (kShardAlign - offset_ % kShardAlign) % kShardAlign;
  static const std::string zeros(kShardAlign, '\0');
  return write(zeros.data(), pad);
}

absl::Status ShardWriter::open_shard() {
  path_ = absl::StrFormat("%s-%05d.tyshard", prefix_, static_cast<int>(written_.size()));
  tmp_path_ = path_ + ".tmp";
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) return absl::UnavailableError(absl::StrCat(tmp_path_, ": cannot create (", std::strerror(errno), ")"));
  offset_ = 0;
  chunks_.clear();
  chunk_records_ = shard_records_ = 0;
  const std::string header = schema_.encode_header();
  TY_RETURN_IF_ERROR(write(header.data(), header.size()));
  return pad_to_alignment();
}

absl::Status ShardWriter::close_chunk() {
  if (chunk_records_ == 0) return absl::OkStatus();
  chunks_.back().records = static_cast<uint32_t>(chunk_records_);
  chunk_records_ = 0;
  return pad_to_alignment();
}

absl::Status ShardWriter::add(const void* payload) {
  TY_RETURN_IF_ERROR(schema_status_);
  const int64_t record = schema_.record_bytes();
  if (file_ == nullptr) TY_RETURN_IF_ERROR(open_shard());
  if (chunk_records_ > 0 && (chunk_records_ + 1) * record > options_.chunk_bytes) TY_RETURN_IF_ERROR(close_chunk());
  if (chunk_records_ == 0) chunks_.push_back(Chunk{static_cast<uint64_t>(offset_), 0});
  const int64_t n = schema_.payload_bytes();
  const uint32_t crc = crc32c(payload, n);
  TY_RETURN_IF_ERROR(write(payload, n));
  TY_RETURN_IF_ERROR(write(&crc, 4));
  ++chunk_records_;
  ++shard_records_;
  ++total_records_;
  if (offset_ >= options_.shard_bytes) TY_RETURN_IF_ERROR(close_shard());
  return absl::OkStatus();
}

absl::Status ShardWriter::close_shard() {
  TY_RETURN_IF_ERROR(close_chunk());
  const uint64_t index_offset = offset_;
  std::string index;
  for (const Chunk& c : chunks_) {
    index.append(reinterpret_cast<const char*>(&c.offset), 8);
    index.append(reinterpret_cast<const char*>(&c.records), 4);
    const uint32_t reserved = 0;
    index.append(reinterpret_cast<const char*>(&reserved), 4);
  }
  TY_RETURN_IF_ERROR(write(index.data(), index.size()));
  const uint64_t chunk_count = chunks_.size(), record_count = shard_records_;
  const uint32_t index_crc = crc32c(index.data(), index.size()), version = kShardVersion;
  std::string footer;
  footer.append(reinterpret_cast<const char*>(&index_offset), 8);
  footer.append(reinterpret_cast<const char*>(&chunk_count), 8);
  footer.append(reinterpret_cast<const char*>(&record_count), 8);
  footer.append(reinterpret_cast<const char*>(&index_crc), 4);
  footer.append(reinterpret_cast<const char*>(&version), 4);
  footer.append(kShardIndexMagic, 8);
  TY_RETURN_IF_ERROR(write(footer.data(), footer.size()));
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    return absl::UnavailableError(absl::StrCat(tmp_path_, ": flush/fsync failed (", std::strerror(errno), ")"));
  std::fclose(file_);
  file_ = nullptr;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    return absl::UnavailableError(absl::StrCat("rename ", tmp_path_, " -> ", path_, ": ", std::strerror(errno)));
  written_.push_back(path_);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ShardWriter::finish() {
  if (file_ != nullptr) TY_RETURN_IF_ERROR(close_shard());
  return written_;
}

}  // namespace ty
