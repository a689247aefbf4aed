#include "storage/idx_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {
namespace {

// An IDX file read whole: dims and u8 payload.
struct IdxFile {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

absl::StatusOr<IdxFile> read_idx(const std::string& path, uint32_t want_magic, int want_dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  auto close = [&] { gzclose(f); };
  unsigned char head[4 + 4 * 4];
  const int header_bytes = 4 + 4 * want_dims;
  int got = gzread(f, head, header_bytes);
  if (got < 4) {
    close();
    return absl::DataLossError(
        absl::StrCat(path, ": truncated: ", std::max(got, 0), " bytes, shorter than an IDX header"));
  }
  const uint32_t magic = (uint32_t{head[0]} << 24) | (head[1] << 16) | (head[2] << 8) | head[3];
  if (magic != want_magic) {
    close();
    char buf[160];
    std::snprintf(buf, sizeof buf, ": wrong magic number 0x%08x at offset 0 (expected 0x%08x, an IDX %s file)", magic,
                  want_magic, want_dims == 3 ? "images" : "labels");
    return absl::InvalidArgumentError(path + buf);
  }
  if (got < header_bytes) {
    close();
    return absl::DataLossError(absl::StrCat(path, ": truncated in the header (", got, " of ", header_bytes, " bytes)"));
  }
  IdxFile idx;
  int64_t total = 1;
  for (int d = 0; d < want_dims; ++d) {
    const unsigned char* p = head + 4 + 4 * d;
    const int64_t v = (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (d > 0 && v == 0) {
      close();
      return absl::InvalidArgumentError(absl::StrCat(path, ": dimension ", d, " is 0 at byte offset ", 4 + 4 * d,
                                                     " (images need at least 1 x 1 pixels)"));
    }
    // Bounded before anything is allocated: at most 2^40 bytes in all.
    if (v > 0 && total > (int64_t{1} << 40) / v) {
      close();
      return absl::InvalidArgumentError(absl::StrCat(path,
                                                     ": the header's dimensions (at byte offset 4) multiply "
                                                     "past 2^40 bytes; not an IDX file this reader takes"));
    }
    idx.dims.push_back(v);
    total *= v;
  }
  // Read in chunks rather than trusting the header's size for one allocation.
  constexpr int64_t kChunk = 1 << 20;
  while (static_cast<int64_t>(idx.data.size()) < total) {
    const int64_t want = std::min<int64_t>(kChunk, total - idx.data.size());
    const size_t at = idx.data.size();
    idx.data.resize(at + want);
    const int n = gzread(f, idx.data.data() + at, static_cast<unsigned>(want));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      close();
      return absl::DataLossError(absl::StrCat(path, ": read error at payload offset ", at, ": ", msg));
    }
    idx.data.resize(at + n);
    if (n == 0) break;
  }
  close();
  if (static_cast<int64_t>(idx.data.size()) < total)
    return absl::DataLossError(absl::StrCat(path, ": truncated: the header promises ", total,
                                            " data bytes, the file has ", idx.data.size(), " (ends at byte offset ",
                                            header_bytes + idx.data.size(), ")"));
  return idx;
}

}  // namespace

std::string idx_labels_path_for(const std::string& images_path) {
  const std::string from = "images-idx3", to = "labels-idx1";
  const size_t at = images_path.rfind(from);
  if (at == std::string::npos) return "";
  std::string out = images_path;
  out.replace(at, from.size(), to);
  return out;
}

absl::StatusOr<DatasetPtr> load_idx(const std::string& images_path, const std::string& labels_path) {
  TY_ASSIGN_OR_RETURN(IdxFile images, read_idx(images_path, 0x00000803, 3));
  TY_ASSIGN_OR_RETURN(IdxFile labels, read_idx(labels_path, 0x00000801, 1));
  if (images.dims[0] != labels.dims[0])
    return absl::InvalidArgumentError(absl::StrCat(images_path, " has ", images.dims[0], " images but ", labels_path,
                                                   " has ", labels.dims[0], " labels"));
  const int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
  std::vector<float> features(images.data.size());
  for (size_t i = 0; i < features.size(); ++i) features[i] = images.data[i] * (1.0f / 255.0f);
  std::vector<int32_t> y(labels.data.begin(), labels.data.end());
  int64_t classes = 0;
  for (int32_t v : y) classes = std::max<int64_t>(classes, v + 1);
  return std::make_shared<InMemoryDataset>(images_path, Shape{1, h, w}, std::move(features), std::move(y),
                                           std::max<int64_t>(classes, 1));
  (void)n;
}

}  // namespace ty
