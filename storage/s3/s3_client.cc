#include "storage/s3/s3_client.h"

#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status.h"
#include "storage/s3/http_transfer.h"
#include "storage/s3/s3_xml.h"

namespace ty {

struct S3Client::Call {
  Call(std::string m, S3Url u, std::vector<std::pair<std::string, std::string>> q = {})
      : method(std::move(m)), url(std::move(u)), query(std::move(q)) {}
  std::string method;
  S3Url url;
  std::vector<std::pair<std::string, std::string>> query;
  HttpHeaders headers;  // beyond host, x-amz-date, x-amz-content-sha256
  const char* body = nullptr;
  size_t body_size = 0;
  char* sink = nullptr;
  size_t sink_size = 0;
  std::string what;  // "GET s3://b/k bytes 0-9", for messages
};

namespace {

std::string amz_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// 5xx but 501, 429 SlowDown, 408, and the 400/409 answers AWS's SDKs retry too.
// "Wed, 02 Dec 2026 18:04:08 GMT" -> unix seconds; 0 when absent or malformed.
int64_t http_date(const std::string& text) {
  std::tm tm{};
  if (text.empty() || strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool retryable(const HttpResponse& r) {
  if ((r.status >= 500 && r.status != 501) || r.status == 429 || r.status == 408) return true;
  const std::string code = xml_text(r.body, "Code");
  return (r.status == 400 && (code == "RequestTimeout" || code == "RequestTimeTooSkewed")) ||
         (r.status == 409 && (code == "OperationAborted" || code == "ConditionalRequestConflict"));
}

// S3's <Code> and <Message>, or the status alone.
std::string s3_error(const HttpResponse& r) {
  const std::string code = xml_text(r.body, "Code"), message = xml_text(r.body, "Message");
  if (code.empty()) return absl::StrCat("HTTP ", r.status);
  return absl::StrCat("HTTP ", r.status, " ", code, message.empty() ? "" : ": ", message);
}

absl::Status status_for(const HttpResponse& r, const std::string& what, const S3Config& config) {
  const std::string why = s3_error(r);
  switch (r.status) {
    case 404: return absl::NotFoundError(absl::StrCat(what, ": not found (", why, ")"));
    case 403:
      if (xml_text(r.body, "Code") == "RequestTimeTooSkewed")
        return absl::UnavailableError(absl::StrCat(what, ": ", why, "; this host's clock differs from the store's"));
      return absl::PermissionDeniedError(absl::StrCat(what, ": access denied (", why,
                                                      "); check the credentials from ", config.credentials_from));
    case 412: return absl::FailedPreconditionError(absl::StrCat(what, ": precondition failed (", why, ")"));
    case 501: return absl::UnimplementedError(absl::StrCat(what, ": not supported by this store (", why, ")"));
    default: return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
  }
}

std::chrono::milliseconds backoff(const S3Config& c, int attempt) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const int64_t cap =
      std::min<int64_t>(c.backoff_cap.count(), c.backoff_base.count() << std::min(attempt, 20));
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, cap)(rng));
}

}  // namespace

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  if (!config_.endpoint.empty()) {
    base_url_ = config_.endpoint;
    const size_t scheme = base_url_.find("://");
    host_ = base_url_.substr(scheme + 3);
    const size_t slash = host_.find('/');
    if (slash != std::string::npos) {
      base_url_.resize(scheme + 3 + slash);
      host_.resize(slash);
    }
  }
}

absl::StatusOr<HttpResponse> S3Client::send(const Call& c) {
  // Path-style with an endpoint, and on AWS for bucket names with dots (which TLS's
  // wildcard certificate does not cover); virtual-hosted on AWS otherwise.
  const bool aws = config_.endpoint.empty(), dotted = c.url.bucket.find('.') != std::string::npos;
  const bool path_style = !aws || dotted;
  const std::string host = !aws    ? host_
                           : dotted ? absl::StrCat("s3.", config_.region, ".amazonaws.com")
                                    : absl::StrCat(c.url.bucket, ".s3.", config_.region, ".amazonaws.com");
  const std::string path = path_style ? absl::StrCat("/", c.url.bucket, c.url.key.empty() && c.method != "PUT" ? "" : "/",
                                                     c.url.key)
                                      : absl::StrCat("/", c.url.key);
  const std::string query = canonical_query(c.query);
  const std::string url = absl::StrCat(aws ? "https://" + host : base_url_, uri_encode(path, true),
                                       query.empty() ? "" : "?", query);
  const std::string payload = c.body != nullptr ? sha256_hex(c.body, c.body_size) : sha256_hex("");
  const auto start = std::chrono::steady_clock::now();
  std::string last;
  for (int attempt = 0;; ++attempt) {
    SigV4Request s{c.method, path, c.query, c.headers, payload};
    s.headers.emplace_back("host", host);
    s.headers.emplace_back("x-amz-content-sha256", payload);
    const std::string date = amz_now();
    s.headers.emplace_back("x-amz-date", date);
    if (!config_.credentials.session_token.empty())
      s.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
    HttpRequest h;
    h.method = c.method;
    h.url = url;
    h.headers = s.headers;
    h.headers.emplace_back("authorization", sigv4_authorization(s, config_.credentials, config_.region, date));
    h.body = c.body;
    h.body_size = c.body_size;
    h.sink = c.sink;
    h.sink_size = c.sink_size;
    h.stall_seconds = config_.stall_seconds;
    h.connect_timeout = config_.connect_timeout;
    ++requests_;
    absl::StatusOr<HttpResponse> r = http_transfer(h);
    if (r.ok() && !retryable(*r)) {
      if (r->status >= 200 && r->status < 300) {
        bytes_read_ += static_cast<int64_t>(r->sink_bytes + r->body.size());
        bytes_written_ += static_cast<int64_t>(c.body_size);
        return r;
      }
      ++failures_;
      return status_for(*r, c.what, config_);
    }
    last = r.ok() ? s3_error(*r) : std::string(r.status().message());
    if (attempt + 1 >= config_.max_attempts) {
      ++failures_;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return absl::UnavailableError(absl::StrFormat("%s: failed %d times over %.1f s; last: %s (TRAINYARD_S3_MAX_ATTEMPTS)",
                                                    c.what, attempt + 1, secs, last));
    }
    const auto wait = backoff(config_, attempt);
    ++retries_;
    std::fprintf(stderr, "trainyard: s3: %s: %s; retry %d of %d in %.2f s\n", c.what.c_str(), last.c_str(), attempt + 1,
                 config_.max_attempts - 1, wait.count() / 1000.0);
    std::this_thread::sleep_for(wait);
  }
}

absl::StatusOr<S3ObjectInfo> S3Client::head(const S3Url& url) {
  Call c{"HEAD", url};
  c.what = absl::StrCat("HEAD ", url.str());
  TY_ASSIGN_OR_RETURN(HttpResponse r, send(c));
  S3ObjectInfo info{url.key, 0, r.header("etag")};
  if (!absl::SimpleAtoi(r.header("content-length"), &info.size))
    return absl::UnavailableError(absl::StrCat(c.what, ": the answer has no Content-Length"));
  info.modified = http_date(r.header("last-modified"));
  info.store_time = http_date(r.header("date"));
  return info;
}

absl::Status S3Client::read(const S3Url& url, int64_t offset, int64_t length, const std::string& etag, char* dst) {
  if (length == 0) return absl::OkStatus();
  Call c{"GET", url};
  c.headers.emplace_back("range", absl::StrCat("bytes=", offset, "-", offset + length - 1));
  if (!etag.empty()) c.headers.emplace_back("if-match", etag);
  c.sink = dst;
  c.sink_size = static_cast<size_t>(length);
  c.what = absl::StrCat("GET ", url.str(), " bytes ", offset, "-", offset + length - 1);
  absl::StatusOr<HttpResponse> r = send(c);
  if (r.status().code() == absl::StatusCode::kFailedPrecondition)
    return absl::FailedPreconditionError(absl::StrCat(
        url.str(), ": the object was replaced while this run reads it (its ETag is no longer ", etag,
        "); a shard must not change during a run: restore it, or start a new run"));
  TY_RETURN_IF_ERROR(r.status());
  if (r->status != 206 && !(r->status == 200 && offset == 0))
    return absl::UnavailableError(absl::StrCat(c.what, ": the store answered ", r->status, " instead of 206"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> S3Client::get(const S3Url& url) {
  constexpr int64_t kPiece = int64_t{16} << 20;
  for (int attempt = 0;; ++attempt) {
    TY_ASSIGN_OR_RETURN(S3ObjectInfo info, head(url));
    std::string out(static_cast<size_t>(info.size), '\0');
    const int64_t pieces = (info.size + kPiece - 1) / kPiece;
    std::vector<absl::Status> errors(static_cast<size_t>(pieces));
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t p; (p = next++) < pieces;)
        errors[static_cast<size_t>(p)] =
            read(url, p * kPiece, std::min(kPiece, info.size - p * kPiece), info.etag, out.data() + p * kPiece);
    };
    std::vector<std::thread> threads;
    for (int64_t t = 1; t < std::min<int64_t>(4, pieces); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    absl::Status st;
    for (const absl::Status& e : errors)
      if (!e.ok()) {
        st = e;
        break;
      }
    if (st.ok()) return out;
    if (!absl::IsFailedPrecondition(st) || attempt > 0) return st;  // replaced while read: once more
  }
}

absl::Status S3Client::put(const S3Url& url, std::string_view data, bool if_absent) {
  Call c{"PUT", url};
  if (if_absent) c.headers.emplace_back("if-none-match", "*");
  c.body = data.data();
  c.body_size = data.size();
  c.what = absl::StrCat("PUT ", url.str(), " (", data.size(), " bytes)");
  absl::StatusOr<HttpResponse> r = send(c);
  if (if_absent && r.status().code() == absl::StatusCode::kFailedPrecondition)
    return absl::AlreadyExistsError(absl::StrCat(url.str(), " already exists"));
  return r.status();
}

absl::StatusOr<std::string> S3Client::upload_part(const S3Url& url, const std::string& upload_id, int part,
                                                  const char* data, int64_t size) {
  Call c{"PUT", url, {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}};
  c.body = data;
  c.body_size = static_cast<size_t>(size);
  c.what = absl::StrCat("PUT ", url.str(), " part ", part, " (", size, " bytes)");
  TY_ASSIGN_OR_RETURN(HttpResponse r, send(c));
  return r.header("etag");
}

absl::StatusOr<std::string> S3Client::start_multipart(const S3Url& url) {
  Call init{"POST", url, {{"uploads", ""}}};
  init.what = absl::StrCat("POST ", url.str(), "?uploads");
  TY_ASSIGN_OR_RETURN(HttpResponse started, send(init));
  const std::string id = xml_text(started.body, "UploadId");
  if (id.empty()) return absl::UnavailableError(absl::StrCat(init.what, ": no UploadId in the answer"));
  return id;
}

absl::Status S3Client::complete_multipart(const S3Url& url, const std::string& id,
                                          const std::vector<std::string>& etags, int64_t size) {
  std::string doc = "<CompleteMultipartUpload>";
  for (size_t p = 0; p < etags.size(); ++p)
    absl::StrAppend(&doc, "<Part><PartNumber>", p + 1, "</PartNumber><ETag>", xml_escape(etags[p]), "</ETag></Part>");
  doc += "</CompleteMultipartUpload>";
  Call done{"POST", url, {{"uploadId", id}}};
  done.body = doc.data();
  done.body_size = doc.size();
  done.what = absl::StrCat("POST ", url.str(), "?uploadId (complete ", etags.size(), " parts)");
  absl::StatusOr<HttpResponse> r = send(done);
  // A retried complete whose first attempt did complete finds no upload (404 NoSuchUpload):
  // the object is there at its size then.
  if (absl::IsNotFound(r.status())) {
    auto there = head(url);
    if (there.ok() && there->size == size) return absl::OkStatus();
  }
  TY_RETURN_IF_ERROR(r.status());
  // S3 may answer 200 and put the error in the body.
  if (r->body.find("<Error>") != std::string::npos)
    return absl::UnavailableError(
        absl::StrCat(done.what, ": ", xml_text(r->body, "Code"), ": ", xml_text(r->body, "Message")));
  return absl::OkStatus();
}

void S3Client::abort_multipart(const S3Url& url, const std::string& id) {
  Call abort{"DELETE", url, {{"uploadId", id}}};
  abort.what = absl::StrCat("DELETE ", url.str(), "?uploadId");
  (void)send(abort);  // best effort; the store expires abandoned parts
}

absl::Status S3Client::upload(const S3Url& url, const char* data, int64_t size, int64_t part_bytes, int parallel) {
  if (size <= part_bytes) return put(url, std::string_view(data, static_cast<size_t>(size)));
  TY_ASSIGN_OR_RETURN(const std::string id, start_multipart(url));
  const int parts = static_cast<int>((size + part_bytes - 1) / part_bytes);
  std::vector<std::string> etags(static_cast<size_t>(parts));
  std::vector<absl::Status> errors(static_cast<size_t>(parts));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (int p; !failed && (p = next++) < parts;) {
      const int64_t at = p * part_bytes, n = std::min(part_bytes, size - at);
      auto etag = upload_part(url, id, p + 1, data + at, n);
      if (etag.ok()) {
        etags[static_cast<size_t>(p)] = *etag;
      } else {
        errors[static_cast<size_t>(p)] = etag.status();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min(parallel, parts); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  absl::Status st;
  for (const auto& e : errors)
    if (!e.ok()) {
      st = e;
      break;
    }
  if (st.ok()) st = complete_multipart(url, id, etags, size);
  if (!st.ok()) abort_multipart(url, id);
  return st;
}

absl::Status S3Client::remove(const S3Url& url) {
  Call c{"DELETE", url};
  c.what = absl::StrCat("DELETE ", url.str());
  absl::StatusOr<HttpResponse> r = send(c);
  if (r.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return r.status();
}

absl::StatusOr<std::vector<S3ObjectInfo>> S3Client::list(const S3Url& prefix, int page_keys) {
  std::vector<S3ObjectInfo> out;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    Call c{"GET", S3Url{prefix.bucket, ""},
           {{"list-type", "2"}, {"prefix", prefix.key}, {"max-keys", std::to_string(page_keys)}}};
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    c.what = absl::StrCat("LIST ", prefix.str());
    TY_ASSIGN_OR_RETURN(HttpResponse r, send(c));
    for (const std::string& entry : xml_texts(r.body, "Contents")) {
      S3ObjectInfo info{xml_text(entry, "Key"), 0, xml_text(entry, "ETag")};
      if (!absl::SimpleAtoi(xml_text(entry, "Size"), &info.size))
        return absl::UnavailableError(absl::StrCat(c.what, ": an entry without a size"));
      out.push_back(std::move(info));
    }
    if (xml_text(r.body, "IsTruncated") != "true") return out;
    token = xml_text(r.body, "NextContinuationToken");
    if (token.empty()) return absl::UnavailableError(absl::StrCat(c.what, ": truncated page without a continuation token"));
  }
  return absl::UnavailableError(absl::StrCat("LIST ", prefix.str(), ": more than 100000 pages"));
}

absl::Status S3Client::create_bucket(const std::string& bucket) {
  Call c{"PUT", S3Url{bucket, ""}};
  c.what = absl::StrCat("PUT s3://", bucket);
  absl::StatusOr<HttpResponse> r = send(c);
  if (!r.ok() && r.status().message().find("BucketAlreadyOwnedByYou") != std::string_view::npos) return absl::OkStatus();
  return r.status();
}

S3Stats S3Client::stats() const {
  return S3Stats{requests_.load(), retries_.load(), failures_.load(), bytes_read_.load(), bytes_written_.load()};
}

namespace {
std::mutex shared_mu;
std::string shared_endpoint;
std::shared_ptr<S3Client> shared_client;
}  // namespace

void set_s3_endpoint(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(shared_mu);
  if (endpoint != shared_endpoint) shared_client.reset();
  shared_endpoint = endpoint;
}

S3Stats shared_s3_stats() {
  std::lock_guard<std::mutex> lock(shared_mu);
  return shared_client ? shared_client->stats() : S3Stats{};
}

absl::StatusOr<std::shared_ptr<S3Client>> shared_s3_client() {
  std::lock_guard<std::mutex> lock(shared_mu);
  if (!shared_client) {
    TY_ASSIGN_OR_RETURN(S3Config config, s3_config_from_environment(shared_endpoint));
    shared_client = std::make_shared<S3Client>(std::move(config));
  }
  return shared_client;
}

}  // namespace ty
