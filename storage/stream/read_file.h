// ReadFile: a file opened for large positioned reads (pread(2)), optionally with O_DIRECT
// (storage.direct_io: true), which bypasses the page cache; or an object s3://bucket/key,
// read by ranged GETs of whole 4 KiB blocks pinned to its ETag (S3Object). O_DIRECT needs offsets, lengths
// and buffers aligned to the device's block size; ReadFile widens every request to 4 KiB
// boundaries and reads into an AlignedBuffer, so callers ask for any byte range either way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ty {

class S3Object;

// Whether `path` lies on a local disk filesystem (ext4, xfs, btrfs, f2fs, zfs, tmpfs,
// overlay), judged by statfs(2); false for network filesystems and when unsure.
bool on_local_filesystem(const std::string& path);

// Heap memory aligned to 4 KiB that only grows.
class AlignedBuffer {
 public:
  char* reserve(size_t bytes);  // at least `bytes`, contents not kept
  size_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> data_;
  size_t capacity_ = 0;
};

class ReadFile {
 public:
  static constexpr int64_t kAlign = 4096;

  // Errors name the file; with `direct`, a filesystem without O_DIRECT (tmpfs) is an
  // error naming storage.direct_io.
  // With `mapped` (and not `direct`) the file is mapped (mmap) and read() returns pointers
  // into the page cache instead of copying: one copy less; reading a file that shrank
  // since raises SIGBUS (see sigbus_guard.h).
  static absl::StatusOr<ReadFile> open(const std::string& path, bool direct, bool mapped = false);
  // Reads of an object already open (the same version as its opener read).
  static ReadFile open(std::shared_ptr<const S3Object> object);
  ReadFile(ReadFile&& o) noexcept;
  ReadFile& operator=(ReadFile&& o) noexcept;
  ReadFile(const ReadFile&) = delete;
  ~ReadFile();

  const std::string& path() const { return path_; }
  bool direct() const { return direct_; }
  bool remote() const { return remote_ != nullptr; }
  bool mapped() const { return map_ != nullptr; }
  int64_t size() const { return size_; }

  // Reads bytes [offset, offset + length) of the file; returns where byte `offset` landed
  // in `buf` (or in the mapping). Safe to call from several threads at once with different buffers. A range
  // past the end of the file is a DataLoss error naming the file and the offset.
  absl::StatusOr<const char*> read(int64_t offset, int64_t length, AlignedBuffer& buf) const;

 private:
  ReadFile() = default;
  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
  int64_t size_ = 0;
  char* map_ = nullptr;
  std::shared_ptr<const S3Object> remote_;  // an s3:// object instead of fd_
};

}  // namespace ty
