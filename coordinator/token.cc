#include "coordinator/token.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty::coordinator {
namespace {

bool is_token(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

absl::StatusOr<std::string> random_hex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  if (!in.read(raw.data(), static_cast<std::streamsize>(bytes))) return absl::UnavailableError("reading /dev/urandom");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

absl::StatusOr<Token> load_or_create_token(const std::string& state_dir) {
  Token t;
  t.path = (std::filesystem::path(state_dir) / "token").lexically_normal().string();
  struct stat st{};
  if (stat(t.path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0)
      return absl::PermissionDeniedError(absl::StrFormat("%s: others may read the token (mode %04o); chmod 600 it", t.path,
                                                         st.st_mode & 0777));
    std::ifstream in(t.path);
    std::getline(in, t.value);
    if (!is_token(t.value))
      return absl::InvalidArgumentError(
          absl::StrCat(t.path, ": not a trainyard token (64 hex digits); remove it to make a new one"));
    return t;
  }
  absl::StatusOr<std::string> fresh = random_hex(32);
  if (!fresh.ok()) return fresh.status();
  // Created 0600 and exclusive: never readable by others, even for a moment.
  const std::string tmp = t.path + ".tmp";
  unlink(tmp.c_str());  // a leftover of a crash; never followed, never reused
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(tmp, ": ", std::strerror(errno)));
  const std::string line = *fresh + "\n";
  const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  close(fd);
  if (!written || rename(tmp.c_str(), t.path.c_str()) != 0)
    return absl::UnavailableError(absl::StrCat(t.path, ": ", std::strerror(errno)));
  t.value = *fresh;
  t.created = true;
  return t;
}

std::string attempt_token(const std::string& token, int64_t job, int attempt) {
  const std::string message = absl::StrCat("rendezvous/", job, "/", attempt);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &len);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) absl::StrAppend(&out, absl::Hex(mac[i], absl::kZeroPad2));
  return out;
}

bool token_matches(std::string_view expected, std::string_view given) {
  if (expected.size() != given.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^ static_cast<unsigned char>(given[i]);
  return diff == 0;
}

}  // namespace ty::coordinator
