#include "worker/trainer/metrics_log.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "storage/object_path.h"
#include "storage/s3/s3_url.h"

namespace ty {

absl::StatusOr<MetricsLog> MetricsLog::open(const std::string& path) {
  if (is_s3_url(path)) {
    absl::StatusOr<std::string> earlier = read_whole(path);
    if (!earlier.ok() && !absl::IsNotFound(earlier.status())) return earlier.status();
    MetricsLog log(nullptr, path);
    log.remote_ = true;
    if (earlier.ok()) log.lines_ = std::move(*earlier);
    return log;
  }
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr)
    return absl::UnavailableError(absl::StrCat(path, ": cannot open for append (", std::strerror(errno), ")"));
  return MetricsLog(f, path);
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
  if (remote_ && dirty_) (void)sync();
}

absl::Status MetricsLog::sync() {
  if (!remote_ || !dirty_ || !status_.ok()) return status_;
  status_ = write_whole(path_, lines_);
  dirty_ = !status_.ok();
  return status_;
}

void MetricsLog::line(const std::string& json) {
  if (!status_.ok()) return;
  if (remote_) {
    absl::StrAppend(&lines_, json, "\n");
    dirty_ = true;
    return;
  }
  if (std::fputs(json.c_str(), f_) < 0 || std::fputc('\n', f_) == EOF || std::fflush(f_) != 0)
    status_ = absl::UnavailableError(absl::StrCat(path_, ": cannot write (", std::strerror(errno), ")"));
}

void MetricsLog::train(int64_t step, int64_t epoch, double loss, double lr, const ExtraFigures& extra) {
  std::string figures;
  for (const auto& [name, value] : extra) absl::StrAppendFormat(&figures, R"("%s":%.9g,)", name, value);
  line(absl::StrFormat(R"({"kind":"train","step":%d,"epoch":%d,"loss":%.9g,%s%s"lr":%.9g})", step, epoch, loss,
                       tokens_per_sample_ > 0 ? absl::StrFormat(R"("perplexity":%.9g,)", std::exp(loss)) : "",
                       figures, lr));
}

void MetricsLog::fid(double fid, double floor, int64_t samples) {
  line(absl::StrFormat(R"({"kind":"eval","split":"test","fid":%.9g,"fid_floor":%.9g,"fid_samples":%d})", fid, floor,
                       samples));
}

void MetricsLog::samples(int64_t step, const std::string& path) {
  line(absl::StrFormat(R"({"kind":"samples","step":%d,"path":"%s"})", step, path));
}

void MetricsLog::epoch(int64_t epoch, double seconds, double samples_per_s, double data_wait_s, const IoFigures& io,
                       const std::optional<PipelineFigures>& pipeline) {
  std::string extra;
  if (tokens_per_sample_ > 0)
    absl::StrAppendFormat(&extra, R"(,"tokens_per_s":%.9g)", samples_per_s * double(tokens_per_sample_));
  if (pipeline) {
    std::vector<std::string> mib;
    for (double b : pipeline->activation_bytes) mib.push_back(absl::StrFormat("%.6g", b / (1 << 20)));
    extra += absl::StrFormat(R"(,"bubble_fraction":%.6g,"activation_mib":[%s])", pipeline->bubble_fraction,
                             absl::StrJoin(mib, ","));
  }
  line(absl::StrFormat(
      R"({"kind":"epoch","epoch":%d,"seconds":%.9g,"samples_per_s":%.9g,"data_wait_s":%.9g,"skipped_corrupt":%d,)"
      R"("refetched_ranges":%d,"s3_retries":%d%s})",
      epoch, seconds, samples_per_s, data_wait_s, io.skipped, io.refetched, io.s3_retries, extra));
}

void MetricsLog::checkpoint(int64_t step, double stall_s, int64_t bytes) {
  line(absl::StrFormat(R"({"kind":"checkpoint","step":%d,"stall_s":%.9g,"bytes":%d})", step, stall_s, bytes));
}

void MetricsLog::checkpoint_io(int64_t saves, int64_t bytes, double write_s) {
  line(absl::StrFormat(R"({"kind":"checkpoint_io","saves":%d,"bytes":%d,"write_s":%.9g})", saves, bytes, write_s));
}

void MetricsLog::data(const std::string& split, int64_t records, int64_t skipped) {
  line(absl::StrFormat(R"({"kind":"data","split":"%s","records":%d,"skipped_corrupt":%d})", split, records, skipped));
}

void MetricsLog::eval(const std::string& split, int64_t epoch, const MetricsAccumulator& m, bool with_confusion,
                      const ExtraFigures& extra) {
  std::string s = absl::StrFormat(R"({"kind":"eval","split":"%s","epoch":%d,"loss":%.9g)", split, epoch, m.loss());
  for (const auto& [name, value] : extra) absl::StrAppendFormat(&s, R"(,"%s":%.9g)", name, value);
  if (m.tokens()) absl::StrAppendFormat(&s, R"(,"perplexity":%.9g,"tokens":%d)", m.perplexity(), m.count());
  if (m.classification()) {
    absl::StrAppendFormat(&s, R"(,"accuracy":%.9g)", m.accuracy());
    if (with_confusion && m.has_confusion()) {
      s += R"(,"confusion":[)";
      auto c = m.confusion();
      for (size_t i = 0; i < c.size(); ++i) {
        s += i ? ",[" : "[";
        for (size_t j = 0; j < c[i].size(); ++j) absl::StrAppend(&s, j ? "," : "", c[i][j]);
        s += "]";
      }
      s += "]";
    }
  } else {
    absl::StrAppendFormat(&s, R"(,"mse":%.9g)", m.mse());
  }
  s += "}";
  line(s);
}

}  // namespace ty
