#include "storage/shard/shard_schema.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/shard/crc32c.h"

namespace ty {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the shard format is little-endian");

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Bounds-checked reads from the header buffer.
struct Cursor {
  const char* data;
  size_t size;
  size_t pos = 0;
  template <class T>
  bool get(T& v) {
    if (sizeof(T) > size - pos) return false;
    std::memcpy(&v, data + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
};

}  // namespace

int64_t ShardSchema::payload_bytes() const {
  int64_t n = 0;
  for (const auto& f : fields) n += f.bytes();
  return n;
}

int ShardSchema::field_index(const std::string& name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == name) return static_cast<int>(i);
  return -1;
}

int64_t ShardSchema::field_offset(int index) const {
  int64_t off = 0;
  for (int i = 0; i < index; ++i) off += fields[i].bytes();
  return off;
}

std::string ShardSchema::describe() const {
  std::vector<std::string> parts;
  for (const auto& f : fields) parts.push_back(absl::StrCat(f.name, ": ", dtype_name(f.dtype), " ", shape_str(f.dims)));
  return absl::StrJoin(parts, ", ");
}

std::string ShardSchema::encode_header() const {
  std::string out(kShardMagic, sizeof kShardMagic);
  put<uint32_t>(out, kShardVersion);
  put<uint32_t>(out, static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    put<uint16_t>(out, static_cast<uint16_t>(f.name.size()));
    out += f.name;
    put<uint8_t>(out, static_cast<uint8_t>(f.dtype));
    put<uint8_t>(out, static_cast<uint8_t>(f.dims.size()));
    for (int64_t d : f.dims) put<int64_t>(out, d);
  }
  put<uint32_t>(out, crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<ShardSchema> ShardSchema::decode_header(const std::string& path, const char* data, size_t size) {
  Cursor c{data, size};
  auto bad = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat(path, ": bad shard header at byte offset ", c.pos, ": ", what));
  };
  char magic[8];
  for (char& m : magic)
    if (!c.get(m)) return bad("file shorter than a shard header");
  if (std::memcmp(magic, kShardMagic, 8) != 0) return bad("not a trainyard shard (wrong magic)");
  uint32_t version = 0, count = 0;
  if (!c.get(version) || version != kShardVersion) return bad(absl::StrCat("unsupported version ", version));
  if (!c.get(count) || count < 1 || count > 64) return bad(absl::StrCat("field count ", count, " outside 1..64"));
  ShardSchema s;
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t len = 0;
    uint8_t dtype = 0, ndim = 0;
    if (!c.get(len) || len < 1 || len > 255 || len > size - c.pos)
      return bad(absl::StrCat("field ", i, ": name length ", len));
    ShardField f;
    f.name.assign(data + c.pos, len);
    c.pos += len;
    if (!c.get(dtype) || dtype > static_cast<uint8_t>(DType::kU8))
      return bad(absl::StrCat("field '", f.name, "': dtype ", int(dtype)));
    if (!c.get(ndim) || ndim > 8) return bad(absl::StrCat("field '", f.name, "': ndim ", int(ndim)));
    f.dtype = static_cast<DType>(dtype);
    for (uint8_t d = 0; d < ndim; ++d) {
      int64_t v = -1;
      if (!c.get(v) || v < 0 || v > (int64_t{1} << 31)) return bad(absl::StrCat("field '", f.name, "': dimension ", v));
      f.dims.push_back(v);
    }
    int64_t bytes = static_cast<int64_t>(dtype_size(f.dtype));
    for (int64_t d : f.dims) {
      if (d != 0 && bytes > kShardMaxRecordBytes / d)
        return bad(absl::StrCat("field '", f.name, "' larger than 64 MiB"));
      bytes *= d;
    }
    s.fields.push_back(std::move(f));
  }
  const size_t crc_at = c.pos;
  uint32_t crc = 0;
  if (!c.get(crc)) return bad("truncated before the header checksum");
  if (crc != crc32c(data, crc_at)) return bad("header checksum mismatch");
  if (s.record_bytes() > kShardMaxRecordBytes || s.payload_bytes() <= 0)
    return bad(absl::StrCat("record size ", s.record_bytes(), " bytes outside 1 B..64 MiB"));
  return s;
}

}  // namespace ty
