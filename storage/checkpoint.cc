#include "storage/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status.h"
#include "storage/checkpoint_object.h"
#include "storage/checkpoint_parts.h"
#include "storage/s3/s3_url.h"
#include "storage/shard/crc32c.h"
#include "storage/weights_file.h"

namespace ty {
namespace fs = std::filesystem;
namespace {

std::string step_dir(const std::string& dir, int64_t step) { return dir + "/" + checkpoint_step_name(step); }
std::string rank_file(int rank) { return checkpoint_rank_file(rank); }

absl::Status fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(path, ": cannot open for fsync"));
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : absl::UnavailableError(absl::StrCat(path, ": fsync failed"));
}

absl::StatusOr<uint32_t> file_crc(const std::string& path, int64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": missing"));
  uint32_t crc = 0;
  *size = 0;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), buf.size());
    const std::streamsize n = in.gcount();
    crc = crc32c_extend(crc, buf.data(), static_cast<size_t>(n));
    *size += n;
  }
  return crc;
}

void kill_point(const char* point, int64_t step) { checkpoint_kill_point(point, step); }

// Parses MANIFEST and verifies every file it names (size and CRC32C).
absl::StatusOr<int> verify_manifest(const std::string& dir, VerifyShare share) {
  std::ifstream in(dir + "/MANIFEST");
  if (!in) return absl::NotFoundError(absl::StrCat(dir, ": no MANIFEST (torn checkpoint)"));
  std::stringstream text;
  text << in.rdbuf();
  int world = 0;
  TY_ASSIGN_OR_RETURN(std::vector<ManifestEntry> files, parse_manifest(dir + "/MANIFEST", text.str(), &world));
  for (size_t i = 0; i < files.size(); ++i) {
    const ManifestEntry& f = files[i];
    int64_t actual = 0;
    if (!share.reads(static_cast<int>(i))) {  // another rank reads it: here its size
      std::error_code ec;
      actual = static_cast<int64_t>(fs::file_size(dir + "/" + f.name, ec));
      if (ec) return absl::NotFoundError(absl::StrCat(dir, "/", f.name, ": missing"));
      if (actual != f.size)
        return absl::DataLossError(
            absl::StrCat(dir, "/", f.name, ": size ", actual, " does not match the manifest (", f.size, ")"));
      continue;
    }
    TY_ASSIGN_OR_RETURN(uint32_t got, file_crc(dir + "/" + f.name, &actual));
    if (actual != f.size || got != f.crc)
      return absl::DataLossError(absl::StrCat(dir, "/", f.name, ": size ", actual, " and CRC32C ", got,
                                              " do not match the manifest (", f.size, ", ", f.crc, ")"));
  }
  return world;
}

std::vector<std::pair<int64_t, std::string>> step_dirs(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    int64_t step = 0;
    if (!e.is_directory() || !parse_checkpoint_step_name(name, &step))
      continue;  // not ours (a backup copy, a symlink, a .partial)
    out.emplace_back(step, e.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

void remove_partial_checkpoints(const std::string& dir) {
  if (is_s3_url(dir)) return object_checkpoints::remove_partial(dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) fs::remove_all(e.path(), ec);
  }
}

absl::Status write_checkpoint(const std::string& dir, int64_t step, int rank, int world,
                              const NamedTensors& tensors, std::chrono::milliseconds wait_for_ranks,
                              uint64_t run_nonce) {
  if (is_s3_url(dir)) return object_checkpoints::write(dir, step, rank, world, tensors, wait_for_ranks, run_nonce);
  const std::string final_dir = step_dir(dir, step), partial = final_dir + ".partial";
  std::error_code ec;
  fs::create_directories(partial, ec);
  if (!fs::is_directory(partial))
    return absl::UnavailableError(absl::StrCat(partial, ": cannot create (", ec.message(), ")"));
  // Each rank states its file's size and CRC32C in a small sidecar (written after the file),
  // so rank 0 does not read the others' files back.
  uint32_t crc = 0;
  int64_t size = 0;
  TY_RETURN_IF_ERROR(save_weights(partial + "/" + rank_file(rank), tensors, &crc, &size));
  {
    const std::string side = partial + "/" + rank_file(rank) + ".sum";
    std::ofstream out(side + ".tmp");
    out << size << " " << crc << " " << run_nonce << "\n";
    out.close();
    if (!out) return absl::UnavailableError(absl::StrCat(side, ".tmp: write failed (disk full?)"));
    if (::rename((side + ".tmp").c_str(), side.c_str()) != 0)
      return absl::UnavailableError(absl::StrCat(side, ": rename failed"));
  }
  kill_point("after_rank_file", step);
  if (rank != 0) return absl::OkStatus();

  const auto deadline = std::chrono::steady_clock::now() + wait_for_ranks;
  std::vector<ManifestEntry> entries;
  for (int r = 0; r < world; ++r) {
    const std::string side = partial + "/" + rank_file(r) + ".sum";
    int64_t rsize = -1;
    uint32_t rcrc = 0;
    uint64_t nonce = 0;
    for (;;) {  // this launch's sidecar of rank r, bounded in time
      std::ifstream in(side);
      if (in >> rsize >> rcrc >> nonce && nonce == run_nonce) break;
      if (std::chrono::steady_clock::now() > deadline)
        return absl::DeadlineExceededError(absl::StrCat(partial, ": rank ", r, " did not write its checkpoint file"));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::error_code size_ec;
    if (static_cast<int64_t>(fs::file_size(partial + "/" + rank_file(r), size_ec)) != rsize || size_ec)
      return absl::DataLossError(absl::StrCat(partial, "/", rank_file(r), ": size differs from its sidecar"));
    entries.push_back({rank_file(r), rsize, rcrc});
  }
  const std::string tmp = partial + "/MANIFEST.tmp";
  {
    std::ofstream out(tmp);
    out << manifest_text(world, entries);
    out.flush();
    if (!out) return absl::UnavailableError(absl::StrCat(tmp, ": write failed (disk full?)"));
  }
  // Durable before it is visible: retention deletes older checkpoints once this one
  // commits, so a manifest lost to an OS crash must not be possible.
  TY_RETURN_IF_ERROR(fsync_path(tmp));
  kill_point("after_manifest_tmp", step);
  if (::rename(tmp.c_str(), (partial + "/MANIFEST").c_str()) != 0)
    return absl::UnavailableError(absl::StrCat(tmp, ": rename failed"));
  kill_point("after_manifest_rename", step);
  TY_RETURN_IF_ERROR(fsync_path(partial));
  fs::remove_all(final_dir, ec);  // a stale one from an earlier life of this run
  if (::rename(partial.c_str(), final_dir.c_str()) != 0)
    return absl::UnavailableError(absl::StrCat(partial, ": rename to ", final_dir, " failed"));
  kill_point("after_dir_rename", step);
  return fsync_path(dir);
}

void prune_checkpoints(const std::string& dir, int keep) {
  if (is_s3_url(dir)) return object_checkpoints::prune(dir, keep);
  // A step-N directory exists only after its manifest committed (step 3): count those,
  // without reading the files back (that is what a resume's verification does).
  int kept = 0;
  for (const auto& [step, path] : step_dirs(dir)) {
    if (!fs::exists(path + "/MANIFEST")) continue;
    if (++kept > std::max(keep, 1)) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
}

FoundCheckpoint find_latest_checkpoint(const std::string& dir, VerifyShare share, int64_t at_most) {
  if (is_s3_url(dir)) return object_checkpoints::find_latest(dir, share, at_most);
  FoundCheckpoint found;
  for (const auto& [step, path] : step_dirs(dir)) {
    if (step > at_most) continue;
    auto world = verify_manifest(path, share);
    if (!world.ok()) {
      found.skipped.push_back(std::string(world.status().message()));
      continue;
    }
    found.dir = path;
    found.step = step;
    found.world = *world;
    return found;
  }
  return found;
}

absl::StatusOr<std::map<std::string, Tensor>> load_checkpoint_rank(const FoundCheckpoint& ckpt, int rank) {
  return load_weights(ckpt.dir + "/" + rank_file(std::min(rank, ckpt.world - 1)));
}

}  // namespace ty
