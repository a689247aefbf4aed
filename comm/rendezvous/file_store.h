// FileStore: a rendezvous::Store on a directory every rank sees (a shared file system).
// set() writes the value to a temporary file and renames it into place, so a reader sees
// a whole value or none; wait() and get() poll, backing off from 1 ms to 50 ms.
#pragma once

#include "comm/rendezvous/store.h"

namespace ty::rendezvous {

class FileStore final : public Store {
 public:
  // Creates `dir` if needed.
  static absl::StatusOr<std::unique_ptr<FileStore>> open(const std::string& dir);

  absl::Status set(const std::string& key, const std::string& value) override;
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override;
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override;
  std::string describe() const override { return "file://" + dir_; }

 private:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}
  // The file of `key`: its bytes outside [A-Za-z0-9._-] percent-encoded.
  absl::StatusOr<std::string> path_of(const std::string& key) const;
  std::string dir_;
};

}  // namespace ty::rendezvous
