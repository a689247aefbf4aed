// metrics.jsonl: one JSON object per line, floats printed with %.9g so they round-trip.
// In a run directory on an object store the lines are kept in memory (after those of
// earlier launches, read at open) and uploaded whole by sync(): at each checkpoint, at the
// end, and when the log is closed.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/metrics.h"

namespace ty {

// Named figures an eval record carries besides the task's metrics.
using ExtraFigures = std::vector<std::pair<std::string, double>>;

// What a pipeline measured over an epoch, for its `epoch` record.
struct PipelineFigures {
  // The share of the step time the ranks spent idle waiting on a neighbour (mean over
  // ranks, against the longest rank's step time, as in comm/pipeline/simulator.h).
  double bubble_fraction = 0;
  // [stage]: the most bytes a rank of the stage held for its micro-batches between their
  // forward and their backward (activations kept for the backward, their receive buffers;
  // not gradients on their way back), after any action of any step of the epoch but the
  // process's first.
  std::vector<double> activation_bytes;
};

class MetricsLog {
 public:
  static absl::StatusOr<MetricsLog> open(const std::string& path);
  MetricsLog(MetricsLog&& o) noexcept
      : f_(o.f_),
        path_(std::move(o.path_)),
        status_(o.status_),
        tokens_per_sample_(o.tokens_per_sample_),
        remote_(o.remote_),
        lines_(std::move(o.lines_)),
        dirty_(o.dirty_) {
    o.f_ = nullptr;
    o.remote_ = o.dirty_ = false;
  }
  ~MetricsLog();

  // A language model's samples hold this many tokens each: train records then add
  // "perplexity", epoch records "tokens_per_s".
  void set_tokens_per_sample(int64_t tokens) { tokens_per_sample_ = tokens; }
  // `extra`: figures of the step besides its loss (a GAN's discriminator loss), means over ranks.
  void train(int64_t step, int64_t epoch, double loss, double lr, const ExtraFigures& extra = {});
  // `data_wait_s`: time the training thread spent getting batches (included in seconds);
  // `io`: corrupt training records skipped so far ("skipped_corrupt"), ranges read again for a
  // bad CRC ("refetched_ranges") and S3 requests retried ("s3_retries"), all ranks.
  // `pipeline`: pipelines only ("bubble_fraction", "activation_mib" per stage).
  struct IoFigures {
    int64_t skipped = 0, refetched = 0, s3_retries = 0;
  };
  void epoch(int64_t epoch, double seconds, double samples_per_s, double data_wait_s, const IoFigures& io,
             const std::optional<PipelineFigures>& pipeline = std::nullopt);
  // A GAN's final score: {"kind":"eval","split":"test","fid":F,"fid_floor":F0,"fid_samples":N}.
  void fid(double fid, double floor, int64_t samples);
  // A GAN's sample grid written after `step`, at `path` (relative to the run directory, of
  // characters JSON takes as they are: "samples/step-0000000250.png").
  void samples(int64_t step, const std::string& path);
  // One save: how long the training thread stalled (snapshot and hand-off) for `bytes`.
  void checkpoint(int64_t step, double stall_s, int64_t bytes);
  // At the end: saves written in the background, their bytes and seconds writing.
  void checkpoint_io(int64_t saves, int64_t bytes, double write_s);
  // {"kind":"data","split":S,"records":N,"skipped_corrupt":K} once per split at the start.
  void data(const std::string& split, int64_t records, int64_t skipped);
  // split: "val" or "test"; the confusion matrix is written when `with_confusion`; `extra`:
  // figures measured besides the forward pass (a translation's "bleu", "chrf", "beam").
  void eval(const std::string& split, int64_t epoch, const MetricsAccumulator& m, bool with_confusion,
            const ExtraFigures& extra = {});
  // The first failed write (a full disk, a lost mount), naming the file; OK until one fails.
  // The lines after a failed one are not written.
  const absl::Status& status() const { return status_; }
  // An object store's log: uploads the lines written so far (no-op for a file, which is
  // flushed line by line). A failed upload is the status.
  absl::Status sync();

 private:
  MetricsLog(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  void line(const std::string& json);
  FILE* f_;
  std::string path_;
  absl::Status status_;
  int64_t tokens_per_sample_ = 0;
  bool remote_ = false;
  std::string lines_;  // remote: everything, uploaded by sync()
  bool dirty_ = false;
};

}  // namespace ty
