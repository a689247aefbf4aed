#include "storage/shard/shard_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/s3/s3_object.h"
#include "storage/shard/crc32c.h"

namespace ty {
namespace {

// Runs of chunks are read in one request up to this size.
constexpr int64_t kMaxReadSpan = int64_t{16} << 20;

absl::Status pread_all(int fd, const std::string& path, void* buf, size_t n, int64_t offset) {
  char* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, offset + static_cast<int64_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return absl::UnavailableError(
          absl::StrCat(path, ": read failed at byte offset ", offset + done, ": ", std::strerror(errno)));
    if (r == 0) return absl::DataLossError(absl::StrCat(path, ": truncated at byte offset ", offset + done));
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

}  // namespace

ShardReader::ShardReader(ShardReader&& o) noexcept { *this = std::move(o); }

ShardReader& ShardReader::operator=(ShardReader&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
    remote_ = std::move(o.remote_);
    schema_ = std::move(o.schema_);
    file_bytes_ = o.file_bytes_;
    records_ = o.records_;
    chunks_ = std::move(o.chunks_);
  }
  return *this;
}

ShardReader::~ShardReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<ShardReader> ShardReader::open(const std::string& path) {
  absl::StatusOr<ShardReader> r = open_once(path);
  // An object's header, footer or index that does not check out is read once more: a bit
  // flipped on the way is not in the shard.
  if (!r.ok() && r.status().code() == absl::StatusCode::kDataLoss && is_s3_url(path)) {
    LOG(WARNING) << r.status().message() << "; reading it again";
    r = open_once(path);
  }
  return r;
}

absl::StatusOr<ShardReader> ShardReader::open_once(const std::string& path) {
  ShardReader r;
  r.path_ = path;
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(r.remote_, S3Object::open(path));
    r.file_bytes_ = r.remote_->size();
  } else {
    r.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (r.fd_ < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
    struct stat st;
    if (::fstat(r.fd_, &st) != 0) return absl::UnavailableError(absl::StrCat(path, ": cannot stat"));
    r.file_bytes_ = st.st_size;
  }
  if (r.file_bytes_ < kShardAlign + kShardFooterBytes)
    return absl::DataLossError(absl::StrCat(path, ": ", r.file_bytes_, " bytes, too short for a shard (truncated?)"));
  std::string header(kShardAlign, '\0');
  TY_RETURN_IF_ERROR(r.read_bytes(header.data(), header.size(), 0));
  TY_ASSIGN_OR_RETURN(r.schema_, ShardSchema::decode_header(path, header.data(), header.size()));

  const int64_t footer_at = r.file_bytes_ - kShardFooterBytes;
  char footer[kShardFooterBytes];
  TY_RETURN_IF_ERROR(r.read_bytes(footer, sizeof footer, footer_at));
  uint64_t index_offset, chunk_count, record_count;
  uint32_t index_crc, version;
  std::memcpy(&index_offset, footer, 8);
  std::memcpy(&chunk_count, footer + 8, 8);
  std::memcpy(&record_count, footer + 16, 8);
  std::memcpy(&index_crc, footer + 24, 4);
  std::memcpy(&version, footer + 28, 4);
  auto bad_footer = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat(path, ": bad shard footer at byte offset ", footer_at, ": ", what,
                                            " (truncated or not a finished shard?)"));
  };
  if (std::memcmp(footer + 32, kShardIndexMagic, 8) != 0) return bad_footer("wrong magic");
  if (version != kShardVersion) return bad_footer(absl::StrCat("version ", version));
  // Chunks start at distinct 4 KiB boundaries in [4096, index_offset): that bounds their
  // count before anything is allocated for the index.
  if (index_offset < static_cast<uint64_t>(kShardAlign) || index_offset > static_cast<uint64_t>(footer_at) ||
      chunk_count > (index_offset - kShardAlign) / kShardAlign + 1 ||
      index_offset + chunk_count * 16 != static_cast<uint64_t>(footer_at))
    return bad_footer(absl::StrCat("index at ", index_offset, " with ", chunk_count, " chunks does not fit the file"));
  std::string index(chunk_count * 16, '\0');
  TY_RETURN_IF_ERROR(r.read_bytes(index.data(), index.size(), static_cast<int64_t>(index_offset)));
  if (crc32c(index.data(), index.size()) != index_crc)
    return absl::DataLossError(absl::StrCat(path, ": shard index checksum mismatch at byte offset ", index_offset));
  const int64_t record = r.schema_.record_bytes();
  int64_t next_free = kShardAlign, first = 0;
  for (uint64_t k = 0; k < chunk_count; ++k) {
    uint64_t off;
    uint32_t n;
    std::memcpy(&off, index.data() + k * 16, 8);
    std::memcpy(&n, index.data() + k * 16 + 8, 4);
    const int64_t at = static_cast<int64_t>(index_offset + k * 16);
    if (off % kShardAlign != 0 || off > index_offset || static_cast<int64_t>(off) < next_free || n == 0 ||
        static_cast<uint64_t>(n) > (index_offset - off) / static_cast<uint64_t>(record))
      return absl::DataLossError(absl::StrCat(path, ": shard index entry ", k, " (byte offset ", at,
                                              ") describes chunk at ", off, " with ", n,
                                              " records, which does not fit"));
    r.chunks_.push_back(Chunk{static_cast<int64_t>(off), first, n});
    first += n;
    next_free = static_cast<int64_t>(off) + static_cast<int64_t>(n) * record;
  }
  if (static_cast<uint64_t>(first) != record_count)
    return bad_footer(absl::StrCat("record count ", record_count, " but the index holds ", first));
  r.records_ = first;
  return r;
}

absl::Status ShardReader::read_bytes(void* buf, size_t n, int64_t offset) const {
  if (remote_) return remote_->read(offset, static_cast<int64_t>(n), static_cast<char*>(buf));
  return pread_all(fd_, path_, buf, n, offset);
}

int64_t ShardReader::record_offset(int64_t i) const {
  auto it =
      std::upper_bound(chunks_.begin(), chunks_.end(), i, [](int64_t v, const Chunk& c) { return v < c.first_record; });
  const Chunk& c = *(it - 1);
  return c.offset + (i - c.first_record) * schema_.record_bytes();
}

absl::Status ShardReader::read(int64_t first, int64_t count, void* out) const {
  if (first < 0 || count < 0 || first + count > records_)
    return absl::OutOfRangeError(absl::StrCat(path_, ": records [", first, ", ", first + count, ") of ", records_));
  const int64_t record = schema_.record_bytes(), payload = schema_.payload_bytes();
  char* dst = static_cast<char*>(out);
  std::string buf;
  const int64_t end = first + count;
  auto chunk_of = [&](int64_t i) {
    return std::upper_bound(chunks_.begin(), chunks_.end(), i,
                            [](int64_t v, const Chunk& c) { return v < c.first_record; }) - 1;
  };
  int64_t i = first;
  while (i < end) {
    // Records [i, j): whole chunk runs in one sequential read of at most kMaxReadSpan bytes
    // (the padding between chunks read and dropped), at least one record.
    const int64_t at = record_offset(i);
    auto c = chunk_of(i);
    int64_t j = std::min(end, c->first_record + c->records);
    j = std::min(j, i + std::max<int64_t>(1, kMaxReadSpan / record));
    int64_t span = record_offset(j - 1) + record - at;
    while (j < end && j == c->first_record + c->records && c + 1 != chunks_.end()) {
      ++c;
      const int64_t k = std::min(end, c->first_record + c->records);
      const int64_t grown = c->offset + (k - c->first_record) * record - at;
      if (grown > kMaxReadSpan) break;
      j = k;
      span = grown;
    }
    buf.resize(static_cast<size_t>(span));
    // An object's run with a bad record is read once more: a bit flipped on the way is not
    // in the shard.
    for (int pass = 0;; ++pass) {
      TY_RETURN_IF_ERROR(read_bytes(buf.data(), buf.size(), at));
      int64_t bad = -1;
      for (int64_t k = i; k < j && bad < 0; ++k) {
        const char* rec = buf.data() + (record_offset(k) - at);
        uint32_t crc;
        std::memcpy(&crc, rec + payload, 4);
        if (crc != crc32c(rec, payload)) bad = k;
      }
      if (bad < 0) break;
      const std::string what =
          absl::StrCat(path_, ": record ", bad, " at byte offset ", record_offset(bad), " fails its CRC32C check");
      if (pass > 0 || !remote_) return absl::DataLossError(absl::StrCat(what, " (corrupt data)"));
      LOG(WARNING) << what << "; reading bytes [" << at << ", " << at + span << ") again";
    }
    for (int64_t k = i; k < j; ++k)
      std::memcpy(dst + (k - first) * payload, buf.data() + (record_offset(k) - at), payload);
    i = j;
  }
  return absl::OkStatus();
}

absl::Status ShardReader::scan(bool skip_corrupt, const std::function<absl::Status(int64_t, const char*)>& each,
                               int64_t* skipped) const {
  const int64_t batch = std::max<int64_t>(1, (int64_t{4} << 20) / schema_.record_bytes());
  const int64_t payload = schema_.payload_bytes();
  std::string buf;
  for (int64_t i = 0; i < records_; i += batch) {
    const int64_t n = std::min(batch, records_ - i);
    buf.resize(static_cast<size_t>(n * payload));
    absl::Status st = read(i, n, buf.data());
    if (!st.ok() && (!skip_corrupt || st.code() != absl::StatusCode::kDataLoss)) return st;
    for (int64_t k = 0; k < n; ++k) {
      if (!st.ok()) {  // a bad record in this batch: read them one by one
        absl::Status one = read(i + k, 1, buf.data() + k * payload);
        if (one.code() == absl::StatusCode::kDataLoss) {
          if (skipped != nullptr) ++*skipped;
          continue;
        }
        TY_RETURN_IF_ERROR(one);
      }
      TY_RETURN_IF_ERROR(each(i + k, buf.data() + k * payload));
    }
  }
  return absl::OkStatus();
}

absl::Status ShardReader::verify() const {
  return scan(false, [](int64_t, const char*) { return absl::OkStatus(); });
}

}  // namespace ty
