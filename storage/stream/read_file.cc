#include "storage/stream/read_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/s3/s3_object.h"

namespace ty {

bool on_local_filesystem(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // xfs
    case 0x9123683E:  // btrfs
    case 0xF2F52010:  // f2fs
    case 0x2FC12FC1:  // zfs
    case 0x01021994:  // tmpfs
    case 0x794C7630:  // overlayfs
      return true;
    default: return false;
  }
}

void AlignedBuffer::Free::operator()(char* p) const { std::free(p); }

char* AlignedBuffer::reserve(size_t bytes) {
  if (bytes > capacity_) {
    const size_t size = (bytes + ReadFile::kAlign - 1) / ReadFile::kAlign * ReadFile::kAlign;
    char* p = static_cast<char*>(std::aligned_alloc(ReadFile::kAlign, size));
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(p);
    capacity_ = size;
  }
  return data_.get();
}

absl::StatusOr<ReadFile> ReadFile::open(const std::string& path, bool direct, bool mapped) {
  ReadFile f;
  f.path_ = path;
  if (is_s3_url(path)) {  // ranged GETs; O_DIRECT and mapping do not apply
    TY_ASSIGN_OR_RETURN(std::shared_ptr<const S3Object> object, S3Object::open(path));
    return open(std::move(object));
  }
  f.direct_ = direct;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (f.fd_ < 0 && direct && errno == EINVAL)
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     ": storage.direct_io is true but this filesystem does not support O_DIRECT (tmpfs?); "
                     "set storage.direct_io: false"));
  if (f.fd_ < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  struct stat st;
  if (::fstat(f.fd_, &st) != 0)
    return absl::UnavailableError(absl::StrCat(path, ": cannot stat (", std::strerror(errno), ")"));
  f.size_ = st.st_size;
  if (!direct) ::posix_fadvise(f.fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (mapped && !direct && f.size_ > 0) {
    void* m = ::mmap(nullptr, static_cast<size_t>(f.size_), PROT_READ, MAP_SHARED, f.fd_, 0);
    if (m == MAP_FAILED) return absl::UnavailableError(absl::StrCat(path, ": cannot map (", std::strerror(errno), ")"));
    f.map_ = static_cast<char*>(m);
  }
  return f;
}

ReadFile ReadFile::open(std::shared_ptr<const S3Object> object) {
  ReadFile f;
  f.path_ = object->path();
  f.size_ = object->size();
  f.remote_ = std::move(object);
  return f;
}

ReadFile::ReadFile(ReadFile&& o) noexcept { *this = std::move(o); }

ReadFile& ReadFile::operator=(ReadFile&& o) noexcept {
  if (this != &o) {
    if (map_ != nullptr) ::munmap(map_, static_cast<size_t>(size_));
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    direct_ = o.direct_;
    size_ = o.size_;
    map_ = o.map_;
    remote_ = std::move(o.remote_);
    o.fd_ = -1;
    o.map_ = nullptr;
  }
  return *this;
}

ReadFile::~ReadFile() {
  if (map_ != nullptr) ::munmap(map_, static_cast<size_t>(size_));
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<const char*> ReadFile::read(int64_t offset, int64_t length, AlignedBuffer& buf) const {
  if (offset < 0 || length < 0 || offset + length > size_)
    return absl::DataLossError(absl::StrCat(path_, ": bytes [", offset, ", ", offset + length, ") lie past its end (",
                                            size_, " bytes; truncated?)"));
  if (map_ != nullptr) return map_ + offset;
  if (remote_) {  // whole 4 KiB blocks, as the shard's chunks are laid out
    const int64_t begin = offset / kAlign * kAlign;
    const int64_t end = std::min(size_, (offset + length + kAlign - 1) / kAlign * kAlign);
    char* p = buf.reserve(static_cast<size_t>(end - begin));
    TY_RETURN_IF_ERROR(remote_->read(begin, end - begin, p));
    return p + (offset - begin);
  }
  // O_DIRECT: whole aligned blocks; the last one may run past the end of the file, where
  // the kernel returns a short read.
  const int64_t begin = direct_ ? offset / kAlign * kAlign : offset;
  const int64_t end = direct_ ? (offset + length + kAlign - 1) / kAlign * kAlign : offset + length;
  char* p = buf.reserve(static_cast<size_t>(end - begin));
  const int64_t need = offset + length - begin;  // bytes that must arrive
  int64_t done = 0;
  while (done < need) {
    const ssize_t r = ::pread(fd_, p + done, static_cast<size_t>(end - begin - done), begin + done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return absl::UnavailableError(
          absl::StrCat(path_, ": read failed at byte offset ", begin + done, ": ", std::strerror(errno)));
    if (r == 0) return absl::DataLossError(absl::StrCat(path_, ": truncated at byte offset ", begin + done));
    done += r;
    if (direct_ && done % kAlign != 0) break;  // a short O_DIRECT read ends at end of file
  }
  if (done < need) return absl::DataLossError(absl::StrCat(path_, ": truncated at byte offset ", begin + done));
  return p + (offset - begin);
}

}  // namespace ty
