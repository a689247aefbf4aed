#include "storage/weights_file.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/object_path.h"
#include "storage/s3/s3_streaming_upload.h"
#include "storage/s3/s3_url.h"
#include "storage/shard/crc32c.h"

namespace ty {
namespace {

constexpr char kMagic[8] = {'T', 'Y', 'W', 'E', 'I', 'G', 'H', 'T'};

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads from a byte buffer, failing (not crashing) past its end.
struct Reader {
  const std::string& buf;
  size_t pos = 0;
  bool take(void* dst, size_t n) {
    if (n > buf.size() - pos) return false;
    std::memcpy(dst, buf.data() + pos, n);
    pos += n;
    return true;
  }
};

}  // namespace

absl::Status save_weights(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                          uint32_t* crc32c_out, int64_t* size_out) {
  // To an object store: streamed into a multipart upload, a part at a time (visible only
  // once complete; never two copies of a large file in memory).
  const bool remote = is_s3_url(path);
  std::unique_ptr<S3StreamingUpload> upload;
  if (remote) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(path));
    TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
    upload = std::make_unique<S3StreamingUpload>(std::move(client), std::move(url));
  }
  const std::string tmp = path + ".tmp";
  int fd = remote ? -1 : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (!remote && fd < 0)
    return absl::UnavailableError(absl::StrCat(tmp, ": cannot create (", std::strerror(errno), ")"));
  // Streams the file: small metadata pieces are gathered in `meta`, tensor data is written
  // from the tensors themselves; the CRC32C (the file's own checksum and the caller's) runs
  // over everything in order.
  uint32_t crc = 0;
  int64_t done = 0;
  absl::Status st;
  auto emit = [&](const void* data, size_t n) {
    if (!st.ok() || n == 0) return;
    crc = crc32c_extend(crc, data, n);
    const char* p = static_cast<const char*>(data);
    if (remote) {
      st = upload->write(p, n);
      done += static_cast<int64_t>(n);
      return;
    }
    size_t left = n;
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        st = absl::UnavailableError(
            absl::StrCat(tmp, ": write failed at byte offset ", done, " (", std::strerror(errno), ")"));
        return;
      }
      p += w;
      left -= static_cast<size_t>(w);
      done += w;
    }
  };
  std::string meta(kMagic, sizeof kMagic);
  put<uint32_t>(meta, 2);
  put<uint32_t>(meta, tensors.size());
  for (const auto& [name, t] : tensors) {
    put<uint32_t>(meta, name.size());
    meta += name;
    put<uint8_t>(meta, static_cast<uint8_t>(t.dtype()));
    put<uint32_t>(meta, t.ndim());
    for (int64_t d : t.shape()) put<int64_t>(meta, d);
    emit(meta.data(), meta.size());
    meta.clear();
    const Tensor host = t.host();
    emit(host.raw(), host.nbytes());
  }
  emit(meta.data(), meta.size());
  const uint32_t file_crc = crc;
  emit(&file_crc, 4);
  if (remote) {
    TY_RETURN_IF_ERROR(st);
    TY_RETURN_IF_ERROR(upload->finish());
    if (crc32c_out) *crc32c_out = crc;
    if (size_out) *size_out = done;
    return absl::OkStatus();
  }
  if (st.ok() && ::fsync(fd) != 0)
    st = absl::UnavailableError(absl::StrCat(tmp, ": fsync failed (", std::strerror(errno), ")"));
  if (::close(fd) != 0 && st.ok())
    st = absl::UnavailableError(absl::StrCat(tmp, ": close failed (", std::strerror(errno), ")"));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return absl::UnavailableError(absl::StrCat("rename ", tmp, " -> ", path, ": ", std::strerror(errno)));
  if (crc32c_out) *crc32c_out = crc;
  if (size_out) *size_out = done;
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, Tensor>> load_weights(const std::string& path) {
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(std::string bytes, read_whole(path));
    return decode_weights(path, bytes);
  }
  // Only a regular file, read to its size: a directory or a device (/dev/zero) is refused
  // before anything is read.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(path,
                                                   ": not a regular file (a weights file is; give the path of "
                                                   "weights.bin)"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  return decode_weights(path, std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

absl::StatusOr<std::map<std::string, Tensor>> decode_weights(const std::string& path, const std::string& buf) {
  if (buf.size() < sizeof kMagic + 12 || std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a trainyard weights file (bad magic at offset 0)"));
  uint32_t stored;
  std::memcpy(&stored, buf.data() + buf.size() - 4, 4);
  uint32_t version_peek = 0;
  std::memcpy(&version_peek, buf.data() + sizeof kMagic, 4);
  const uint32_t computed = version_peek == 1 ? crc32(0, reinterpret_cast<const Bytef*>(buf.data()), buf.size() - 4)
                                              : crc32c(buf.data(), buf.size() - 4);
  if (computed != stored)
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (file corrupt or truncated)"));
  std::string body = buf.substr(0, buf.size() - 4);
  Reader r{body, sizeof kMagic};
  uint32_t version = 0, count = 0;
  r.take(&version, 4);
  r.take(&count, 4);
  if (version != 1 && version != 2)
    return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported version ", version));
  std::map<std::string, Tensor> out;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.pos;
    uint32_t len = 0, ndim = 0;
    uint8_t dtype = 0;
    auto bad = [&] {
      return absl::DataLossError(absl::StrCat(path, ": tensor ", i, " malformed at byte offset ", at));
    };
    if (!r.take(&len, 4) || len > body.size()) return bad();
    std::string name(len, '\0');
    if (!r.take(name.data(), len) || !r.take(&dtype, 1) || !r.take(&ndim, 4) || ndim > 8 ||
        dtype > static_cast<uint8_t>(DType::kF16))
      return bad();
    Shape shape(ndim);
    for (auto& d : shape)
      if (!r.take(&d, 8) || d < 0 || d > int64_t{1} << 40) return bad();
    Tensor t = Tensor::empty(host_memory(), shape, static_cast<DType>(dtype));
    if (!r.take(t.raw(), t.nbytes())) return bad();
    out[name] = t;
  }
  return out;
}

absl::Status assign_weights(const std::string& path, const std::map<std::string, Tensor>& loaded,
                            const std::vector<std::pair<std::string, Tensor>>& into) {
  for (const auto& [name, dst] : into) {
    auto it = loaded.find(name);
    if (it == loaded.end())
      return absl::InvalidArgumentError(absl::StrCat(path, ": has no tensor '", name, "' that the model needs"));
    const Tensor& src = it->second;
    if (src.shape() != dst.shape() || src.dtype() != dst.dtype())
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "' is ", shape_str(src.shape()), " ",
                                                     dtype_name(src.dtype()), ", the model needs ",
                                                     shape_str(dst.shape()), " ", dtype_name(dst.dtype())));
    Tensor d = dst;
    d.copy_from(src);
  }
  return absl::OkStatus();
}

}  // namespace ty
