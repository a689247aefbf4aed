#include "storage/object_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/s3/s3_client.h"

namespace ty {
namespace fs = std::filesystem;

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

absl::StatusOr<std::string> read_whole(const std::string& path) {
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(path));
    TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
    return client->get(url);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

absl::Status write_whole(const std::string& path, std::string_view bytes) {
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(path));
    TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
    return client->upload(url, bytes.data(), static_cast<int64_t>(bytes.size()));
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": cannot create (", std::strerror(errno), ")"));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat(tmp, ": write failed at byte offset ", done, " (", why, ")"));
    }
    done += static_cast<size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot write (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

bool path_exists(const std::string& path) {
  if (is_s3_url(path)) {
    auto url = parse_s3_url(path);
    auto client = shared_s3_client();
    return url.ok() && client.ok() && (*client)->head(*url).ok();
  }
  std::error_code ec;
  return fs::exists(path, ec);
}

absl::Status remove_path(const std::string& path) {
  if (is_s3_url(path)) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(path));
    TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
    return client->remove(url);
  }
  std::error_code ec;
  if (!fs::remove(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": not there"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ListedPath>> list_tree(const std::string& dir) {
  std::vector<ListedPath> out;
  if (is_s3_url(dir)) {
    TY_ASSIGN_OR_RETURN(S3Url url, parse_s3_url(dir));
    TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
    if (!url.key.empty() && url.key.back() != '/') url.key += '/';
    TY_ASSIGN_OR_RETURN(std::vector<S3ObjectInfo> objects, client->list(url));
    for (const S3ObjectInfo& o : objects) out.push_back({S3Url{url.bucket, o.key}.str(), o.size});
    return out;
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) out.push_back({it->path().string(), static_cast<int64_t>(it->file_size())});
  std::sort(out.begin(), out.end(), [](const ListedPath& a, const ListedPath& b) { return a.path < b.path; });
  return out;
}

}  // namespace ty
