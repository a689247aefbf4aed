#include "storage/s3/s3_streaming_upload.h"

#include <algorithm>
#include <cstring>

#include "runtime/status.h"

namespace ty {

S3StreamingUpload::S3StreamingUpload(std::shared_ptr<S3Client> client, S3Url url, int64_t part_bytes, int parallel)
    : client_(std::move(client)), url_(std::move(url)), part_bytes_(part_bytes), parallel_(std::max(1, parallel)) {
  current_.reserve(static_cast<size_t>(part_bytes_));
}

S3StreamingUpload::~S3StreamingUpload() {
  if (!done_) abort();
}

absl::Status S3StreamingUpload::write(const char* data, size_t n) {
  while (n > 0 && status_.ok()) {
    const size_t take = std::min(n, static_cast<size_t>(part_bytes_) - current_.size());
    current_.append(data, take);
    data += take;
    n -= take;
    bytes_ += static_cast<int64_t>(take);
    // A full part goes once more bytes follow (the last part is sent by finish()).
    if (current_.size() == static_cast<size_t>(part_bytes_) && n > 0) status_ = send_current();
  }
  return status_;
}

absl::Status S3StreamingUpload::send_current() {
  if (upload_id_.empty()) {
    TY_ASSIGN_OR_RETURN(upload_id_, client_->start_multipart(url_));
  }
  while (static_cast<int>(in_flight_.size()) >= parallel_) TY_RETURN_IF_ERROR(wait_oldest());
  auto part = std::make_unique<Part>();
  part->data.swap(current_);
  current_.reserve(static_cast<size_t>(part_bytes_));
  part->number = ++parts_;
  Part* p = part.get();
  p->thread = std::thread([this, p] {
    auto etag = client_->upload_part(url_, upload_id_, p->number, p->data.data(), static_cast<int64_t>(p->data.size()));
    if (etag.ok()) p->etag = *etag;
    else p->status = etag.status();
  });
  in_flight_.push_back(std::move(part));
  return absl::OkStatus();
}

absl::Status S3StreamingUpload::wait_oldest() {
  std::unique_ptr<Part> p = std::move(in_flight_.front());
  in_flight_.pop_front();
  p->thread.join();
  TY_RETURN_IF_ERROR(p->status);
  if (etags_.size() < static_cast<size_t>(p->number)) etags_.resize(static_cast<size_t>(p->number));
  etags_[static_cast<size_t>(p->number - 1)] = p->etag;
  return absl::OkStatus();
}

absl::Status S3StreamingUpload::finish() {
  if (done_) return status_;
  if (status_.ok() && upload_id_.empty()) {  // all of it in one part: one PUT
    status_ = client_->put(url_, current_);
  } else {
    if (status_.ok() && !current_.empty()) status_ = send_current();
    while (!in_flight_.empty()) {
      absl::Status st = wait_oldest();
      if (status_.ok()) status_ = st;
    }
    if (status_.ok()) status_ = client_->complete_multipart(url_, upload_id_, etags_, bytes_);
    if (!status_.ok()) abort();
  }
  done_ = true;
  return status_;
}

void S3StreamingUpload::abort() {
  while (!in_flight_.empty()) {
    in_flight_.front()->thread.join();
    in_flight_.pop_front();
  }
  if (!upload_id_.empty()) client_->abort_multipart(url_, upload_id_);
  upload_id_.clear();
  done_ = true;
}

}  // namespace ty
