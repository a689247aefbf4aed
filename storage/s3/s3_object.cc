#include "storage/s3/s3_object.h"

#include <fnmatch.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {

absl::StatusOr<std::shared_ptr<const S3Object>> S3Object::open(const std::string& url) {
  TY_ASSIGN_OR_RETURN(S3Url u, parse_s3_url(url));
  TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
  return open(std::move(client), u);
}

absl::StatusOr<std::shared_ptr<const S3Object>> S3Object::open(std::shared_ptr<S3Client> client, const S3Url& url) {
  TY_ASSIGN_OR_RETURN(S3ObjectInfo info, client->head(url));
  auto o = std::make_shared<S3Object>();
  o->client_ = std::move(client);
  o->url_ = url;
  o->path_ = url.str();
  o->etag_ = info.etag;
  o->size_ = info.size;
  return std::shared_ptr<const S3Object>(std::move(o));
}

absl::Status S3Object::read(int64_t offset, int64_t length, char* dst) const {
  if (offset < 0 || length < 0 || offset + length > size_)
    return absl::DataLossError(absl::StrCat(path_, ": bytes [", offset, ", ", offset + length,
                                            ") lie past its end (", size_, " bytes; truncated?)"));
  return client_->read(url_, offset, length, etag_, dst);
}

absl::StatusOr<std::vector<std::string>> expand_s3_glob(const std::string& pattern) {
  TY_ASSIGN_OR_RETURN(S3Url u, parse_s3_url(pattern));
  const size_t wild = u.key.find_first_of("*?[");
  if (wild == std::string::npos) return std::vector<std::string>{pattern};
  TY_ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, shared_s3_client());
  TY_ASSIGN_OR_RETURN(std::vector<S3ObjectInfo> objects, client->list(S3Url{u.bucket, u.key.substr(0, wild)}));
  std::vector<std::string> out;
  for (const S3ObjectInfo& o : objects)
    if (::fnmatch(u.key.c_str(), o.key.c_str(), FNM_PATHNAME) == 0) out.push_back(S3Url{u.bucket, o.key}.str());
  std::sort(out.begin(), out.end());
  if (out.empty()) return absl::NotFoundError(absl::StrCat("no object matches ", pattern));
  return out;
}

}  // namespace ty
