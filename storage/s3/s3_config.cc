#include "storage/s3/s3_config.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ty {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Key/value pairs of section [profile] (or [profile NAME], as ~/.aws/config writes it).
std::vector<std::pair<std::string, std::string>> ini_section(const std::string& path, const std::string& profile) {
  std::vector<std::pair<std::string, std::string>> kv;
  std::ifstream in(path);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      absl::string_view name = absl::StripAsciiWhitespace(l.substr(1, l.size() - 2));
      absl::ConsumePrefix(&name, "profile ");
      inside = absl::StripAsciiWhitespace(name) == profile;
      continue;
    }
    const size_t eq = l.find('=');
    if (inside && eq != absl::string_view::npos)
      kv.emplace_back(std::string(absl::StripAsciiWhitespace(l.substr(0, eq))),
                      std::string(absl::StripAsciiWhitespace(l.substr(eq + 1))));
  }
  return kv;
}

std::string lookup(const std::vector<std::pair<std::string, std::string>>& kv, const std::string& key) {
  for (const auto& [k, v] : kv)
    if (k == key) return v;
  return "";
}

}  // namespace

std::string S3Config::describe() const {
  return absl::StrCat("endpoint ", endpoint.empty() ? "AWS (virtual-hosted)" : endpoint, ", region ", region,
                      ", credentials from ", credentials_from);
}

absl::StatusOr<S3Config> s3_config_from_environment(const std::string& endpoint) {
  S3Config c;
  c.endpoint = endpoint;
  if (c.endpoint.empty()) c.endpoint = env("AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty()) c.endpoint = env("AWS_ENDPOINT_URL");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  if (!c.endpoint.empty() && c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("storage.s3.endpoint / AWS_ENDPOINT_URL '", c.endpoint, "' must start with http:// or https://"));
  if (const size_t scheme = c.endpoint.find("://"); scheme != std::string::npos) {
    const std::string rest = c.endpoint.substr(scheme + 3);
    if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          "storage.s3.endpoint / AWS_ENDPOINT_URL: give scheme://host[:port] only, without a path or user (",
          c.endpoint.substr(0, scheme + 3), "...)"));
  }

  const std::string home = env("HOME");
  const std::string profile = env("AWS_PROFILE").empty() ? "default" : env("AWS_PROFILE");
  const std::string creds_file =
      !env("AWS_SHARED_CREDENTIALS_FILE").empty() ? env("AWS_SHARED_CREDENTIALS_FILE") : home + "/.aws/credentials";
  const std::string config_file =
      !env("AWS_CONFIG_FILE").empty() ? env("AWS_CONFIG_FILE") : home + "/.aws/config";

  c.region = env("AWS_REGION");
  if (c.region.empty()) c.region = env("AWS_DEFAULT_REGION");
  if (c.region.empty()) c.region = lookup(ini_section(config_file, profile), "region");
  if (c.region.empty()) c.region = "us-east-1";

  if (!env("AWS_ACCESS_KEY_ID").empty()) {
    c.credentials = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
    c.credentials_from = "AWS_ACCESS_KEY_ID";
    if (c.credentials.secret_key.empty())
      return absl::InvalidArgumentError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  } else {
    const auto kv = ini_section(creds_file, profile);
    c.credentials = {lookup(kv, "aws_access_key_id"), lookup(kv, "aws_secret_access_key"),
                     lookup(kv, "aws_session_token")};
    c.credentials_from = absl::StrCat(creds_file, " [", profile, "]");
    if (c.credentials.access_key.empty() || c.credentials.secret_key.empty())
      return absl::InvalidArgumentError(absl::StrCat(
          "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or aws_access_key_id and "
          "aws_secret_access_key in ",
          creds_file, " under [", profile, "] (AWS_PROFILE)"));
  }
  int v = 0;
  if (absl::SimpleAtoi(env("TRAINYARD_S3_MAX_ATTEMPTS"), &v) && v >= 1) c.max_attempts = v;
  if (absl::SimpleAtoi(env("TRAINYARD_S3_STALL_S"), &v) && v >= 1) c.stall_seconds = v;
  return c;
}

}  // namespace ty
