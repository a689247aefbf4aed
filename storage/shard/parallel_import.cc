#include "storage/shard/parallel_import.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/status.h"
#include "storage/shard/sentencepiece_model.h"
#include "storage/shard/shard_dataset.h"

namespace ty {
namespace {

absl::StatusOr<std::vector<std::string>> read_lines(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, " ", path, ": cannot open"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

struct Corpus {
  std::vector<std::string> source, target;
};

absl::StatusOr<Corpus> read_pair(const std::string& source, const std::string& target, const char* source_flag,
                                 const char* target_flag) {
  Corpus c;
  TY_ASSIGN_OR_RETURN(c.source, read_lines(source, source_flag));
  TY_ASSIGN_OR_RETURN(c.target, read_lines(target, target_flag));
  if (c.source.size() != c.target.size())
    return absl::InvalidArgumentError(absl::StrCat("misaligned files: ", source, " has ", c.source.size(),
                                                   " lines but ", target, " has ", c.target.size(),
                                                   "; line i of one must translate line i of the other"));
  if (c.source.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no lines"));
  return c;
}

// Pairs [begin, end) of `c` into a shard set of `prefix`.
// The SentencePiece models of the two sides (one joint model: the same).
struct Models {
  std::unique_ptr<SentencePieceModel> source_own, target;
  const SentencePieceModel& source() const { return source_own ? *source_own : *target; }
};

absl::StatusOr<std::vector<std::string>> write_pairs(const Corpus& c, size_t begin, size_t end,
                                                     const Models& models, int64_t max_len,
                                                     const std::string& prefix, const ShardWriterOptions& options,
                                                     ParallelImportResult& result) {
  ShardSchema schema;
  schema.fields.push_back({"x", DType::kI32, {max_len}});
  schema.fields.push_back({"y", DType::kI32, {max_len}});
  ShardWriter writer(prefix, schema, options);
  const int32_t eos = models.target->eos_id();
  std::vector<int32_t> rec(static_cast<size_t>(2 * max_len));
  for (size_t i = begin; i < end; ++i) {
    const std::vector<int32_t> src = models.source().encode(c.source[i]), tgt = models.target->encode(c.target[i]);
    if (src.empty() || tgt.empty()) {
      ++result.empty;
      continue;
    }
    if (static_cast<int64_t>(std::max(src.size(), tgt.size())) + 1 > max_len) {
      ++result.too_long;
      continue;
    }
    std::fill(rec.begin(), rec.end(), eos);
    std::copy(src.begin(), src.end(), rec.begin());
    std::copy(tgt.begin(), tgt.end(), rec.begin() + max_len);
    TY_RETURN_IF_ERROR(writer.add(rec.data()));
    ++result.pairs;
  }
  return writer.finish();
}

// A side's model: loaded from `given` (named `flag` in errors), or trained on `inputs`
// (comma-separated files) with `vocab_size` pieces into PATH.model.
absl::StatusOr<std::unique_ptr<SentencePieceModel>> obtain_model(const std::string& given, const char* flag,
                                                                const std::string& inputs, int64_t vocab_size,
                                                                const std::string& path) {
  const std::string file = given.empty() ? path + ".model" : given;
  if (given.empty())
    if (const std::string err = SentencePieceModel::train(inputs, vocab_size, file); !err.empty())
      return absl::InvalidArgumentError(absl::StrCat(absl::StrReplaceAll(inputs, {{",", " and "}}),
                                                     ": SentencePiece training of ", vocab_size, " pieces failed: ", err));
  const std::string named = given.empty() ? file : absl::StrCat(flag, " ", given);
  std::string error;
  auto model = SentencePieceModel::load(file, &error);
  if (!model) return absl::InvalidArgumentError(absl::StrCat(named, ": not a SentencePiece model (", error, ")"));
  if (model->bos_id() < 0 || model->eos_id() < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        named,
        ": the model has no <s> or </s> piece, which sequence-to-sequence records need (train it with bos_id and "
        "eos_id set)"));
  return model;
}

// `model` as PATH.model (copied from `given` when given) with its pieces in PATH.vocab.
absl::Status store_model(const SentencePieceModel& model, const std::string& given, const char* flag,
                         const std::string& path) {
  const std::string model_path = path + ".model";
  std::error_code ec;
  if (!given.empty() && !std::filesystem::equivalent(given, model_path, ec))  // (--spm OUT.model: in place)
    std::filesystem::copy_file(given, model_path, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(flag, " ", given, ": cannot copy to ", model_path, " (", ec.message(), ")"));
  std::ofstream vocab(path + ".vocab");
  for (int64_t i = 0; i < model.size(); ++i) vocab << model.piece(i) << "\n";
  if (!vocab) return absl::UnavailableError(absl::StrCat(path, ".vocab: cannot write"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParallelImportResult> import_parallel(const std::string& source, const std::string& target,
                                                     const ParallelImportOptions& o, const std::string& out_prefix,
                                                     ShardWriterOptions writer_options) {
  if (o.max_len < 2 || o.max_len > (1 << 16))
    return absl::InvalidArgumentError(absl::StrCat("--max-len ", o.max_len, " (allowed: 2 to 65536)"));
  for (const auto& [flag, f] :
       {std::pair<const char*, double>{"--val-fraction", o.val_fraction}, {"--test-fraction", o.test_fraction}})
    if (!(f >= 0 && f < 1)) return absl::InvalidArgumentError(absl::StrCat(flag, " ", f, " (allowed: 0 to below 1)"));
  if (o.val_fraction + o.test_fraction >= 1)
    return absl::InvalidArgumentError("--val-fraction + --test-fraction leave no training pairs");
  if (o.test_source.empty() != o.test_target.empty())
    return absl::InvalidArgumentError("--test-source and --test-target go together");
  if (!o.test_source.empty() && o.test_fraction > 0)
    return absl::InvalidArgumentError("give --test-fraction or --test-source/--test-target, not both");
  const bool given_pair = !o.spm_source.empty() || !o.spm_target.empty();
  if (o.spm_source.empty() != o.spm_target.empty())
    return absl::InvalidArgumentError("--spm-source and --spm-target go together");
  if ((o.vocab_size > 0) + !o.spm.empty() + given_pair != 1)
    return absl::InvalidArgumentError(
        "give one of --vocab-size N (train SentencePiece: a joint model, or with --separate-vocab one per side), "
        "--spm MODEL (a joint model) or --spm-source MODEL --spm-target MODEL");
  if (o.separate_vocab && o.vocab_size == 0)
    return absl::InvalidArgumentError("--separate-vocab trains a model per side: it goes with --vocab-size N");

  TY_ASSIGN_OR_RETURN(const Corpus corpus, read_pair(source, target, "--source", "--target"));
  Corpus test;
  if (!o.test_source.empty()) {
    TY_ASSIGN_OR_RETURN(test, read_pair(o.test_source, o.test_target, "--test-source", "--test-target"));
  }

  // Both models first (a given pair is checked before anything is written), then stored.
  const bool separate = o.separate_vocab || given_pair;
  const std::string source_path = out_prefix + ".source";
  Models models;
  if (separate) {
    TY_ASSIGN_OR_RETURN(models.target, obtain_model(o.spm_target, "--spm-target", target, o.vocab_size, out_prefix));
    TY_ASSIGN_OR_RETURN(models.source_own, obtain_model(o.spm_source, "--spm-source", source, o.vocab_size, source_path));
    if (models.source_own->eos_id() != models.target->eos_id())
      return absl::InvalidArgumentError(absl::StrCat(
          "--spm-source ", o.spm_source, " gives </s> the id ", models.source_own->eos_id(), " but --spm-target ",
          o.spm_target, " gives it ", models.target->eos_id(), "; the records pad both sides with one </s> id"));
    TY_RETURN_IF_ERROR(store_model(*models.source_own, o.spm_source, "--spm-source", source_path));
  } else {
    TY_ASSIGN_OR_RETURN(models.target, obtain_model(o.spm, "--spm", source + "," + target, o.vocab_size, out_prefix));
    // A joint import over an earlier separate one: the source's old vocabulary goes
    // (unless --spm named that very model).
    std::error_code ec;
    if (o.spm.empty() || !std::filesystem::equivalent(o.spm, source_path + ".model", ec))
      remove_source_vocabulary(out_prefix);
  }
  TY_RETURN_IF_ERROR(store_model(*models.target, separate ? o.spm_target : o.spm, separate ? "--spm-target" : "--spm",
                                 out_prefix));

  ParallelImportResult result;
  const size_t n = corpus.source.size();
  const bool split = o.val_fraction > 0 || o.test_fraction > 0 || !o.test_source.empty();
  if (!split) {
    TY_ASSIGN_OR_RETURN(result.shards, write_pairs(corpus, 0, n, models, o.max_len, out_prefix, writer_options, result));
    return result;
  }
  const size_t test_begin = n - static_cast<size_t>(static_cast<double>(n) * o.test_fraction);
  const size_t val_begin = test_begin - static_cast<size_t>(static_cast<double>(n) * o.val_fraction);
  for (const auto& [flag, f, count] :
       {std::tuple<const char*, double, size_t>{"--val-fraction", o.val_fraction, test_begin - val_begin},
        {"--test-fraction", o.test_fraction, n - test_begin}})
    if (f > 0 && count == 0)
      return absl::InvalidArgumentError(absl::StrCat(flag, " ", f, " of ", n, " pairs holds none"));
  for (const auto& [name, part, begin, end] :
       {std::tuple<const char*, const Corpus*, size_t, size_t>{"train", &corpus, 0, val_begin},
        {"val", &corpus, val_begin, test_begin},
        {"test", &corpus, test_begin, n},
        {"test", &test, 0, test.source.size()}}) {
    if (begin == end) continue;
    TY_ASSIGN_OR_RETURN(std::vector<std::string> written,
                        write_pairs(*part, begin, end, models, o.max_len, absl::StrCat(out_prefix, "-", name),
                                    writer_options, result));
    result.shards.insert(result.shards.end(), written.begin(), written.end());
  }
  return result;
}

}  // namespace ty
