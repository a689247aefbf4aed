#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/shard/shard_import.h"

namespace ty {
namespace {

// Token ids of the file and the vocabulary (id -> token text).
struct Tokens {
  std::vector<int32_t> ids;
  std::vector<std::string> vocab;
};

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

absl::StatusOr<std::vector<std::string>> import_text(const std::string& path, const TextImportOptions& o,
                                                     const std::string& out_prefix, ShardWriterOptions options) {
  if (o.tokens != "bytes" && o.tokens != "words")
    return absl::InvalidArgumentError(absl::StrCat("--tokens '", o.tokens, "' (allowed: bytes, words)"));
  if (o.seq_len < 1 || o.seq_len > (1 << 20))
    return absl::InvalidArgumentError(absl::StrCat("--seq-len ", o.seq_len, " (allowed: 1 to 1048576)"));
  for (const auto& [flag, f] :
       {std::pair<const char*, double>{"--val-fraction", o.val_fraction}, {"--test-fraction", o.test_fraction}})
    if (!(f >= 0 && f < 1)) return absl::InvalidArgumentError(absl::StrCat(flag, " ", f, " (allowed: 0 to below 1)"));
  if (o.val_fraction + o.test_fraction >= 1)
    return absl::InvalidArgumentError(absl::StrCat("--val-fraction ", o.val_fraction, " + --test-fraction ",
                                                   o.test_fraction, " leave no training text"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Tokens t = o.tokens == "bytes" ? byte_tokens(text) : word_tokens(text);
  const int64_t per = o.seq_len + 1;
  if (static_cast<int64_t>(t.ids.size()) < per)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", t.ids.size(), " tokens, fewer than one record of ", per));
  const auto write_vocab = [&]() -> absl::Status {
    std::ofstream vocab(out_prefix + ".vocab");
    for (const auto& w : t.vocab) vocab << w << "\n";
    if (!vocab) return absl::UnavailableError(absl::StrCat(out_prefix, ".vocab: cannot write"));
    return absl::OkStatus();
  };
  const int64_t n = static_cast<int64_t>(t.ids.size());
  if (o.val_fraction == 0 && o.test_fraction == 0) {
    TY_RETURN_IF_ERROR(write_vocab());
    return write_records(t.ids, 0, n, o.seq_len, out_prefix, options);
  }
  // Contiguous blocks of the stream: train, validation, test. Each held-out share must hold
  // a record.
  const int64_t test_begin = n - static_cast<int64_t>(static_cast<double>(n) * o.test_fraction);
  const int64_t val_begin = test_begin - static_cast<int64_t>(static_cast<double>(n) * o.val_fraction);
  for (const auto& [flag, f, tokens] :
       {std::tuple<const char*, double, int64_t>{"--val-fraction", o.val_fraction, test_begin - val_begin},
        {"--test-fraction", o.test_fraction, n - test_begin},
        {"the training share", 1, val_begin}})
    if (f > 0 && tokens < per)
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", flag, f < 1 ? absl::StrCat(" ", f) : "", " is ",
                                                     tokens, " tokens, fewer than one record of ", per));
  TY_RETURN_IF_ERROR(write_vocab());  // (after the checks: a refused import leaves nothing)
  std::vector<std::string> all;
  for (const auto& [split, begin, end] : {std::tuple<const char*, int64_t, int64_t>{"train", 0, val_begin},
                                          {"val", val_begin, test_begin},
                                          {"test", test_begin, n}}) {
    if (begin == end) continue;
    TY_ASSIGN_OR_RETURN(std::vector<std::string> written,
                        write_records(t.ids, begin, end, o.seq_len, absl::StrCat(out_prefix, "-", split), options));
    all.insert(all.end(), written.begin(), written.end());
  }
  return all;
}

}  // namespace ty
