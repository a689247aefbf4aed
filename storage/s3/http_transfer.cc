#include "storage/s3/http_transfer.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ty {
namespace {

constexpr size_t kMaxTextBody = size_t{64} << 20;  // listings and error documents

struct Transfer {
  CURL* handle;
  const HttpRequest* request;
  HttpResponse* response;
  size_t sent = 0;
  bool overflow = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->request->sink != nullptr) {
    if (t->response->sink_bytes + n > t->request->sink_size) {
      t->overflow = true;
      return 0;  // aborts the transfer
    }
    std::memcpy(t->request->sink + t->response->sink_bytes, data, n);
    t->response->sink_bytes += n;
    return n;
  }
  if (t->response->body.size() + n > kMaxTextBody) {
    t->overflow = true;
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) t->response->headers.clear();  // a new response (after 100 Continue)
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos)
    t->response->headers.emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
                                      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

size_t on_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->request->body_size - t->sent);
  std::memcpy(buffer, t->request->body + t->sent, n);
  t->sent += n;
  return n;
}

struct HandleCleanup {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};

CURL* thread_handle() {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, HandleCleanup> handle(curl_easy_init());
  return handle.get();
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return "";
}

absl::StatusOr<HttpResponse> http_transfer(const HttpRequest& r) {
  CURL* h = thread_handle();
  if (h == nullptr) return absl::InternalError("libcurl: curl_easy_init failed");
  curl_easy_reset(h);  // keeps the connection cache
  HttpResponse response;
  Transfer t{h, &r, &response};
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.stall_seconds));
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys with /./ or /../ go as signed
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  if (r.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body_size));
  } else if (r.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body == nullptr ? "" : r.body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body_size));
  } else if (r.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  curl_slist* list = nullptr;
  for (const auto& [k, v] : r.headers) list = curl_slist_append(list, absl::StrCat(k, ": ", v).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (t.overflow && r.sink != nullptr && response.status >= 200 && response.status < 300)
    return absl::DataLossError(absl::StrCat(r.method, " ", r.url, ": the server sent more than the ", r.sink_size,
                                            " bytes asked for"));
  if (rc != CURLE_OK)
    return absl::UnavailableError(absl::StrCat(r.method, " ", r.url, ": ", error[0] ? error : curl_easy_strerror(rc)));
  if (r.sink != nullptr && response.status >= 200 && response.status < 300 && response.sink_bytes != r.sink_size)
    return absl::UnavailableError(absl::StrCat(r.method, " ", r.url, ": body cut short (", response.sink_bytes, " of ",
                                               r.sink_size, " bytes)"));
  return response;
}

}  // namespace ty
