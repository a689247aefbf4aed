#include "storage/weights_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "storage/shard/crc32c.h"

namespace ty {
namespace {

constexpr char kMagic[8] = {'T', 'Y', 'W', 'E', 'I', 'G', 'H', 'T'};

template <class T> void put(std::string& out, T v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

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
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, 1);
  put<uint32_t>(out, tensors.size());
  for (const auto& [name, t] : tensors) {
    put<uint32_t>(out, name.size());
    out += name;
    put<uint8_t>(out, static_cast<uint8_t>(t.dtype()));
    put<uint32_t>(out, t.ndim());
    for (int64_t d : t.shape()) put<int64_t>(out, d);
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  put<uint32_t>(out, crc32(0, reinterpret_cast<const Bytef*>(out.data()), out.size()));
  if (crc32c_out) *crc32c_out = crc32c(out.data(), out.size());
  if (size_out) *size_out = static_cast<int64_t>(out.size());

  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": cannot create (", std::strerror(errno), ")"));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat(tmp, ": write failed at byte offset ", done, " (", std::strerror(e), ")"));
    }
    done += n;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(tmp, ": fsync/close failed (", std::strerror(errno), ")"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return absl::UnavailableError(absl::StrCat("rename ", tmp, " -> ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, Tensor>> load_weights(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf.size() < sizeof kMagic + 12 || std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a trainyard weights file (bad magic at offset 0)"));
  uint32_t stored;
  std::memcpy(&stored, buf.data() + buf.size() - 4, 4);
  if (crc32(0, reinterpret_cast<const Bytef*>(buf.data()), buf.size() - 4) != stored)
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (file corrupt or truncated)"));
  std::string body = buf.substr(0, buf.size() - 4);
  Reader r{body, sizeof kMagic};
  uint32_t version = 0, count = 0;
  r.take(&version, 4);
  r.take(&count, 4);
  if (version != 1) return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported version ", version));
  std::map<std::string, Tensor> out;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.pos;
    uint32_t len = 0, ndim = 0;
    uint8_t dtype = 0;
    auto bad = [&] { return absl::DataLossError(absl::StrCat(path, ": tensor ", i, " malformed at byte offset ", at)); };
    if (!r.take(&len, 4) || len > body.size()) return bad();
    std::string name(len, '\0');
    if (!r.take(name.data(), len) || !r.take(&dtype, 1) || !r.take(&ndim, 4) || ndim > 8 ||
        dtype > static_cast<uint8_t>(DType::kU8))
      return bad();
    Shape shape(ndim);
    for (auto& d : shape)
      if (!r.take(&d, 8) || d < 0 || d > int64_t{1} << 40) return bad();
    Tensor t = Tensor::empty(shape, static_cast<DType>(dtype));
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
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "' is ", shape_str(src.shape()),
                                                     " ", dtype_name(src.dtype()), ", the model needs ",
                                                     shape_str(dst.shape()), " ", dtype_name(dst.dtype())));
    Tensor d = dst;
    d.copy_from(src);
  }
  return absl::OkStatus();
}

}  // namespace ty
