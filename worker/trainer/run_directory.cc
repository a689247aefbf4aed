#include "worker/trainer/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "runtime/status.h"
#include "storage/s3/s3_url.h"
#include "worker/trainer/object_run_lock.h"

namespace ty {
namespace {

namespace fs = std::filesystem;

constexpr char kLockName[] = ".lock";

absl::Status user_error(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("run directory ", path, ": ", what));
}

std::string holder_of(int fd) {
  char buf[512];
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "another process (it has not written its name yet)" : s;
}

// A run directory of ours: one that a trainyard run has locked or started in.
bool is_run_directory(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / kLockName, ec) || fs::exists(dir / "job.yaml", ec);
}

absl::Status check_path(const std::string& path) {
  if (path.empty()) return user_error("''", "empty path");
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty()))
    if (part.size() > 255)
      return user_error(path, absl::StrCat("a path component is ", part.size(), " bytes (at most 255)"));
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) return user_error(path, absl::StrCat("cannot resolve it (", ec.message(), ")"));
  if (canonical == canonical.root_path())
    return user_error(path, "is the root of the file system; name a directory for this run");
  if (fs::exists(path, ec) && !fs::is_directory(path, ec)) return user_error(path, "exists and is not a directory");
  if (fs::is_directory(path, ec) && !fs::is_empty(path, ec) && !is_run_directory(path))
    return user_error(path,
                      "is not empty and is not a trainyard run directory (no .lock or job.yaml); "
                      "name a new or empty directory");
  return absl::OkStatus();
}

// Creating and removing a file shows a read-only or foreign directory before the first save.
absl::Status check_writable(const fs::path& dir) {
  const fs::path probe = dir / absl::StrCat(".write-probe-", getpid());
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return user_error(dir.string(), absl::StrCat("cannot write into it (", std::strerror(errno), ")"));
  ::close(fd);
  ::unlink(probe.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunDirectory>> RunDirectory::open_and_lock(const std::string& path, int attempt) {
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(std::unique_ptr<ObjectRunLock> lock, ObjectRunLock::acquire(path, attempt));
    std::unique_ptr<RunDirectory> dir(new RunDirectory(path, -1, false));
    dir->object_lock_ = std::move(lock);
    return dir;
  }
  if (absl::Status st = check_path(path); !st.ok()) return st;
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  fs::create_directories(path, ec);
  if (!fs::is_directory(path)) return user_error(path, absl::StrCat("cannot create it (", ec.message(), ")"));
  const std::string lock_path = (fs::path(path) / kLockName).string();
  const int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    if (!existed) ::rmdir(path.c_str());
    return user_error(path, absl::StrCat("cannot open ", kLockName, " (", std::strerror(err), ")"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = holder_of(fd);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return absl::AlreadyExistsError(absl::StrCat("run directory ", path, " is in use by ", holder,
                                                   "; wait for that run, stop it, or name another --run-dir"));
    return user_error(path, absl::StrCat("cannot lock ", kLockName, " (", std::strerror(err), ")"));
  }
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  const std::string me = absl::StrFormat("pid %d on host %s (attempt %d)\n", getpid(), host, attempt);
  // From here a failure removes what this call created (discard_if_unused).
  std::unique_ptr<RunDirectory> dir(new RunDirectory(path, fd, !existed));
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int err = errno;
    dir->discard_if_unused();
    return user_error(path, absl::StrCat("cannot write ", kLockName, " (", std::strerror(err), ")"));
  }
  for (const fs::path& d : {fs::path(path), fs::path(path) / "checkpoints"})
    if (fs::is_directory(d, ec))
      if (absl::Status st = check_writable(d); !st.ok()) {
        dir->discard_if_unused();
        return st;
      }
  return dir;
}

void RunDirectory::discard_if_unused() {
  if (object_lock_) return object_lock_->discard_if_unused();
  std::error_code ec;
  if (!created_ || fd_ < 0) return;
  for (const auto& entry : fs::directory_iterator(path_, ec))
    if (entry.path().filename() != kLockName && entry.path().filename() != kArrivalsName) return;
  fs::remove_all(fs::path(path_) / kArrivalsName, ec);  // the ranks' notes on timeouts, nothing of the run
  ::unlink((fs::path(path_) / kLockName).c_str());
  ::rmdir(path_.c_str());
}

RunDirectory::~RunDirectory() {
  if (fd_ >= 0) ::close(fd_);  // closing frees the lock; the file stays, naming the last holder
}

std::string default_run_dir(const std::string& name, std::time_t now, uint32_t random24) {
  char stamp[32];
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return absl::StrFormat("runs/%s-%s-%06x", name, stamp, random24 & 0xFFFFFFu);
}

}  // namespace ty
