#include "storage/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
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
#include "storage/shard/crc32c.h"
#include "storage/weights_file.h"

namespace ty {
namespace fs = std::filesystem;
namespace {

std::string step_dir(const std::string& run_dir, int64_t step) {
  return absl::StrFormat("%s/checkpoints/step-%010d", run_dir, step);
}
std::string rank_file(int rank) { return absl::StrFormat("rank-%05d.bin", rank); }

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

// Fault-injection kill points for tests: TRAINYARD_FAULT_CKPT=<point> SIGKILLs the writer
// there, in the save of step TRAINYARD_FAULT_CKPT_STEP (any step when unset).
void kill_point(const char* point, int64_t step) {
  static const char* armed = std::getenv("TRAINYARD_FAULT_CKPT");
  static const char* at_step = std::getenv("TRAINYARD_FAULT_CKPT_STEP");
  if (armed && std::string(armed) == point && (!at_step || std::atoll(at_step) == step)) ::kill(::getpid(), SIGKILL);
}

// Parses MANIFEST: "world W" then "file NAME SIZE CRC" lines; verifies every file.
absl::StatusOr<int> verify_manifest(const std::string& dir) {
  std::ifstream in(dir + "/MANIFEST");
  if (!in) return absl::NotFoundError(absl::StrCat(dir, ": no MANIFEST (torn checkpoint)"));
  std::string word;
  int world = 0, files = 0;
  if (!(in >> word >> world) || word != "world" || world < 1)
    return absl::DataLossError(absl::StrCat(dir, "/MANIFEST: malformed"));
  std::string name;
  int64_t size = 0;
  uint32_t crc = 0;
  while (in >> word >> name >> size >> crc) {
    if (word != "file" || name.find('/') != std::string::npos)
      return absl::DataLossError(absl::StrCat(dir, "/MANIFEST: malformed entry ", name));
    int64_t actual = 0;
    TY_ASSIGN_OR_RETURN(uint32_t got, file_crc(dir + "/" + name, &actual));
    if (actual != size || got != crc)
      return absl::DataLossError(absl::StrCat(dir, "/", name, ": size ", actual, " and CRC32C ", got,
                                              " do not match the manifest (", size, ", ", crc, ")"));
    ++files;
  }
  if (files != world)
    return absl::DataLossError(absl::StrCat(dir, "/MANIFEST: ", files, " files for ", world, " ranks"));
  return world;
}

std::vector<std::pair<int64_t, std::string>> step_dirs(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir + "/checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    int64_t step = 0;
    if (name.rfind("step-", 0) != 0 || name.size() != 15 || !e.is_directory() ||
        !absl::SimpleAtoi(name.substr(5), &step) || step < 0)
      continue;  // not ours (a backup copy, a symlink, a .partial)
    out.emplace_back(step, e.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

void remove_partial_checkpoints(const std::string& run_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir + "/checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) fs::remove_all(e.path(), ec);
  }
}

absl::Status write_checkpoint(const std::string& run_dir, int64_t step, int rank, int world,
                              const NamedTensors& tensors, std::chrono::milliseconds wait_for_ranks,
                              uint64_t run_nonce) {
  const std::string final_dir = step_dir(run_dir, step), partial = final_dir + ".partial";
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
  std::ostringstream manifest;
  manifest << "world " << world << "\n";
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
    manifest << "file " << rank_file(r) << " " << rsize << " " << rcrc << "\n";
  }
  const std::string tmp = partial + "/MANIFEST.tmp";
  {
    std::ofstream out(tmp);
    out << manifest.str();
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
  return fsync_path(run_dir + "/checkpoints");
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  // A step-N directory exists only after its manifest committed (step 3): count those,
  // without reading the files back (that is what a resume's verification does).
  int kept = 0;
  for (const auto& [step, dir] : step_dirs(run_dir)) {
    if (!fs::exists(dir + "/MANIFEST")) continue;
    if (++kept > std::max(keep, 1)) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
}

FoundCheckpoint find_latest_checkpoint(const std::string& run_dir) {
  FoundCheckpoint found;
  for (const auto& [step, dir] : step_dirs(run_dir)) {
    auto world = verify_manifest(dir);
    if (!world.ok()) {
      found.skipped.push_back(std::string(world.status().message()));
      continue;
    }
    found.dir = dir;
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
