#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/shard/sentencepiece_model.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_import.h"

namespace ty {
namespace {

using Tokens = TokenizedText;

Tokens byte_tokens(const std::string& text) {
  Tokens t;
  for (int b = 0; b < 256; ++b)
    t.vocab.push_back(std::isprint(b) && b != ' ' ? std::string(1, char(b))
                                                  : absl::StrCat("<0x", absl::Hex(b, absl::kZeroPad2), ">"));
  for (unsigned char c : text) t.ids.push_back(c);
  return t;
}

Tokens word_tokens(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  std::map<std::string, int64_t> freq;
  for (const auto& w : words) ++freq[w];
  std::vector<std::pair<std::string, int64_t>> order(freq.begin(), freq.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  Tokens t;
  std::map<std::string, int32_t> id;
  for (const auto& [w, n] : order) {
    id[w] = static_cast<int32_t>(t.vocab.size());
    t.vocab.push_back(w);
  }
  for (const auto& w : words) t.ids.push_back(id[w]);
  return t;
}

// Records of `seq_len` + 1 consecutive tokens of ids[begin, end), advancing by seq_len
// (every token but the first a target once), into a shard set of `prefix`.
absl::StatusOr<std::vector<std::string>> write_records(const std::vector<int32_t>& ids, int64_t begin, int64_t end,
                                                       int64_t seq_len, const std::string& prefix,
                                                       const ShardWriterOptions& options) {
  ShardSchema schema;
  schema.fields.push_back({"x", DType::kI32, {seq_len}});
  schema.fields.push_back({"y", DType::kI32, {seq_len}});
  ShardWriter writer(prefix, schema, options);
  std::vector<int32_t> rec(static_cast<size_t>(2 * seq_len));
  for (int64_t start = begin; start + seq_len + 1 <= end; start += seq_len) {
    std::copy(ids.begin() + start, ids.begin() + start + seq_len, rec.begin());
    std::copy(ids.begin() + start + 1, ids.begin() + start + seq_len + 1, rec.begin() + seq_len);
    TY_RETURN_IF_ERROR(writer.add(rec.data()));
  }
  return writer.finish();
}

}  // namespace

absl::StatusOr<TokenizedText> tokenize_text(const std::string& path, const std::string& tokens,
                                            const std::string& spm_model) {
  if (tokens != "bytes" && tokens != "words" && tokens != "sentencepiece")
    return absl::InvalidArgumentError(absl::StrCat("--tokens '", tokens, "' (allowed: bytes, words, sentencepiece)"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (tokens == "bytes") return byte_tokens(text);
  if (tokens == "words") return word_tokens(text);
  std::string error;
  auto model = SentencePieceModel::load(spm_model, &error);
  if (!model) return absl::InvalidArgumentError(absl::StrCat(spm_model, ": not a SentencePiece model (", error, ")"));
  Tokens t;
  t.ids = model->encode(text);
  for (int64_t i = 0; i < model->size(); ++i) t.vocab.push_back(model->piece(i));
  return t;
}

namespace {

absl::Status check_fractions(double val_fraction, double test_fraction) {
  for (const auto& [flag, f] :
       {std::pair<const char*, double>{"--val-fraction", val_fraction}, {"--test-fraction", test_fraction}})
    if (!(f >= 0 && f < 1)) return absl::InvalidArgumentError(absl::StrCat(flag, " ", f, " (allowed: 0 to below 1)"));
  if (val_fraction + test_fraction >= 1)
    return absl::InvalidArgumentError(
        absl::StrCat("--val-fraction ", val_fraction, " + --test-fraction ", test_fraction, " leave no training text"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TextBlocks> split_text(const std::string& path, int64_t n, int64_t seq_len, double val_fraction,
                                      double test_fraction) {
  TY_RETURN_IF_ERROR(check_fractions(val_fraction, test_fraction));
  const int64_t per = seq_len + 1;
  if (n < per)
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", n, " tokens, fewer than one record of ", per));
  // Contiguous blocks of the stream: train, validation, test. Each held-out share must hold
  // a record.
  TextBlocks b;
  b.end = n;
  b.test_begin = n - static_cast<int64_t>(static_cast<double>(n) * test_fraction);
  b.val_begin = b.test_begin - static_cast<int64_t>(static_cast<double>(n) * val_fraction);
  for (const auto& [flag, f, count] :
       {std::tuple<const char*, double, int64_t>{"--val-fraction", val_fraction, b.test_begin - b.val_begin},
        {"--test-fraction", test_fraction, n - b.test_begin},
        {"the training share", 1, b.val_begin}})
    if (f > 0 && count < per)
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", flag, f < 1 ? absl::StrCat(" ", f) : "", " is ", count,
                                                     " tokens, fewer than one record of ", per));
  return b;
}

absl::StatusOr<std::vector<std::string>> import_text(const std::string& path, const TextImportOptions& o,
                                                     const std::string& out_prefix, ShardWriterOptions options) {
  // The options first (as they come on the command line), then the file.
  if (o.tokens != "bytes" && o.tokens != "words" && o.tokens != "sentencepiece")
    return absl::InvalidArgumentError(absl::StrCat("--tokens '", o.tokens, "' (allowed: bytes, words, sentencepiece)"));
  if (o.seq_len < 1 || o.seq_len > (1 << 20))
    return absl::InvalidArgumentError(absl::StrCat("--seq-len ", o.seq_len, " (allowed: 1 to 1048576)"));
  TY_RETURN_IF_ERROR(check_fractions(o.val_fraction, o.test_fraction));
  if (!std::ifstream(path)) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string model;  // sentencepiece: OUT_PREFIX.model, trained or copied first
  if (o.tokens == "sentencepiece") {
    model = out_prefix + ".model";
    if (!o.spm.empty()) {
      std::error_code ec;
      std::filesystem::copy_file(o.spm, model, std::filesystem::copy_options::overwrite_existing, ec);
      if (ec)
        return absl::NotFoundError(absl::StrCat("--spm ", o.spm, ": cannot copy to ", model, " (", ec.message(), ")"));
    } else if (const std::string err = SentencePieceModel::train(path, o.vocab_size, model); !err.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": SentencePiece training of ", o.vocab_size, " pieces failed: ", err));
    }
  }
  TY_ASSIGN_OR_RETURN(const Tokens t, tokenize_text(path, o.tokens, model));
  const int64_t n = static_cast<int64_t>(t.ids.size());
  TY_ASSIGN_OR_RETURN(const TextBlocks b, split_text(path, n, o.seq_len, o.val_fraction, o.test_fraction));
  {  // (after the checks: a refused import leaves nothing)
    remove_source_vocabulary(out_prefix);  // (an earlier pair import's is not these records')
    std::ofstream vocab(out_prefix + ".vocab");
    for (const auto& w : t.vocab) vocab << w << "\n";
    if (!vocab) return absl::UnavailableError(absl::StrCat(out_prefix, ".vocab: cannot write"));
  }
  if (o.val_fraction == 0 && o.test_fraction == 0) return write_records(t.ids, 0, n, o.seq_len, out_prefix, options);
  std::vector<std::string> all;
  for (const auto& [split, begin, end] : {std::tuple<const char*, int64_t, int64_t>{"train", 0, b.val_begin},
                                          {"val", b.val_begin, b.test_begin},
                                          {"test", b.test_begin, n}}) {
    if (begin == end) continue;
    TY_ASSIGN_OR_RETURN(std::vector<std::string> written,
                        write_records(t.ids, begin, end, o.seq_len, absl::StrCat(out_prefix, "-", split), options));
    all.insert(all.end(), written.begin(), written.end());
  }
  return all;
}

}  // namespace ty
