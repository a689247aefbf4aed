#include "comm/rendezvous/file_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty::rendezvous {

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir))
    return absl::InvalidArgumentError(
        absl::StrCat("rendezvous file://", dir, ": cannot create it (", ec.message(), ")"));
  return std::unique_ptr<FileStore>(new FileStore(dir));
}

absl::StatusOr<std::string> FileStore::path_of(const std::string& key) const {
  if (key.empty()) return absl::InvalidArgumentError("rendezvous key: empty");
  std::string name;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-')
      name += static_cast<char>(c);
    else
      name += absl::StrFormat("%%%02X", c);
  }
  if (name.size() > 200) return absl::InvalidArgumentError(absl::StrCat("rendezvous key '", key, "': too long"));
  return dir_ + "/" + name;
}

absl::Status FileStore::set(const std::string& key, const std::string& value) {
  absl::StatusOr<std::string> path = path_of(key);
  if (!path.ok()) return path.status();
  // '~' never appears in an encoded key: a temporary file can never be taken for a key.
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  const std::string tmp = absl::StrCat(*path, "~", host, ".", getpid(), ".", std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    out.close();
    if (!out) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat(describe(), ": cannot write ", tmp, " (", std::strerror(err), ")"));
    }
  }
  if (::rename(tmp.c_str(), path->c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(describe(), ": cannot rename ", tmp, " (", std::strerror(err), ")"));
  }
  return absl::OkStatus();
}

absl::Status FileStore::wait(const std::vector<std::string>& keys, Clock::time_point deadline) {
  std::map<std::string, std::string> paths;
  for (const std::string& k : keys) {
    absl::StatusOr<std::string> p = path_of(k);
    if (!p.ok()) return p.status();
    paths[k] = *p;
  }
  return poll_keys(describe(), keys, deadline,
                   [&](const std::string& k) -> absl::StatusOr<bool> { return ::access(paths[k].c_str(), F_OK) == 0; });
}

absl::StatusOr<std::string> FileStore::get(const std::string& key, Clock::time_point deadline) {
  if (absl::Status st = wait({key}, deadline); !st.ok()) return st;
  absl::StatusOr<std::string> path = path_of(key);
  std::ifstream in(*path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return absl::UnavailableError(absl::StrCat(describe(), ": cannot read ", *path));
  return ss.str();
}

}  // namespace ty::rendezvous
