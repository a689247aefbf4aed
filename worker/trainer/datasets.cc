#include "worker/trainer/datasets.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/status.h"
#include "storage/csv_reader.h"
#include "storage/idx_reader.h"
#include "storage/sampler.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_import.h"
#include "storage/token_dataset.h"
#include "worker/job/parser.h"

namespace ty {
namespace {

bool skip_corrupt(const JobSpec& spec) { return spec.storage.on_corrupt == CorruptPolicy::kSkip; }

absl::StatusOr<DatasetPtr> open_source(const JobSpec& spec, const std::string& key, const std::string& path,
                                       const std::string& labels) {
  const DataSpec& d = spec.data;
  TY_ASSIGN_OR_RETURN(const DataFormat format, resolve_data_format(d, key, path));
  if (format == DataFormat::kShards) {
    TY_ASSIGN_OR_RETURN(std::vector<std::string> paths, expand_glob(path));
    return ShardDataset::open(paths, ShardOpenOptions{skip_corrupt(spec)});
  }
  if (format == DataFormat::kCsv) {
    CsvOptions o;
    o.target = d.target;
    o.classification = d.task == TaskKind::kClassification;
    o.classes = d.num_classes;
    return load_csv(path, o);
  }
  std::string label_path = labels.empty() ? idx_labels_path_for(path) : labels;
  if (label_path.empty())
    return absl::InvalidArgumentError(absl::StrCat(key, ": cannot tell the labels file for IDX images '", path,
                                                   "' (name it ...-images-idx3-ubyte... or set ", key, "_labels)"));
  return load_idx(path, label_path);
}

// Errors carry the spec key that named the file.
absl::StatusOr<DatasetPtr> open(const JobSpec& spec, const std::string& key, const std::string& path,
                                const std::string& labels) {
  auto ds = open_source(spec, key, path, labels);
  if (!ds.ok()) return absl::Status(ds.status().code(), absl::StrCat(key, ": ", ds.status().message()));
  return ds;
}

// Token pairs with a source vocabulary of their own: the held-out sets' sources must be in
// the same one as `named`'s (the model has one source table). `shard`: a file of `named`.
absl::Status check_source_vocabularies(const DataSpec& d, const std::string& named, const std::string& shard) {
  const std::string ours = source_vocab_path(shard);
  for (const auto& [key, pattern] : {std::pair<const char*, const std::string*>{"data.val", &d.val}, {"data.test", &d.test}}) {
    if (pattern->empty() || *pattern == named) continue;
    auto held = expand_glob(*pattern);
    if (!held.ok()) continue;
    const std::string theirs = source_vocab_path(held->front());
    const int64_t ours_size = source_vocab_size(shard), their_size = source_vocab_size(held->front());
    if ((theirs.empty() && ours.empty()) || (!theirs.empty() && !ours.empty() && their_size == ours_size)) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        key, " (", *pattern, "): its sources' vocabulary (", theirs.empty() ? "a joint one" : theirs, ", ", their_size,
        " pieces) is not that of ", named == d.train ? "data.train" : "data.test", " (",
        ours.empty() ? "a joint one" : ours, ", ", ours_size, " pieces); import the splits together"));
  }
  return absl::OkStatus();
}

}  // namespace

void JobData::standardize(float mean, float std) {
  for (DatasetPtr* p : {&train, &val, &test})
    if (*p) *p = std::make_shared<StandardizedDataset>(*p, mean, std);
  standardized = true;
  input_mean = mean;
  input_std = std;
}

// Whether the training shards are streamed; an error when storage.loader: stream cannot be.
absl::StatusOr<bool> stream_training(const JobSpec& spec) {
  TY_ASSIGN_OR_RETURN(const DataFormat format, resolve_data_format(spec.data, "data.train", spec.data.train));
  if (format != DataFormat::kShards || spec.storage.loader == LoaderKind::kMemory) return false;
  const char* why = spec.validation_fraction > 0 ? "validation.fraction"
                    : spec.data.train_subset > 0 ? "data.train_subset"
                                                 : nullptr;
  if (why == nullptr) return true;
  if (spec.storage.loader == LoaderKind::kStream)
    return absl::InvalidArgumentError(absl::StrCat("storage.loader: stream cannot serve ", why,
                                                   " (it needs the records in memory); name a separate shard set "
                                                   "or set storage.loader: memory"));
  return false;
}

// data.format text: one tokenization of data.train, cut into the training, validation and
// test blocks.
absl::StatusOr<JobData> load_text_data(const JobSpec& spec) {
  const DataSpec& d = spec.data;
  auto text = tokenize_text(d.train, name_of(d.tokens));
  if (!text.ok()) {
    const bool shipped = absl::StartsWith(d.train, "/usr/local/share/trainyard/");
    return absl::Status(text.status().code(),
                        absl::StrCat("data.train: ", text.status().message(),
                                     shipped && text.status().code() == absl::StatusCode::kNotFound
                                         ? " (the examples' corpus: run launch/setup.sh, which writes it)"
                                         : ""));
  }
  auto ids = std::make_shared<const std::vector<int32_t>>(std::move(text->ids));
  const int64_t n = static_cast<int64_t>(ids->size()), vocab = static_cast<int64_t>(text->vocab.size());
  auto blocks = split_text(d.train, n, d.seq_len, d.val_fraction, d.test_fraction);
  if (!blocks.ok())
    return absl::Status(blocks.status().code(),
                        absl::StrReplaceAll(absl::StrCat("data.train: ", blocks.status().message()),
                                            {{"--val-fraction", "data.val_fraction"},
                                             {"--test-fraction", "data.test_fraction"},
                                             {"one record of", "one record (data.seq_len + 1) of"}}));
  if (spec.validation_fraction > 0)
    return absl::InvalidArgumentError(
        "validation.fraction: text data.train holds out a contiguous block instead; set data.val_fraction");
  if (d.normalize != Normalization::kNone)
    return absl::InvalidArgumentError(
        absl::StrCat("data.normalize: ", name_of(d.normalize), " does not apply to token ids (data.train)"));
  if (d.num_classes > 0 && d.num_classes < vocab)
    return absl::InvalidArgumentError(absl::StrCat("data.num_classes: ", d.num_classes, ", but ", d.train,
                                                   " has a vocabulary of ", vocab, "; leave it out"));
  JobData out;
  DatasetPtr train = std::make_shared<TokenDataset>(ids, 0, blocks->val_begin, d.seq_len, vocab,
                                                    absl::StrCat(d.train, " (training block)"));
  if (d.train_subset > 0 && d.train_subset < train->size()) {
    std::vector<int64_t> idx(d.train_subset);
    std::iota(idx.begin(), idx.end(), 0);
    train = std::make_shared<SubsetDataset>(train, std::move(idx), "subset");
  }
  out.train = train;
  if (d.val_fraction > 0)
    out.val = std::make_shared<TokenDataset>(ids, blocks->val_begin, blocks->test_begin, d.seq_len, vocab,
                                             absl::StrCat(d.train, " (validation block)"));
  if (d.test_fraction > 0)
    out.test = std::make_shared<TokenDataset>(ids, blocks->test_begin, blocks->end, d.seq_len, vocab,
                                              absl::StrCat(d.train, " (test block)"));
  out.classes = out.outputs = std::max(vocab, d.num_classes);
  out.tokens = true;
  out.vocab = std::make_shared<const Vocabulary>(Vocabulary::of(std::move(text->vocab)));
  return out;
}

absl::StatusOr<JobData> load_job_data(const JobSpec& spec, bool need_train) {
  JobData out;
  const DataSpec& d = spec.data;
  if (!d.train.empty()) {
    TY_ASSIGN_OR_RETURN(const DataFormat format, resolve_data_format(d, "data.train", d.train));
    if (format == DataFormat::kText) return load_text_data(spec);
  }
  TY_ASSIGN_OR_RETURN(const bool stream, stream_training(spec));
  if (need_train && stream) {
    auto paths = expand_glob(d.train);
    if (!paths.ok()) return absl::Status(paths.status().code(), absl::StrCat("data.train: ", paths.status().message()));
    auto set = ShardSet::open(*paths, ShardSetOptions{d.num_classes, skip_corrupt(spec)});
    if (!set.ok()) return absl::Status(set.status().code(), absl::StrCat("data.train: ", set.status().message()));
    if ((*set)->size() == 0)
      return absl::InvalidArgumentError(absl::StrCat("data.train: ", d.train, " holds no records"));
    out.train_shards = *set;
    out.train = *set;
  } else if (need_train || d.test.empty()) {
    TY_ASSIGN_OR_RETURN(DatasetPtr train, open(spec, "data.train", d.train, d.train_labels));
    if (d.train_subset > 0 && d.train_subset < train->size()) {
      std::vector<int64_t> idx(d.train_subset);
      std::iota(idx.begin(), idx.end(), 0);
      train = std::make_shared<SubsetDataset>(train, std::move(idx), "subset");
    }
    if (spec.validation_fraction > 0) {
      const int64_t n = train->size();
      const int64_t n_val = static_cast<int64_t>(n * spec.validation_fraction);
      if (n_val < 1 || n_val >= n)
        return absl::InvalidArgumentError(absl::StrCat("validation.fraction ", spec.validation_fraction, " of ", n,
                                                       " samples leaves an empty split"));
      std::vector<int64_t> perm = epoch_permutation(n, spec.train.seed, -1);
      std::vector<int64_t> val(perm.begin(), perm.begin() + n_val), rest(perm.begin() + n_val, perm.end());
      std::sort(val.begin(), val.end());
      std::sort(rest.begin(), rest.end());
      out.val = std::make_shared<SubsetDataset>(train, std::move(val), "validation split");
      train = std::make_shared<SubsetDataset>(train, std::move(rest), "training split");
    }
    out.train = train;
  }
  if (!d.val.empty()) {
    if (spec.validation_fraction > 0)
      return absl::InvalidArgumentError("data.val and validation.fraction both name a validation set; keep one");
    TY_ASSIGN_OR_RETURN(out.val, open(spec, "data.val", d.val, ""));
  }
  if (!d.test.empty()) {
    TY_ASSIGN_OR_RETURN(out.test, open(spec, "data.test", d.test, d.test_labels));
  }
  DatasetPtr ref = out.train ? out.train : out.test;
  if (d.num_classes > 0 && d.num_classes < ref->num_classes())
    return absl::InvalidArgumentError(absl::StrCat("data.num_classes: ", d.num_classes, ", but the labels go up to ",
                                                   ref->num_classes() - 1, "; set it to at least ", ref->num_classes(),
                                                   " or leave it out"));
  out.classes = d.num_classes > 0 ? d.num_classes : ref->num_classes();
  for (const auto& [key, held] : {std::pair<const char*, DatasetPtr>{"data.test", out.test}, {"data.val", out.val}}) {
    if (!out.train || !held || held == out.train) continue;
    if (held->sample_shape() != out.train->sample_shape() || held->input_dtype() != out.train->input_dtype())
      return absl::InvalidArgumentError(absl::StrCat(key, " samples are ", dtype_name(held->input_dtype()), " ",
                                                     shape_str(held->sample_shape()), ", data.train samples are ",
                                                     dtype_name(out.train->input_dtype()), " ",
                                                     shape_str(out.train->sample_shape())));
    if (d.num_classes > 0 && held->num_classes() > d.num_classes)
      return absl::InvalidArgumentError(absl::StrCat("data.num_classes: ", d.num_classes, ", but ", key,
                                                     "'s labels go up to ", held->num_classes() - 1));
    if (out.classes > 0) out.classes = std::max(out.classes, held->num_classes());
  }
  out.tokens = ref->input_dtype() == DType::kI32;
  if (out.tokens) {
    const std::string& named = d.train.empty() ? d.test : d.train;
    auto paths = expand_glob(named);
    if (paths.ok()) {
      out.vocabulary = token_vocab_path(paths->front());
      out.source_vocabulary = source_vocab_path(paths->front());
      TY_RETURN_IF_ERROR(check_source_vocabularies(d, named, paths->front()));
    }
  }
  if (out.tokens && d.normalize != Normalization::kNone)
    return absl::InvalidArgumentError(
        absl::StrCat("data.normalize: ", name_of(d.normalize), " does not apply to token ids (data.train)"));
  out.outputs = out.classes > 0 ? out.classes : ref->target_width();
  if (d.normalize == Normalization::kStandardize && out.train) {
    auto moments = feature_moments(*out.train, 10000, skip_corrupt(spec));
    if (!moments.ok())
      return absl::Status(moments.status().code(), absl::StrCat("data.train: ", moments.status().message()));
    const auto [mean, std] = *moments;
    out.standardize(static_cast<float>(mean), static_cast<float>(std));
  }
  if (d.normalize == Normalization::kSymmetric) out.standardize(0.5f, 0.5f);  // (x − 0.5) / 0.5 = 2x − 1
  return out;
}

}  // namespace ty
